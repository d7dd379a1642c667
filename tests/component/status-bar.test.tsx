import { screen, waitFor, within } from '@testing-library/react';
import { describe, expect, test } from 'vitest';
import { userEvent } from 'vitest/browser';
import { StatusBar } from '../../apps/renderer/src/components/StatusBar.js';
import { FakeBridge, RUNNING } from './fake-bridge.js';
import { renderWithEngine } from './render.js';

const bar = () => screen.getByTestId('engine-status');

describe('StatusBar', () => {
  test('before main says anything: connecting, waiting, no button', () => {
    renderWithEngine(<StatusBar eventsConnected={false} />, { state: null });
    expect(bar().getAttribute('data-state')).toBe('starting');
    expect(bar().textContent).toBe('Engine connectingWaiting for the engine…');
    expect(within(bar()).queryByRole('button')).toBeNull();
  });

  test('follows the states main pushes: starting, then running (with a note while live updates reconnect)', async () => {
    const bridge = new FakeBridge({ state: 'starting', mode: 'vm', message: 'Booting the VM…', canRestart: true });
    const r = renderWithEngine(<StatusBar eventsConnected={false} />, { bridge });
    await waitFor(() => expect(bar().textContent).toBe('Engine startingBooting the VM…'));
    expect(within(bar()).queryByRole('button')).toBeNull(); // no restart while it is starting
    bridge.setState(RUNNING);
    await waitFor(() => expect(bar().getAttribute('data-state')).toBe('running'));
    expect(bar().textContent).toContain('live updates reconnecting…');
    r.rerender(<StatusBar eventsConnected />);
    await waitFor(() => expect(bar().textContent).toBe('Engine runningThe engine is running.'));
  });

  test('an error shows the message, the last console lines, and a Restart that asks main', async () => {
    const bridge = new FakeBridge({
      state: 'error',
      mode: 'vm',
      message: 'The VM exited (code 1).',
      canRestart: true,
      logTail: ['[    0.10] Kernel panic', 'end trace'],
    });
    let restarts = 0;
    let refuse = true;
    bridge.handlers.set('restartEngine', () => {
      restarts++;
      if (refuse) throw new Error('qemu-system-x86_64 not found');
    });
    renderWithEngine(<StatusBar eventsConnected={false} />, { bridge });
    const restart = await screen.findByRole('button', { name: 'Restart' });
    expect(bar().textContent).toContain('The VM exited (code 1).');
    const log = within(bar()).getByText('Last engine output').closest('details')!;
    expect(log.open).toBe(false);
    await userEvent.click(within(log).getByText('Last engine output'));
    expect(log.open).toBe(true);
    expect(within(log).getByText(/Kernel panic/).textContent).toBe('[    0.10] Kernel panic\nend trace');

    // Keyboard: the button is reachable and works with Enter.
    restart.focus();
    await userEvent.keyboard('{Enter}');
    await waitFor(() => expect(bar().textContent).toContain('qemu-system-x86_64 not found'));
    expect(restarts).toBe(1);
    refuse = false;
    await userEvent.click(restart);
    await waitFor(() => expect(restarts).toBe(2));
    await waitFor(() => expect(bar().textContent).not.toContain('qemu-system-x86_64 not found'));
  });

  test('a stopped socket engine offers Retry; an engine main cannot restart offers nothing', async () => {
    const first = renderWithEngine(<StatusBar eventsConnected={false} />, {
      state: { state: 'stopped', mode: 'socket', message: 'Nothing answers on /var/run/docker.sock.', canRestart: true },
    });
    expect(await screen.findByRole('button', { name: 'Retry' })).toBeTruthy();
    first.unmount();
    renderWithEngine(<StatusBar eventsConnected={false} />, { state: { state: 'error', mode: 'none', message: 'No engine.', canRestart: false } });
    await waitFor(() => expect(bar().getAttribute('data-state')).toBe('error'));
    expect(within(bar()).queryByRole('button')).toBeNull();
  });
});

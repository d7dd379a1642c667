import { screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, test } from 'vitest';
import { userEvent } from 'vitest/browser';
import { TroubleshootPage } from '../../apps/renderer/src/pages/TroubleshootPage.js';
import { FakeBridge, RUNNING } from './fake-bridge.js';
import { renderWithEngine } from './render.js';

const realConfirm = window.confirm;
afterEach(() => {
  window.confirm = realConfirm;
});

function engine() {
  const bridge = new FakeBridge({ ...RUNNING, mode: 'vm', socket: '/root/.berth/run/docker.sock' });
  bridge.docker.set('GET /version', { status: 200, body: { Version: '28.0.0-berth', ApiVersion: '1.48', Os: 'linux', Arch: 'amd64', KernelVersion: '6.1.0' } });
  bridge.handlers.set('hostLogs', () => [
    { name: 'VM console', path: '/root/.berth/vm/console.log', exists: true, lines: ['booted', 'agent up'], size: 20 },
    { name: 'vm-daemon', path: '/root/.berth/logs/vm-daemon.log', exists: false, lines: [] },
  ]);
  return bridge;
}

describe('TroubleshootPage', () => {
  test('the engine’s facts, the version line and each log file', async () => {
    renderWithEngine(<TroubleshootPage />, { bridge: engine() });
    await waitFor(() => expect(screen.getByText('28.0.0-berth (API 1.48, linux/amd64, kernel 6.1.0)')).toBeTruthy());
    expect(screen.getByTestId('troubleshoot-state').textContent).toContain('running');
    expect(screen.getByText('Virtual machine')).toBeTruthy();
    expect(screen.getByText('export DOCKER_HOST=unix:///root/.berth/run/docker.sock')).toBeTruthy();
    const consoleLog = await screen.findByRole('region', { name: 'VM console' });
    expect(within(consoleLog).getByText(/booted/).textContent).toBe('booted\nagent up');
    expect(within(screen.getByRole('region', { name: 'vm-daemon' })).getByText('Not written yet: /root/.berth/logs/vm-daemon.log')).toBeTruthy();
  });

  test('Restart engine asks first; No sends nothing, Yes asks main', async () => {
    const bridge = engine();
    let restarts = 0;
    bridge.handlers.set('restartEngine', () => (restarts++, RUNNING));
    renderWithEngine(<TroubleshootPage />, { bridge });
    const asked: string[] = [];
    let answer = false;
    window.confirm = (q?: string) => (asked.push(String(q)), answer);
    const restart = await screen.findByRole('button', { name: 'Restart engine' });
    await waitFor(() => expect((restart as HTMLButtonElement).disabled).toBe(false));
    await userEvent.click(restart);
    expect(asked).toEqual(['Restart the engine? Running containers stop, and those with a restart policy come back.']);
    expect(restarts).toBe(0);
    answer = true;
    await userEvent.click(restart);
    await waitFor(() => expect(restarts).toBe(1));
  });

  test('factory reset lists what goes in a modal dialog that starts on Cancel; confirming reports the count', async () => {
    const bridge = engine();
    bridge.handlers.set('resetPlan', () => ({
      home: '/root/.berth',
      entries: [
        { path: '/root/.berth/vm', what: 'the VM disk', kind: 'dir' },
        { path: '/root/.berth/settings.json', what: 'settings', kind: 'file' },
      ],
    }));
    let resets = 0;
    bridge.handlers.set('factoryReset', () => (resets++, ['/root/.berth/vm', '/root/.berth/settings.json']));
    renderWithEngine(<TroubleshootPage />, { bridge });
    await userEvent.click(screen.getByRole('button', { name: 'Reset to factory defaults…' }));
    const dialog = await screen.findByRole('dialog', { name: 'Reset to factory defaults?' });
    expect(dialog.matches(':modal')).toBe(true);
    expect(
      within(dialog)
        .getAllByRole('listitem')
        .map((li) => li.textContent),
    ).toEqual(['/root/.berth/vm — the VM disk', '/root/.berth/settings.json — settings']);
    await waitFor(() => expect(document.activeElement).toBe(within(dialog).getByRole('button', { name: 'Cancel' })));
    await userEvent.keyboard('{Escape}');
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(resets).toBe(0);

    await userEvent.click(screen.getByRole('button', { name: 'Reset to factory defaults…' }));
    await userEvent.click(await screen.findByRole('button', { name: 'Delete and reset' }));
    expect((await screen.findByText(/^Reset done/)).textContent).toBe('Reset done: deleted 2 items. Berth starts fresh at the next engine start.');
    expect(resets).toBe(1);
  });
});

import { screen, waitFor } from '@testing-library/react';
import { describe, expect, test } from 'vitest';
import { userEvent } from 'vitest/browser';
import { RunDialog } from '../../apps/renderer/src/components/RunDialog.js';
import { FakeBridge, RUNNING } from './fake-bridge.js';
import { renderWithEngine } from './render.js';

function setup() {
  const bridge = new FakeBridge(RUNNING);
  let closed = 0;
  const r = renderWithEngine(<RunDialog image="nginx:1.27" onClose={() => closed++} />, { bridge });
  return { ...r, bridge, closed: () => closed };
}

const line = () => screen.getByTestId('docker-run-line').textContent;

describe('RunDialog', () => {
  test('opens as a modal with the name field focused, every field labelled', async () => {
    setup();
    const dialog = screen.getByRole('dialog', { name: 'Run nginx:1.27' });
    expect((dialog as HTMLDialogElement).open).toBe(true);
    expect(dialog.matches(':modal')).toBe(true);
    await waitFor(() => expect(document.activeElement).toBe(screen.getByLabelText('Container name')));
    for (const label of [/^Restart policy/, /^Ports/, /^Volumes/, /^Environment/, /^Command/]) expect(screen.getByLabelText(label)).toBeTruthy();
    expect(line()).toBe('docker run -d nginx:1.27');
  });

  test('builds the docker run line as you type and sends the same container to the engine', async () => {
    const { bridge, closed } = setup();
    bridge.docker.set('POST /containers/create?name=web-1', { status: 201, body: { Id: 'c0ffee', Warnings: [] } });
    bridge.docker.set('POST /containers/c0ffee/start', { status: 204 });
    await userEvent.fill(screen.getByLabelText('Container name'), 'web-1');
    await userEvent.fill(screen.getByLabelText(/^Ports/), '8080:80, 127.0.0.1:5353:53/udp');
    await userEvent.fill(screen.getByLabelText(/^Volumes/), '/srv/data:/data:ro');
    await userEvent.fill(screen.getByLabelText(/^Environment/), 'A=1\nGREETING=hello world');
    await userEvent.selectOptions(screen.getByLabelText(/^Restart policy/), 'unless-stopped');
    await userEvent.fill(screen.getByLabelText(/^Command/), `sh -c 'echo "hi there"'`);
    expect(line()).toBe(
      `docker run -d --name web-1 -p 8080:80 -p 127.0.0.1:5353:53/udp -e A=1 -e 'GREETING=hello world' -v /srv/data:/data:ro --restart unless-stopped nginx:1.27 sh -c 'echo "hi there"'`,
    );
    await userEvent.click(screen.getByRole('button', { name: 'Run' }));
    await waitFor(() => expect(closed()).toBe(1));
    const [create, start] = bridge.dockerRequests();
    expect(create).toEqual({
      method: 'POST',
      path: '/containers/create?name=web-1',
      body: {
        Image: 'nginx:1.27',
        Cmd: ['sh', '-c', 'echo "hi there"'],
        Env: ['A=1', 'GREETING=hello world'],
        ExposedPorts: { '80/tcp': {}, '53/udp': {} },
        HostConfig: {
          PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }], '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5353' }] },
          Binds: ['/srv/data:/data:ro'],
          RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
        },
      },
    });
    expect(start).toEqual({ method: 'POST', path: '/containers/c0ffee/start' });
  });

  test('a bad port is refused before anything is sent; the engine’s refusal is shown and the dialog stays', async () => {
    const { bridge, closed } = setup();
    await userEvent.fill(screen.getByLabelText(/^Ports/), 'eighty');
    await userEvent.click(screen.getByRole('button', { name: 'Run' }));
    expect((await screen.findByRole('alert')).textContent).toContain('invalid port mapping "eighty"');
    expect(bridge.dockerRequests()).toEqual([]);

    bridge.docker.set('POST /containers/create', { status: 404, body: { message: 'No such image: nginx:1.27' } });
    await userEvent.clear(screen.getByLabelText(/^Ports/));
    await userEvent.click(screen.getByRole('button', { name: 'Run' }));
    await waitFor(() => expect(screen.getByRole('alert').textContent).toBe('No such image: nginx:1.27'));
    expect(closed()).toBe(0);
    expect(screen.getByRole('dialog')).toBeTruthy();
  });

  test('Escape and Cancel close it without creating anything', async () => {
    const first = setup();
    await userEvent.keyboard('{Escape}');
    await waitFor(() => expect(first.closed()).toBe(1));
    first.unmount();
    const second = setup();
    await userEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(second.closed()).toBe(1));
    expect(second.bridge.dockerRequests()).toEqual([]);
  });
});

import { screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { userEvent } from 'vitest/browser';
import { WelcomePage } from '../../apps/renderer/src/pages/WelcomePage.js';
import { FakeBridge, RUNNING } from './fake-bridge.js';
import { renderWithEngine } from './render.js';

/** One frame of Docker's multiplexed log stream: [stream, 0, 0, 0, size (big-endian)], then the bytes; base64 as the transport carries it. */
function frame(stream: 1 | 2, text: string): string {
  const body = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + body.length);
  out[0] = stream;
  new DataView(out.buffer).setUint32(4, body.length);
  out.set(body, 8);
  return btoa(String.fromCharCode(...out));
}

const bundled = (status: 'present' | 'missing', message?: string) => () => ({
  images: [
    { name: 'hello-world', tag: 'berth/hello-world:latest', status, ...(message ? { message } : {}) },
    { name: 'getting-started', tag: 'berth/getting-started:latest', status, ...(message ? { message } : {}) },
  ],
});

let opened: string[] = [];
const realOpen = window.open;
beforeEach(() => {
  opened = [];
  window.open = (url?: string | URL) => (opened.push(String(url)), null);
});
afterEach(() => {
  window.open = realOpen;
});

describe('WelcomePage', () => {
  test('Run hello-world creates, starts and waits for the container, shows its output split across chunks, then removes it', async () => {
    const bridge = new FakeBridge(RUNNING);
    bridge.handlers.set('bundledImages', bundled('present'));
    bridge.docker.set('POST /containers/create', { status: 201, body: { Id: 'h1', Warnings: [] } });
    bridge.docker.set('POST /containers/h1/start', { status: 204 });
    bridge.docker.set('POST /containers/h1/wait', { status: 200, body: { StatusCode: 0 } });
    bridge.docker.set('DELETE /containers/h1?force=1', { status: 204 });
    renderWithEngine(<WelcomePage />, { bridge });
    await userEvent.click(screen.getByRole('button', { name: 'Run hello-world' }));
    await waitFor(() => expect(bridge.open('dockerBytes')).toHaveLength(1));
    const logs = bridge.open('dockerBytes')[0]!;
    expect(logs.args).toEqual([{ method: 'GET', path: '/containers/h1/logs?stdout=1&stderr=1' }]);
    const bytes = atob(frame(1, 'Hello from Berth!\nThis message shows'));
    // The same frames, cut in the middle of a header and of a line.
    logs.push({ item: btoa(bytes.slice(0, 5)) });
    logs.push({ item: btoa(bytes.slice(5, 20)) });
    logs.push({ item: btoa(bytes.slice(20)) });
    logs.push({ item: frame(1, ' that it works.\n') });
    logs.push({ item: frame(2, 'a line on stderr\n') });
    logs.push({ end: true });
    expect((await screen.findByTestId('hello-output')).textContent).toBe('Hello from Berth!\nThis message shows that it works.\na line on stderr');
    await waitFor(() => expect(bridge.dockerRequests().map((r) => `${r.method} ${r.path}`)).toContain('DELETE /containers/h1?force=1'));
    expect(bridge.dockerRequests()[0]!.body).toEqual({ Image: 'berth/hello-world' });
  });

  test('the tutorial moves to the next port when port 80 is taken, says why, and opens the page', async () => {
    const bridge = new FakeBridge(RUNNING);
    bridge.handlers.set('bundledImages', bundled('present'));
    bridge.docker.set('GET /containers/getting-started/json', { status: 404, body: { message: 'No such container: getting-started' } });
    bridge.docker.set('POST /containers/create?name=getting-started', (req) => {
      const port = (req.body as { HostConfig: { PortBindings: Record<string, { HostPort: string }[]> } }).HostConfig.PortBindings['80/tcp']![0]!.HostPort;
      return { status: 201, body: { Id: `t${port}` } };
    });
    bridge.docker.set('POST /containers/t80/start', { status: 500, body: { message: 'Bind for 0.0.0.0:80 failed: port is already allocated' } });
    bridge.docker.set('DELETE /containers/t80?force=1', { status: 204 });
    bridge.docker.set('POST /containers/t8080/start', { status: 204 });
    renderWithEngine(<WelcomePage />, { bridge });
    expect(screen.getByTestId('tutorial-command').textContent).toBe('docker run -d -p 80:80 --name getting-started berth/getting-started');
    await userEvent.click(screen.getByRole('button', { name: 'Run the tutorial' }));
    const link = await screen.findByTestId('tutorial-link');
    expect(link.textContent).toBe('http://localhost:8080');
    expect(screen.getByRole('status').textContent).toBe(
      'Port 80 was not available (Bind for 0.0.0.0:80 failed: port is already allocated), so the tutorial is on port 8080 instead.',
    );
    expect(screen.getByTestId('tutorial-command').textContent).toBe('docker run -d -p 8080:80 --name getting-started berth/getting-started');
    expect(opened).toEqual(['http://localhost:8080']);
    expect(screen.getByRole('button', { name: 'Open the tutorial again' })).toBeTruthy();
  });

  test('a bundled image the engine cannot load: the reason, and nothing created', async () => {
    const bridge = new FakeBridge(RUNNING);
    bridge.handlers.set('bundledImages', bundled('missing', 'resources/images/out/hello-world.tar is missing: run npm run build:images'));
    renderWithEngine(<WelcomePage />, { bridge });
    await userEvent.click(screen.getByRole('button', { name: 'Run hello-world' }));
    expect((await screen.findByRole('alert')).textContent).toBe('resources/images/out/hello-world.tar is missing: run npm run build:images');
    expect(bridge.dockerRequests()).toEqual([]);
  });

  test('engine down: the buttons wait for it; dismissing remembers and goes to Containers', async () => {
    renderWithEngine(<WelcomePage />, { state: { state: 'starting', mode: 'vm', message: 'Booting', canRestart: true } });
    expect(screen.getByText('The engine is not running yet: the buttons wake up when it is.')).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Run the tutorial' }) as HTMLButtonElement).disabled).toBe(true);
    expect((screen.getByRole('button', { name: 'Run hello-world' }) as HTMLButtonElement).disabled).toBe(true);
    await userEvent.click(screen.getByRole('button', { name: "Don't show this at start" }));
    expect(localStorage.getItem('berth.welcome.dismissed')).toBe('1');
    expect(window.location.hash).toBe('#/containers');
    expect(screen.queryByRole('button', { name: "Don't show this at start" })).toBeNull();
  });
});

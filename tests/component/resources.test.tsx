import { screen, waitFor, within } from '@testing-library/react';
import { describe, expect, test } from 'vitest';
import { userEvent } from 'vitest/browser';
import { NetworksPage } from '../../apps/renderer/src/pages/NetworksPage.js';
import { VolumesPage } from '../../apps/renderer/src/pages/VolumesPage.js';
import { FakeBridge, RUNNING } from './fake-bridge.js';
import { renderWithEngine } from './render.js';

const network = (name: string, id: string, containers: string[] = []) => ({
  Name: name,
  Id: id.padEnd(64, '0'),
  Driver: name === 'host' ? 'host' : 'bridge',
  IPAM: { Config: name === 'bridge' ? [{ Subnet: '172.17.0.0/16' }] : [] },
  Containers: Object.fromEntries(containers.map((c) => [c, {}])),
});

describe('VolumesPage', () => {
  test('a refused delete shows the engine’s reason word for word; the volume stays listed', async () => {
    const bridge = new FakeBridge(RUNNING);
    bridge.docker.set('GET /volumes', {
      status: 200,
      body: { Volumes: [{ Name: 'data', Driver: 'local', Mountpoint: '/x', CreatedAt: '2026-01-01T00:00:00Z' }], Warnings: [] },
    });
    bridge.docker.set('DELETE /volumes/data', { status: 409, body: { message: 'remove data: volume is in use - [c0ffee]' } });
    renderWithEngine(<VolumesPage />, { bridge });
    expect(await screen.findByText('1 volume')).toBeTruthy();
    await userEvent.click(screen.getByRole('button', { name: 'Delete data' }));
    expect((await screen.findByRole('alert')).textContent).toBe('remove data: volume is in use - [c0ffee]×');
    expect(screen.getByRole('row', { name: /data/ })).toBeTruthy();
    await userEvent.click(screen.getByRole('button', { name: 'Dismiss' }));
    expect(screen.queryByRole('alert')).toBeNull();
  });

  test('create sends the typed name (or none, for a random one) and says so; inspect opens the JSON', async () => {
    const bridge = new FakeBridge(RUNNING);
    bridge.docker.set('GET /volumes', { status: 200, body: { Volumes: [], Warnings: [] } });
    bridge.docker.set('POST /volumes/create', (req) => ({ status: 201, body: { Name: (req.body as { Name?: string }).Name ?? 'random' } }));
    bridge.docker.set('GET /volumes/cache', { status: 200, body: { Name: 'cache', Driver: 'local', Mountpoint: '/var/lib/cache' } });
    renderWithEngine(<VolumesPage />, { bridge });
    expect(await screen.findByText(/^No volumes yet/)).toBeTruthy();
    await userEvent.fill(screen.getByLabelText('New volume name'), 'cache');
    await userEvent.click(screen.getByRole('button', { name: 'Create' }));
    await screen.findByText('Created cache');
    expect((screen.getByLabelText('New volume name') as HTMLInputElement).value).toBe('');
    await userEvent.click(screen.getByRole('button', { name: 'Create' }));
    await screen.findByText('Created a volume');
    expect(
      bridge
        .dockerRequests()
        .filter((r) => r.method === 'POST')
        .map((r) => r.body),
    ).toEqual([{ Name: 'cache' }, {}]);

    // The list follows the engine's events: one says a volume changed, the page refetches.
    bridge.docker.set('GET /volumes', { status: 200, body: { Volumes: [{ Name: 'cache', Driver: 'local', Mountpoint: '/x' }], Warnings: [] } });
    const events = bridge.open('dockerJson').find((st) => (st.args[0] as { path: string }).path === '/events')!;
    events.push({ item: { Type: 'volume', Action: 'create', Actor: { ID: 'cache', Attributes: {} } } });
    await waitFor(() => expect(screen.getByRole('button', { name: 'Inspect cache' })).toBeTruthy());
    await userEvent.click(screen.getByRole('button', { name: 'Inspect cache' }));
    const dialog = await screen.findByRole('dialog', { name: 'Volume cache' });
    expect(JSON.parse(within(dialog).getByTestId('inspect-json').textContent!)).toEqual({ Name: 'cache', Driver: 'local', Mountpoint: '/var/lib/cache' });
  });

  test('an engine without the volume endpoints: the form is hidden and the table says so', async () => {
    renderWithEngine(<VolumesPage />); // the fake answers `404 page not found`, as dockerd does for an unknown route
    expect((await screen.findByTestId('unsupported')).textContent).toBe('Volumes are not supported by this engine yet. The engine answered: page not found.');
    expect(screen.queryByLabelText('New volume name')).toBeNull();
  });
});

describe('NetworksPage', () => {
  test('the predefined networks cannot be deleted; a refused delete shows why', async () => {
    const bridge = new FakeBridge(RUNNING);
    bridge.docker.set('GET /networks', { status: 200, body: [network('bridge', 'b1'), network('host', 'h1'), network('app', 'a1', ['c1', 'c2'])] });
    bridge.docker.set(`DELETE /networks/${'a1'.padEnd(64, '0')}`, {
      status: 403,
      body: { message: 'error while removing network: network app id a1 has active endpoints' },
    });
    renderWithEngine(<NetworksPage />, { bridge });
    const bridgeDelete = (await screen.findByRole('button', { name: 'Delete bridge' })) as HTMLButtonElement;
    expect(bridgeDelete.disabled).toBe(true);
    expect(bridgeDelete.title).toBe('A predefined network cannot be removed');
    expect((screen.getByRole('button', { name: 'Delete host' }) as HTMLButtonElement).disabled).toBe(true);
    const app = screen.getByRole('row', { name: /app/ });
    expect(within(app).getByText('2')).toBeTruthy(); // containers joined
    await userEvent.click(within(app).getByRole('button', { name: 'Delete app' }));
    expect((await screen.findByRole('alert')).textContent).toContain('has active endpoints');
  });

  test('Create needs a name and sends the driver', async () => {
    const bridge = new FakeBridge(RUNNING);
    bridge.docker.set('GET /networks', { status: 200, body: [] });
    bridge.docker.set('POST /networks/create', { status: 201, body: { Id: 'n1' } });
    renderWithEngine(<NetworksPage />, { bridge });
    await screen.findByText('No networks.');
    const create = screen.getByRole('button', { name: 'Create' }) as HTMLButtonElement;
    expect(create.disabled).toBe(true);
    await userEvent.fill(screen.getByLabelText('New network name'), ' my-app ');
    expect(create.disabled).toBe(false);
    await userEvent.click(create);
    await screen.findByText('Created my-app');
    expect(bridge.dockerRequests().find((r) => r.method === 'POST')).toEqual({
      method: 'POST',
      path: '/networks/create',
      body: { Name: 'my-app', Driver: 'bridge', CheckDuplicate: true },
    });
  });
});

import { screen, waitFor, within } from '@testing-library/react';
import { describe, expect, test } from 'vitest';
import { userEvent } from 'vitest/browser';
import { ContainersPage } from '../../apps/renderer/src/pages/ContainersPage.js';
import type { ContainerSummary } from '@berth/api';
import { FakeBridge, RUNNING } from './fake-bridge.js';
import { renderWithEngine } from './render.js';

function container(name: string, state: string, extra: Partial<ContainerSummary> = {}): ContainerSummary {
  const id = `${name}`.padEnd(12, '0') + 'a'.repeat(52);
  return {
    Id: id,
    Names: [`/${name}`],
    Image: `img/${name}:1`,
    ImageID: 'sha256:x',
    Command: 'sh',
    Created: Math.floor(Date.now() / 1000) - 60,
    State: state,
    Status: state,
    Ports: [],
    Labels: {},
    ...extra,
  } as ContainerSummary;
}

const LIST = [
  container('web', 'running', {
    Ports: [
      { PrivatePort: 80, PublicPort: 8080, Type: 'tcp', IP: '0.0.0.0' },
      { PrivatePort: 80, PublicPort: 8080, Type: 'tcp', IP: '::' },
    ],
  }),
  container('db', 'exited'),
  container('cache', 'paused'),
];

function engineWith(list: ContainerSummary[]) {
  const bridge = new FakeBridge(RUNNING);
  bridge.docker.set('GET /containers/json?all=1', { status: 200, body: list });
  return bridge;
}

const rowOf = (name: string) => screen.getByRole('link', { name }).closest('tr')!;

describe('ContainersPage', () => {
  test('lists every container with its state, published port (once per host port) and the counts in the subtitle', async () => {
    renderWithEngine(<ContainersPage />, { bridge: engineWith(LIST) });
    await screen.findByRole('link', { name: 'web' });
    expect(screen.getByText('1 running · 3 in all')).toBeTruthy();
    const table = screen.getByRole('table', { name: 'Containers' });
    expect(within(table).getAllByRole('row')).toHaveLength(1 + LIST.length);
    const web = rowOf('web');
    expect(within(web).getAllByRole('link', { name: '8080:80' })).toHaveLength(1);
    expect(within(web).getByRole('link', { name: '8080:80' }).getAttribute('href')).toBe('http://localhost:8080');
    expect(within(rowOf('db')).getByText('exited', { selector: '.badge' })).toBeTruthy();
    // Each row offers what its state allows.
    expect(within(web).queryByRole('button', { name: 'Start web' })).toBeNull();
    expect(within(web).getByRole('button', { name: 'Stop web' })).toBeTruthy();
    expect(within(rowOf('db')).getByRole('button', { name: 'Start db' })).toBeTruthy();
    expect(within(rowOf('cache')).getByRole('button', { name: 'Resume cache' })).toBeTruthy();
  });

  test('the search box and the state filter narrow the rows', async () => {
    renderWithEngine(<ContainersPage />, { bridge: engineWith(LIST) });
    await screen.findByRole('link', { name: 'web' });
    await userEvent.fill(screen.getByLabelText('Search containers'), 'img/d');
    await waitFor(() => expect(screen.queryByRole('link', { name: 'web' })).toBeNull());
    expect(screen.getByRole('link', { name: 'db' })).toBeTruthy();
    await userEvent.fill(screen.getByLabelText('Search containers'), 'nothing-like-this');
    expect(await screen.findByText('No container matches.')).toBeTruthy();
    await userEvent.clear(screen.getByLabelText('Search containers'));
    await userEvent.click(screen.getByRole('radio', { name: 'Running' }));
    await waitFor(() => expect(screen.queryByRole('link', { name: 'db' })).toBeNull());
    expect(screen.getByRole('radio', { name: 'Running' }).getAttribute('aria-checked')).toBe('true');
    expect(screen.getByRole('link', { name: 'web' })).toBeTruthy();
    await userEvent.click(screen.getByRole('radio', { name: 'Paused' }));
    expect(await screen.findByRole('link', { name: 'cache' })).toBeTruthy();
    expect(screen.queryByRole('link', { name: 'web' })).toBeNull();
  });

  test('bulk actions act on the selected containers that allow them', async () => {
    const bridge = engineWith(LIST);
    bridge.docker.set(`POST /containers/${LIST[1]!.Id}/start`, { status: 204 });
    bridge.docker.set(`POST /containers/${LIST[2]!.Id}/start`, { status: 409, body: { message: 'should not be asked' } });
    renderWithEngine(<ContainersPage />, { bridge });
    await screen.findByRole('link', { name: 'web' });
    await userEvent.click(screen.getByLabelText('Select db'));
    await userEvent.click(screen.getByLabelText('Select web'));
    const bar = screen.getByRole('toolbar', { name: 'Selected containers' });
    expect(bar.textContent).toContain('2 selected');
    // Resume fits neither: db is exited, web is running.
    expect((within(bar).getByRole('button', { name: 'Resume' }) as HTMLButtonElement).disabled).toBe(true);
    await userEvent.click(within(bar).getByRole('button', { name: 'Start' }));
    await waitFor(() =>
      expect(bridge.dockerRequests().filter((r) => r.method === 'POST')).toEqual([{ method: 'POST', path: `/containers/${LIST[1]!.Id}/start` }]),
    );
    await userEvent.click(within(bar).getByRole('button', { name: 'Clear' }));
    expect(screen.queryByRole('toolbar', { name: 'Selected containers' })).toBeNull();
  });

  test('a refused action shows the engine’s reason, naming the container', async () => {
    const bridge = engineWith(LIST);
    bridge.docker.set(`POST /containers/${LIST[1]!.Id}/start`, { status: 500, body: { message: 'port is already allocated' } });
    renderWithEngine(<ContainersPage />, { bridge });
    await userEvent.click(await screen.findByRole('button', { name: 'Start db' }));
    expect((await screen.findByRole('alert')).textContent).toContain('start db: port is already allocated');
  });

  test('delete asks first, then deletes with force; cancelling sends nothing', async () => {
    const bridge = engineWith(LIST);
    bridge.docker.set(`DELETE /containers/${LIST[0]!.Id}?force=1`, { status: 204 });
    renderWithEngine(<ContainersPage />, { bridge });
    const asked: string[] = [];
    let answer = false;
    const confirm = window.confirm;
    window.confirm = (q?: string) => (asked.push(String(q)), answer);
    try {
      await userEvent.click(await screen.findByRole('button', { name: 'Delete web' }));
      expect(asked).toEqual(['Stop and delete web? 1 running.']);
      expect(bridge.dockerRequests().some((r) => r.method === 'DELETE')).toBe(false);
      answer = true;
      await userEvent.click(screen.getByRole('button', { name: 'Delete web' }));
      await waitFor(() =>
        expect(
          bridge
            .dockerRequests()
            .filter((r) => r.method === 'DELETE')
            .map((r) => r.path),
        ).toEqual([`/containers/${LIST[0]!.Id}?force=1`]),
      );
    } finally {
      window.confirm = confirm;
    }
  });

  test('states under the table: engine down, loading, the engine’s error, empty', async () => {
    const down = new FakeBridge({ state: 'stopped', mode: 'vm', message: 'The VM is stopped.', canRestart: true });
    const first = renderWithEngine(<ContainersPage />, { bridge: down });
    expect(await screen.findByText('The engine is not running.')).toBeTruthy();
    first.unmount();

    const slow = new FakeBridge(RUNNING);
    let release!: () => void;
    slow.docker.set('GET /containers/json?all=1', () => new Promise((resolve) => (release = () => resolve({ status: 200, body: [] }))));
    const second = renderWithEngine(<ContainersPage />, { bridge: slow });
    expect(await screen.findByText('Loading…')).toBeTruthy();
    release();
    expect(await screen.findByText(/^No containers yet/)).toBeTruthy();
    second.unmount();

    const broken = new FakeBridge(RUNNING);
    broken.docker.set('GET /containers/json?all=1', { status: 500, body: { message: 'the engine lost its state directory' } });
    renderWithEngine(<ContainersPage />, { bridge: broken });
    expect(await screen.findByText('the engine lost its state directory')).toBeTruthy();
  });
});

describe('ContainersPage from the keyboard', () => {
  test('Tab goes from the search box through the filters to select-all; Space selects, Enter runs a row action', async () => {
    const bridge = engineWith(LIST);
    bridge.docker.set(`POST /containers/${LIST[1]!.Id}/start`, { status: 204 });
    renderWithEngine(<ContainersPage />, { bridge });
    await screen.findByRole('link', { name: 'web' });
    screen.getByLabelText('Search containers').focus();
    const order: string[] = [];
    for (let i = 0; i < 5; i++) {
      await userEvent.tab();
      order.push(document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent ?? '');
    }
    expect(order).toEqual(['All', 'Running', 'Paused', 'Stopped', 'Select all shown']);
    await userEvent.keyboard(' ');
    expect(screen.getByRole('toolbar', { name: 'Selected containers' }).textContent).toContain('3 selected');
    screen.getByRole('button', { name: 'Start db' }).focus();
    await userEvent.keyboard('{Enter}');
    await waitFor(() =>
      expect(
        bridge
          .dockerRequests()
          .filter((r) => r.method === 'POST')
          .map((r) => r.path),
      ).toEqual([`/containers/${LIST[1]!.Id}/start`]),
    );
  });
});

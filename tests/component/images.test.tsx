import { screen, waitFor, within } from '@testing-library/react';
import { describe, expect, test } from 'vitest';
import { userEvent } from 'vitest/browser';
import { ImagesPage } from '../../apps/renderer/src/pages/ImagesPage.js';
import type { ImageSummary } from '@berth/api';
import { FakeBridge, RUNNING } from './fake-bridge.js';
import { renderWithEngine } from './render.js';

const image = (id: string, tags: string[], size: number, containers = 0) =>
  ({
    Id: `sha256:${id.padEnd(64, '0')}`,
    RepoTags: tags,
    RepoDigests: [],
    Created: 1_700_000_000,
    Size: size,
    Containers: containers,
    Labels: {},
    ParentId: '',
    SharedSize: 0,
  }) as unknown as ImageSummary;

function engine(images: ImageSummary[]) {
  const bridge = new FakeBridge(RUNNING);
  bridge.docker.set('GET /images/json', { status: 200, body: images });
  bridge.docker.set('GET /containers/json?all=1', { status: 200, body: [] });
  return bridge;
}

const pullStream = (bridge: FakeBridge) => bridge.open('dockerJson').find((s) => (s.args[0] as { path: string }).path.startsWith('/images/create'));
const bars = () => screen.getAllByRole('progressbar').map((b) => b.getAttribute('aria-valuenow'));

describe('ImagesPage', () => {
  test('one row per tag, the untagged image by ID, in-use badges and the total size', async () => {
    renderWithEngine(<ImagesPage />, {
      bridge: engine([image('aa', ['busybox:latest', 'busybox:1.36'], 4_400_000, 1), image('bb', ['<none>:<none>'], 1_000_000)]),
    });
    const table = await screen.findByRole('table', { name: 'Images' });
    await waitFor(() => expect(within(table).getAllByRole('row')).toHaveLength(4));
    expect(screen.getByText(/^2 images · /)).toBeTruthy();
    expect(within(table).getAllByText('In use')).toHaveLength(2);
    expect(within(table).getAllByText('Unused')).toHaveLength(1);
    expect(within(table).getByRole('button', { name: 'Delete busybox:1.36' })).toBeTruthy();
  });

  test('a pull draws one bar per layer from the progress stream and says when it is done', async () => {
    const bridge = engine([]);
    renderWithEngine(<ImagesPage />, { bridge });
    await screen.findByText(/^No images yet/);
    const pullButton = screen.getByRole('button', { name: 'Pull' }) as HTMLButtonElement;
    expect(pullButton.disabled).toBe(true); // nothing typed
    await userEvent.fill(screen.getByLabelText('Image to pull'), 'alpine:3.20');
    await userEvent.click(pullButton);
    await waitFor(() => expect(pullStream(bridge)).toBeTruthy());
    const stream = pullStream(bridge)!;
    expect(stream.args).toEqual([{ method: 'POST', path: '/images/create?fromImage=alpine%3A3.20' }]);
    expect(screen.getByRole('button', { name: 'Pulling…' })).toBeTruthy();

    stream.push({ item: { status: 'Pulling from library/alpine', id: '3.20' } });
    stream.push({ item: { status: 'Pulling fs layer', id: 'l1' } });
    stream.push({ item: { status: 'Pulling fs layer', id: 'l2' } });
    stream.push({ item: { status: 'Downloading', id: 'l1', progressDetail: { current: 250, total: 1000 } } });
    stream.push({ item: { status: 'Downloading', id: 'l2', progressDetail: { current: 900, total: 1000 } } });
    await waitFor(() => expect(bars()).toEqual(['25', '90']));
    expect(screen.getAllByTestId('layer-progress').map((l) => l.textContent)).toEqual(['l1Downloading', 'l2Downloading']);
    stream.push({ item: { status: 'Pull complete', id: 'l1' } });
    stream.push({ item: { status: 'Already exists', id: 'l2' } });
    stream.push({ item: { status: 'Status: Downloaded newer image for alpine:3.20' } });
    await waitFor(() => expect(bars()).toEqual(['100', '100']));
    expect(screen.getByTestId('pull-progress').getAttribute('data-done')).toBe('false');
    stream.push({ end: true });
    await waitFor(() => expect(screen.getByTestId('pull-progress').getAttribute('data-done')).toBe('true'));
    expect(screen.getByTestId('pull-progress').textContent).toContain('Pulled alpine:3.20');
    expect(screen.getByText('Status: Downloaded newer image for alpine:3.20')).toBeTruthy();
    await userEvent.click(within(screen.getByTestId('pull-progress')).getByRole('button', { name: 'Dismiss' }));
    expect(screen.queryByTestId('pull-progress')).toBeNull();
  });

  test('an error in the stream ends the pull with the engine’s message', async () => {
    const bridge = engine([]);
    renderWithEngine(<ImagesPage />, { bridge });
    await screen.findByText(/^No images yet/);
    await userEvent.fill(screen.getByLabelText('Image to pull'), 'nope/nothing');
    await userEvent.keyboard('{Enter}'); // the form submits from the field
    await waitFor(() => expect(pullStream(bridge)).toBeTruthy());
    pullStream(bridge)!.push({ item: { error: 'pull access denied for nope/nothing', errorDetail: { message: 'pull access denied for nope/nothing' } } });
    pullStream(bridge)!.push({ end: true });
    const progress = await screen.findByTestId('pull-progress');
    await waitFor(() => expect(progress.getAttribute('data-done')).toBe('true'));
    expect(progress.textContent).toContain('Pull failed: nope/nothing');
    expect(within(progress).getByRole('alert').textContent).toBe('pull access denied for nope/nothing');
  });

  test('Delete reports the engine’s answer; Run opens the run dialog for that tag', async () => {
    const bridge = engine([image('aa', ['busybox:latest'], 4_400_000, 1)]);
    bridge.docker.set('DELETE /images/busybox%3Alatest', {
      status: 409,
      body: { message: 'conflict: unable to remove repository reference "busybox:latest" (must force) - container abc is using its referenced image aa' },
    });
    renderWithEngine(<ImagesPage />, { bridge });
    await userEvent.click(await screen.findByRole('button', { name: 'Delete busybox:latest' }));
    expect((await screen.findByRole('alert')).textContent).toContain('container abc is using its referenced image');
    await userEvent.click(screen.getByRole('button', { name: 'Run' }));
    expect(await screen.findByRole('dialog', { name: 'Run busybox:latest' })).toBeTruthy();
  });
});

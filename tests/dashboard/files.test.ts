/**
 * The Files tab of the container detail view, in web mode, on a container
 * that was never started (the archive API needs no running process): a
 * folder copied in with `docker cp` is browsed (sizes, modes, a symlink
 * shown as one), a text file is read, a binary one is recognised, a big one
 * is cut at the viewer's cap, a file and a folder are downloaded and match
 * what was copied in, and a missing path fails with the engine's message.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { useAgent } from '../helpers/agent.js';
import { DockerCli } from '../helpers/docker.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { buildBusyboxImage, pushImage } from '../helpers/test-images.js';
import { screenshot, useDashboard } from './web-mode.js';

const agent = useAgent();

describe('dashboard container files, web mode', () => {
  const dash = useDashboard(agent.ready);
  let registry: TestRegistry;
  let docker: DockerCli;
  let dir: string;
  const name = `e2e-files-${process.pid}`;
  const hello = `hello from the files tab ${process.pid}\n`;
  const big = 'x'.repeat(99) + '\n';

  before(async () => {
    const a = await agent.ready;
    registry = await startRegistry();
    const image = await pushImage({ url: registry.url }, 'e2e/busybox', 'v1', await buildBusyboxImage({ layerCount: 1 }));
    docker = new DockerCli(a.socket);
    await docker.ok(['pull', image.ref]);
    await docker.ok(['create', '--name', name, image.ref, 'true']);
    dir = await mkdtemp(join(tmpdir(), 'berth-files-'));
    const data = join(dir, 'data');
    await mkdir(join(data, 'sub'), { recursive: true });
    await writeFile(join(data, 'hello.txt'), hello, { mode: 0o644 });
    await writeFile(join(data, 'blob.bin'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3, 0xff, 0]));
    await writeFile(join(data, 'big.txt'), big.repeat(3000));
    await writeFile(join(data, 'sub', 'nested.txt'), 'nested\n');
    await symlink('hello.txt', join(data, 'link'));
    await docker.ok(['cp', data, `${name}:/data`]);
    await dash.page.evaluate(`window.location.hash = '#/containers/${name}/files'`);
    await dash.page.getByRole('heading', { name }).waitFor();
  });

  after(async () => {
    await registry?.stop();
    await docker?.run(['rm', '-f', name]);
    docker?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const table = () => dash.page.getByRole('table', { name: /^Files in / });
  const row = (n: string) => table().locator(`tr[data-name="${n}"]`);

  test("a stopped container's folders are listed, with sizes, modes and symlinks", async () => {
    await row('data').waitFor({ timeout: 15_000 });
    assert.equal(await row('data').getAttribute('data-type'), 'directory');
    await row('data').getByRole('button', { name: 'data/', exact: true }).click();
    await dash.page.getByRole('table', { name: 'Files in /data' }).waitFor();
    const rows = table().locator('tbody tr');
    const names = [];
    for (let i = 0; i < (await rows.count()); i++) names.push(await rows.nth(i).getAttribute('data-name'));
    assert.deepEqual(names, ['sub', 'big.txt', 'blob.bin', 'hello.txt', 'link']);
    const cells = await row('hello.txt').locator('td').allTextContents();
    assert.equal(cells[1], `${hello.length} B`);
    assert.equal(cells[2], '-rw-r--r--');
    assert.equal(await row('link').getAttribute('data-type'), 'symlink');
    assert.match((await row('link').locator('td').first().textContent()) ?? '', /link → hello\.txt/);
    await screenshot(dash.page, 'container-files');
  });

  test('a text file opens, a binary one is recognised, a big one is cut at the cap', async () => {
    await row('hello.txt').getByRole('button', { name: 'hello.txt', exact: true }).click();
    assert.equal(await dash.page.getByTestId('file-content').textContent(), hello);
    await dash.page.getByRole('button', { name: 'Up' }).click();
    await row('blob.bin').getByRole('button', { name: 'blob.bin', exact: true }).click();
    await dash.page.getByText('This file is binary').waitFor();
    await dash.page.getByRole('button', { name: 'Up' }).click();
    await row('big.txt').getByRole('button', { name: 'big.txt', exact: true }).click();
    await dash.page.getByText(/Showing the first 262 kB/).waitFor();
    assert.equal((await dash.page.getByTestId('file-content').textContent())?.length, 256 * 1024);
    // A symlink opens what it points to.
    await dash.page.getByRole('button', { name: 'Up' }).click();
    await row('link').getByRole('button', { name: 'link', exact: true }).click();
    assert.equal(await dash.page.getByTestId('file-content').textContent(), hello);
  });

  test('the keyboard reaches a folder; a path typed in is opened; a missing one says so', async () => {
    await dash.page.getByLabel('Path in the container').fill('/data');
    await dash.page.getByLabel('Path in the container').press('Enter');
    await row('sub').getByRole('button', { name: 'sub/', exact: true }).focus();
    await dash.page.keyboard.press('Enter');
    await dash.page.getByRole('table', { name: 'Files in /data/sub' }).waitFor();
    await row('nested.txt').waitFor();
    await dash.page.getByLabel('Path in the container').fill('/no/such/path');
    await dash.page.getByRole('button', { name: 'Go' }).click();
    await dash.page.getByRole('alert').filter({ hasText: 'Could not find the file /no/such/path' }).waitFor({ timeout: 10_000 });
  });

  test('a file downloads as itself, a folder as a tar of what was copied in', async () => {
    await dash.page.getByLabel('Path in the container').fill('/data');
    await dash.page.getByRole('button', { name: 'Go' }).click();
    await row('hello.txt').waitFor();
    const [file] = await Promise.all([dash.page.waitForEvent('download'), row('hello.txt').getByRole('button', { name: 'Download hello.txt' }).click()]);
    assert.equal(file.suggestedFilename(), 'hello.txt');
    assert.equal(await readFile((await file.path())!, 'utf8'), hello);

    const [folder] = await Promise.all([dash.page.waitForEvent('download'), dash.page.getByRole('button', { name: 'Download folder (tar)' }).click()]);
    assert.equal(folder.suggestedFilename(), 'data.tar');
    const listing = execFileSync('tar', ['-tvf', (await folder.path())!], { encoding: 'utf8' });
    for (const n of ['data/hello.txt', 'data/blob.bin', 'data/sub/nested.txt']) assert.match(listing, new RegExp(`${n}$`, 'm'));
    assert.match(listing, /data\/link -> hello\.txt$/m);
    const out = execFileSync('tar', ['-xOf', (await folder.path())!, 'data/hello.txt'], { encoding: 'utf8' });
    assert.equal(out, hello);
  });
});

/**
 * The Builds page in web mode: a typed host folder (a tiny Dockerfile
 * context FROM the test busybox image) is packed by main and built by the
 * engine; the build shows as succeeded with its log, and the image appears
 * on the Images page. A failing RUN and a folder that does not exist fail
 * with the reason. A build keeps running in main while the page is left,
 * and the page follows its log again on return; the records are kept in
 * BERTH_HOME, so a restarted web server lists them.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { useAgent } from '../helpers/agent.js';
import { DockerCli } from '../helpers/docker.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { buildBusyboxImage, pushImage, type PushedImage } from '../helpers/test-images.js';
import { nav, openDashboard, screenshot, startWebMode, type WebMode } from './web-mode.js';

const agent = useAgent();

describe('dashboard builds, web mode', () => {
  let registry: TestRegistry;
  let web: WebMode;
  let browser: Browser;
  let page: Page;
  let docker: DockerCli;
  let image: PushedImage;
  let context: string;
  let home: string;
  let socket: string;
  const tag = `e2e-built-${process.pid}:v1`;
  const mark = `built-by-the-dashboard-${process.pid}`;

  before(async () => {
    const a = await agent.ready;
    registry = await startRegistry();
    image = await pushImage({ url: registry.url }, 'e2e/busybox', 'v1', await buildBusyboxImage({ layerCount: 1 }));
    docker = new DockerCli(a.socket);
    await docker.ok(['pull', image.ref]);
    context = await mkdtemp(join(tmpdir(), 'berth-build-ctx-'));
    await writeFile(join(context, 'Dockerfile'), `FROM ${image.ref}\nCOPY hello.txt /hello.txt\nRUN echo ${mark}\nCMD ["cat", "/hello.txt"]\n`);
    await writeFile(join(context, 'hello.txt'), `${mark}\n`);
    socket = a.socket;
    home = await mkdtemp(join(tmpdir(), 'berth-builds-home-'));
    ({ web, browser, page } = await openDashboard(a.socket, { BERTH_HOME: home }));
  });

  after(async () => {
    await browser?.close();
    await web?.stop();
    await registry?.stop();
    await docker?.run(['rmi', '-f', tag]);
    docker?.dispose();
    if (context) await rm(context, { recursive: true, force: true });
    if (home) await rm(home, { recursive: true, force: true });
  });

  async function buildThroughDialog(folder: string, t: string): Promise<void> {
    await nav(page, 'Builds');
    await page.getByRole('button', { name: 'Build…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Folder').fill(folder);
    await dialog.getByLabel('Tag').fill(t);
    assert.equal(await dialog.getByTestId('build-command').textContent(), `DOCKER_BUILDKIT=0 docker build -t ${t} ${folder}`);
    await dialog.getByRole('button', { name: 'Build', exact: true }).click();
  }

  test('a typed folder builds, with its log, and the image is listed', async () => {
    await buildThroughDialog(context, tag);
    const row = page.locator(`tr[data-tag="${tag}"]`);
    await row.getByTestId('build-status').and(page.locator(':text-is("succeeded")')).waitFor({ timeout: 60_000 });
    const log = (await page.getByTestId('build-log').textContent()) ?? '';
    assert.match(log, /Step 3\/4 : RUN echo/);
    assert.match(log, new RegExp(mark));
    assert.match(log, /Successfully tagged/);
    await screenshot(page, 'builds');

    // The image is real: in the engine, and its CMD prints the copied file.
    const run = await docker.ok(['run', '--rm', tag]);
    assert.equal(run.stdout.trim(), mark);
    await nav(page, 'Images');
    await page.locator(`tr[data-ref="${tag}"]`).waitFor({ timeout: 10_000 });
  });

  test("a failing RUN shows as failed, with the builder's message in the log", async () => {
    const bad = join(context, 'bad');
    await mkdir(bad);
    await writeFile(join(bad, 'Dockerfile'), `FROM ${image.ref}\nRUN echo about-to-fail && exit 3\n`);
    const badTag = `e2e-failing-${process.pid}:v1`;
    await buildThroughDialog(bad, badTag);
    const row = page.locator(`tr[data-tag="${badTag}"]`);
    await row.getByTestId('build-status').and(page.locator(':text-is("failed")')).waitFor({ timeout: 60_000 });
    const log = (await page.getByTestId('build-log').textContent()) ?? '';
    assert.match(log, /about-to-fail/);
    assert.match(log, /ERROR: .*non-zero code: 3/);
    // The earlier build is still listed as it was.
    await page.locator(`tr[data-tag="${tag}"]`).getByTestId('build-status').and(page.locator(':text-is("succeeded")')).waitFor();
  });

  test('a folder that does not exist fails with the reason', async () => {
    await buildThroughDialog(join(context, 'nope'), `e2e-never-${process.pid}`);
    await page.getByRole('alert').filter({ hasText: 'no such folder' }).waitFor({ timeout: 10_000 });
  });

  test('a build goes on while the page is left, and its log is followed again on return', async () => {
    const slow = join(context, 'slow');
    await mkdir(slow);
    // The output is arithmetic the shell does, so the step line that echoes the command never matches it.
    await writeFile(join(slow, 'Dockerfile'), `FROM ${image.ref}\nRUN echo begun-$((1+1)) && sleep 4 && echo done-$((2+2))-${process.pid}\n`);
    const slowTag = `e2e-slow-${process.pid}:v1`;
    await buildThroughDialog(slow, slowTag);
    const row = page.locator(`tr[data-tag="${slowTag}"]`);
    await row.locator('[data-status="running"]').waitFor({ timeout: 30_000 });
    await page.getByTestId('build-log').filter({ hasText: 'begun-2' }).waitFor({ timeout: 30_000 });
    assert.doesNotMatch((await page.getByTestId('build-log').textContent()) ?? '', /done-4/);
    // Away while it runs (the page's stream is cancelled), then back.
    await nav(page, 'Images');
    await page.locator('#images-title').waitFor();
    await nav(page, 'Builds');
    await row.click();
    await row.locator('[data-status="succeeded"]').waitFor({ timeout: 60_000 });
    const log = (await page.getByTestId('build-log').textContent()) ?? '';
    assert.match(log, new RegExp(`done-4-${process.pid}`));
    assert.match(log, /Successfully tagged/);
    await docker.run(['rmi', '-f', slowTag]);
  });

  test('records survive a restart of the web server', async () => {
    const files = (await readdir(join(home, 'builds'))).filter((f) => f.endsWith('.json'));
    assert.equal(files.length, 3, `one record file per build: ${files.join(', ')}`);
    await web.stop();
    web = await startWebMode(['--engine-socket', socket], { BERTH_BUNDLED_IMAGES: join(tmpdir(), 'berth-no-bundled-images'), BERTH_HOME: home });
    await page.goto(web.url);
    await nav(page, 'Builds');
    await page.locator(`tr[data-tag="${tag}"]`).locator('[data-status="succeeded"]').waitFor({ timeout: 15_000 });
    await page.locator(`tr[data-tag="e2e-failing-${process.pid}:v1"]`).locator('[data-status="failed"]').waitFor();
    await page.locator(`tr[data-tag="${tag}"]`).click();
    assert.match((await page.getByTestId('build-log').textContent()) ?? '', /Successfully tagged/);
  });
});

/**
 * The first run in web mode: the bundled images (built by resources/images
 * into a fresh directory) are loaded into an empty engine, the welcome page
 * opens by itself, its tutorial button runs berth/getting-started with a
 * published port (falling back from a busy port 80), and hello-world's
 * message appears. Dismissing the page is remembered.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { useAgent } from '../helpers/agent.js';
import { DockerCli } from '../helpers/docker.js';
import { buildBundledImages, launchChromium, nav, screenshot, startWebMode, type WebMode } from './web-mode.js';

const agent = useAgent();

/** Holds 0.0.0.0:80 so the tutorial must fall back; undefined if something else already has it (the fallback happens anyway). */
async function occupyPort80(): Promise<Server | undefined> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen(80, '0.0.0.0', () => resolve(server));
  });
}

describe('dashboard first run, web mode', () => {
  let web: WebMode;
  let browser: Browser;
  let page: Page;
  let docker: DockerCli;
  let bundled: string;
  let port80: Server | undefined;
  let home: string;

  before(async () => {
    const a = await agent.ready;
    docker = new DockerCli(a.socket);
    bundled = await mkdtemp(join(tmpdir(), 'berth-bundled-'));
    home = await mkdtemp(join(tmpdir(), 'berth-home-'));
    await buildBundledImages(bundled);
    // A fresh BERTH_HOME and a fresh engine: the first run as a new user sees it.
    web = await startWebMode(['--engine-socket', a.socket], { BERTH_BUNDLED_IMAGES: bundled, BERTH_HOME: home });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
  });

  after(async () => {
    port80?.close();
    await browser?.close();
    await web?.stop();
    await docker?.run(['rm', '-f', 'getting-started']);
    docker?.dispose();
    if (bundled) await rm(bundled, { recursive: true, force: true });
    if (home) await rm(home, { recursive: true, force: true });
  });

  test('the engine gets the bundled images without being asked', async () => {
    const deadline = Date.now() + 30_000;
    let tags = '';
    while (Date.now() < deadline) {
      tags = (await docker.ok(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout;
      if (/berth\/getting-started:latest/.test(tags) && /berth\/hello-world:latest/.test(tags)) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.fail(`the bundled images were not loaded in 30 s; the engine has:\n${tags}`);
  });

  test('the welcome page opens first; the tutorial button runs the tutorial and links to it', async () => {
    // Removed images come back on the tutorial button (loaded again "whenever missing").
    await docker.ok(['rmi', 'berth/getting-started:latest', 'berth/getting-started:0.1.0']);
    port80 = await occupyPort80();
    await page.goto(web.url);
    await page.getByRole('heading', { name: 'Welcome to Berth' }).waitFor();
    await page.getByTestId('engine-status').and(page.locator('[data-state="running"]')).waitFor({ timeout: 15_000 });
    assert.equal(await page.getByTestId('tutorial-command').textContent(), 'docker run -d -p 80:80 --name getting-started berth/getting-started');

    const popup = page
      .context()
      .waitForEvent('page', { timeout: 30_000 })
      .catch(() => undefined);
    await page.getByRole('button', { name: 'Run the tutorial' }).click();
    const link = page.getByTestId('tutorial-link');
    await link.waitFor({ timeout: 30_000 });
    const url = new URL((await link.getAttribute('href')) ?? '');
    const port = Number(url.port || 80);
    assert.equal(url.hostname, 'localhost');
    assert.match(
      (await page.getByTestId('tutorial-command').textContent()) ?? '',
      new RegExp(`^docker run -d -p ${port}:80 --name getting-started berth/getting-started$`),
    );
    // Port 80 is held by this test (or by someone else): the notice says why another port is used.
    if (port !== 80)
      await page
        .getByRole('status')
        .filter({ hasText: `on port ${port} instead` })
        .waitFor();
    else assert.equal(port80, undefined, 'port 80 was held, yet the tutorial claims it');

    const inspect = JSON.parse((await docker.ok(['inspect', 'getting-started'])).stdout) as {
      State: { Running: boolean };
      NetworkSettings: { Ports: Record<string, { HostPort: string }[]> };
    }[];
    assert.equal(inspect[0]!.State.Running, true);
    assert.equal(inspect[0]!.NetworkSettings.Ports['80/tcp']?.[0]?.HostPort, String(port));

    // The page the link opens serves the tutorial (checked by its content, fetched from here).
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /<h1>Getting started with containers/);
    const opened = await popup;
    console.log(`# the browser opened ${opened ? opened.url() : 'no tab (popup not observed)'}`);
    await opened?.close();

    // The tutorial in the browser: English first, the language switch goes to
    // Simplified Chinese and is remembered on the next visit to the front page.
    const site = await browser.newPage();
    try {
      await site.goto(`http://127.0.0.1:${port}/`);
      assert.equal(await site.locator('html').getAttribute('lang'), 'en');
      assert.equal((await site.locator('h1').first().textContent())?.trim(), 'Getting started with containers');
      await Promise.all([site.waitForURL(/\/zh\//), site.locator('.lang-switch').click()]);
      assert.equal(await site.locator('html').getAttribute('lang'), 'zh-Hans');
      assert.equal((await site.locator('h1').first().textContent())?.trim(), '容器入门');
      await site.goto(`http://127.0.0.1:${port}/`);
      await site.waitForURL(/\/zh\//);
      assert.equal((await site.locator('h1').first().textContent())?.trim(), '容器入门', 'the choice is remembered');
    } finally {
      await site.close();
    }
    await screenshot(page, 'welcome-tutorial');
  });

  test('hello-world shows its message, and leaves no container behind', async () => {
    await page.getByRole('button', { name: 'Run hello-world' }).click();
    const out = page.getByTestId('hello-output');
    await out.waitFor({ timeout: 30_000 });
    const text = (await out.textContent()) ?? '';
    assert.ok(text.trim().split('\n').length >= 3, `hello-world printed:\n${text}`);
    const expected = (await docker.ok(['run', '--rm', 'berth/hello-world'])).stdout.trim();
    assert.equal(text.trim(), expected);
    assert.doesNotMatch((await docker.ok(['ps', '-a', '--format', '{{.Image}}'])).stdout, /hello-world/);
    await screenshot(page, 'welcome-hello');
  });

  test('dismissing the welcome page is remembered; it stays in the sidebar', async () => {
    await page.getByRole('button', { name: "Don't show this at start" }).click();
    await page.getByRole('heading', { name: 'Containers' }).waitFor();
    await page.goto(web.origin + '/');
    await page.getByRole('heading', { name: 'Containers' }).waitFor();
    await page.locator('tr[data-name="getting-started"]').waitFor({ timeout: 10_000 });
    await nav(page, 'Getting started');
    await page.getByRole('heading', { name: 'Welcome to Berth' }).waitFor();
    await nav(page, 'Troubleshoot');
    await page.getByTestId('troubleshoot-state').filter({ hasText: 'running' }).waitFor();
    await screenshot(page, 'troubleshoot');
  });
});

/**
 * The dashboard in web mode, end to end: the real CLI (`berth web
 * --engine-socket`) in front of a native agent, a real registry holding a
 * busybox image, and Debian's Chromium driven by playwright-core.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { useAgent } from '../helpers/agent.js';
import { DockerCli } from '../helpers/docker.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { buildBusyboxImage, pushImage, type PushedImage } from '../helpers/test-images.js';
import { launchChromium, nav, screenshot, startWebMode, type WebMode } from './web-mode.js';

const agent = useAgent();

/** A raw request (fetch cannot set Host). */
function rawRequest(port: number, method: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    r.on('error', reject);
    r.end();
  });
}

describe('dashboard, web mode', () => {
  let registry: TestRegistry;
  let web: WebMode;
  let browser: Browser;
  let page: Page;
  let docker: DockerCli;
  let first: PushedImage;
  let second: PushedImage;

  before(async () => {
    const a = await agent.ready;
    registry = await startRegistry();
    const image = await buildBusyboxImage({ layerCount: 2 });
    first = await pushImage({ url: registry.url }, 'e2e/busybox', 'v1', image);
    second = await pushImage({ url: registry.url }, 'e2e/from-cli', 'v1', await buildBusyboxImage({ layerCount: 3 }));
    // No bundled images: this suite starts from an empty image list.
    web = await startWebMode(['--engine-socket', a.socket], { BERTH_BUNDLED_IMAGES: join(tmpdir(), 'berth-no-bundled-images') });
    docker = new DockerCli(a.socket);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  });

  after(async () => {
    await browser?.close();
    await web?.stop();
    await registry?.stop();
    docker?.dispose();
  });

  test('without the token header every API request is refused with 401, whatever else it carries', async () => {
    const wrong = 'x'.repeat(web.token.length);
    for (const [method, path] of [
      ['GET', '/api/call/engineState'],
      ['POST', '/api/call/engineState'],
      ['POST', '/api/stream/engineStates'],
    ] as const) {
      for (const headers of [
        {},
        { 'x-berth-token': wrong },
        { cookie: `berth_token_${web.port}=${web.token}` },
        { authorization: `Bearer ${web.token}` },
      ] as Record<string, string>[]) {
        const res = await fetch(`${web.origin}${path}`, { method, headers });
        assert.equal(res.status, 401, `${method} ${path} ${JSON.stringify(headers)}`);
        assert.match(await res.text(), /Unauthorized/);
      }
      const query = await fetch(`${web.origin}${path}?token=${web.token}`, { method });
      assert.equal(query.status, 401, `${method} ${path}?token=`);
    }
    // A WebSocket cannot set the header, and the server upgrades nothing: the attempt is refused like any call.
    const upgrade = {
      host: `127.0.0.1:${web.port}`,
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    };
    assert.equal((await rawRequest(web.port, 'GET', '/api/stream/engineStates', upgrade)).status, 401);
    assert.equal(
      (await rawRequest(web.port, 'GET', '/api/stream/engineStates', { ...upgrade, 'sec-websocket-protocol': `berth, token.${web.token}` })).status,
      401,
    );
    const ok = await fetch(`${web.origin}/api/call/engineState`, {
      method: 'POST',
      headers: { 'x-berth-token': web.token, 'content-type': 'application/json' },
      body: '[]',
    });
    assert.equal(ok.status, 200, 'the same call with the header passes');
  });

  test('a foreign Host or Origin is refused with 403, even with the token', async () => {
    const auth = { 'x-berth-token': web.token };
    assert.equal((await rawRequest(web.port, 'GET', '/', { ...auth, host: `attacker.example:${web.port}` })).status, 403);
    assert.equal((await rawRequest(web.port, 'GET', '/', { host: `attacker.example:${web.port}` })).status, 403, 'static files too');
    const csrf = await rawRequest(web.port, 'POST', '/api/call/docker', { ...auth, host: `127.0.0.1:${web.port}`, origin: 'http://attacker.example' });
    assert.equal(csrf.status, 403);
    // The same requests from our own host and origin pass.
    const ok = await rawRequest(web.port, 'POST', '/api/call/engineState', { ...auth, host: `localhost:${web.port}`, origin: `http://localhost:${web.port}` });
    assert.equal(ok.status, 200, ok.body);
  });

  test('the printed link keeps the token in its fragment; the page itself needs none and sets no cookie', async () => {
    const u = new URL(web.url);
    assert.equal(u.pathname + u.search, '/', 'nothing of the token is sent to the server');
    const res = await fetch(web.url, { redirect: 'manual' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('set-cookie'), null);
    const html = await res.text();
    assert.match(html, /<div id="root">/);
    assert.ok(!html.includes(web.token), 'the page holds no secret');
  });

  test('the Images page is empty, then pulling shows per-layer progress and the image', async () => {
    await page.goto(web.url);
    await page.waitForFunction('location.hash === ""');
    assert.ok(!page.url().includes(web.token), 'the token left the address bar');
    assert.deepEqual(await page.context().cookies(), [], 'no cookie at all');
    await page.getByTestId('engine-status').and(page.locator('[data-state="running"]')).waitFor({ timeout: 15_000 });
    await nav(page, 'Images');
    await page.getByText('No images yet').waitFor();
    assert.equal(await page.locator('table[aria-label="Images"] tbody tr').count(), 0);

    await page.getByLabel('Image to pull').fill(first.ref);
    await page.getByRole('button', { name: 'Pull', exact: true }).click();
    const progress = page.getByTestId('pull-progress');
    await progress.and(page.locator('[data-done="true"]')).waitFor({ timeout: 30_000 });
    const layers = page.getByTestId('layer-progress');
    assert.equal(await layers.count(), 2, 'one bar per layer of the image');
    for (const l of await layers.all()) {
      assert.match((await l.textContent()) ?? '', /Pull complete/);
      assert.equal(await l.getByRole('progressbar').getAttribute('aria-valuenow'), '100');
    }
    assert.match((await progress.textContent()) ?? '', /Status: Downloaded newer image/);
    const row = page.locator(`tr[data-ref="${first.ref}"]`);
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', new RegExp(`${registry.domain}/e2e/busybox\\s*v1`));

    await screenshot(page, 'images');
  });

  test('an image pulled with the docker CLI appears without a reload (events)', async () => {
    const navigations: string[] = [];
    page.on('framenavigated', (f) => navigations.push(f.url()));
    await docker.ok(['pull', second.ref]);
    await page.locator(`tr[data-ref="${second.ref}"]`).waitFor({ timeout: 10_000 });
    assert.deepEqual(navigations, [], 'the page was not reloaded');
  });

  test('deleting an image from the table removes it', async () => {
    await page.getByRole('button', { name: `Delete ${second.ref}` }).click();
    await page.locator(`tr[data-ref="${second.ref}"]`).waitFor({ state: 'detached', timeout: 10_000 });
    await page
      .getByRole('status')
      .filter({ hasText: `Deleted ${second.ref}` })
      .waitFor();
    const left = await docker.ok(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.deepEqual(left.stdout.trim().split('\n'), [first.ref]);
  });

  test('an engine refusal reaches the page with its status and message', async () => {
    // Two tags on one image: deleting by ID without force is refused by the engine (409).
    await docker.ok(['tag', first.ref, 'e2e/alias:v1']);
    await page.locator('tr[data-ref="e2e/alias:v1"]').waitFor({ timeout: 10_000 });
    const id = (await docker.ok(['image', 'inspect', '--format', '{{.Id}}', first.ref])).stdout.trim();
    const res = await page.evaluate(
      async ({ ref, token }) => {
        const r = await fetch('/api/call/docker', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-berth-token': token },
          body: JSON.stringify([{ method: 'DELETE', path: `/images/${ref}` }]),
        });
        return (await r.json()) as { ok: boolean; value: { status: number; body: { message: string } } };
      },
      { ref: id, token: web.token },
    );
    assert.equal(res.ok, true);
    assert.equal(res.value.status, 409);
    assert.match(res.value.body.message, /must be forced|referenced in multiple repositories/);
  });
});

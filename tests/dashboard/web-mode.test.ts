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

  test('without the token every request is refused with 401', async () => {
    for (const [method, path] of [['GET', '/'], ['GET', '/assets/x.js'], ['POST', '/api/call/engineState'], ['POST', '/api/stream/engineStates']] as const) {
      const res = await fetch(`${web.origin}${path}`, { method });
      assert.equal(res.status, 401, `${method} ${path}`);
      assert.match(await res.text(), /Unauthorized/);
    }
    const wrong = await fetch(`${web.origin}/?token=${'x'.repeat(web.token.length)}`, { redirect: 'manual' });
    assert.equal(wrong.status, 401);
  });

  test('a foreign Host or Origin is refused with 403, even with the token', async () => {
    const auth = { 'x-berth-token': web.token };
    assert.equal((await rawRequest(web.port, 'GET', '/', { ...auth, host: `attacker.example:${web.port}` })).status, 403);
    assert.equal((await rawRequest(web.port, 'GET', `/?token=${web.token}`, { host: `attacker.example:${web.port}` })).status, 403);
    const csrf = await rawRequest(web.port, 'POST', '/api/call/docker', { ...auth, host: `127.0.0.1:${web.port}`, origin: 'http://attacker.example' });
    assert.equal(csrf.status, 403);
    // The same requests from our own host and origin pass.
    const ok = await rawRequest(web.port, 'POST', '/api/call/engineState', { ...auth, host: `localhost:${web.port}`, origin: `http://localhost:${web.port}` });
    assert.equal(ok.status, 200, ok.body);
  });

  test('the printed link sets an HttpOnly SameSite=Strict cookie and drops the token from the address', async () => {
    const res = await fetch(web.url, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/');
    const cookie = res.headers.get('set-cookie') ?? '';
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const page2 = await fetch(`${web.origin}/`, { headers: { cookie: cookie.split(';')[0]! } });
    assert.equal(page2.status, 200);
    assert.match(await page2.text(), /<div id="root">/);
  });

  test('the Images page is empty, then pulling shows per-layer progress and the image', async () => {
    await page.goto(web.url);
    assert.equal(new URL(page.url()).search, '', 'the token left the address bar');
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
    await page.getByRole('status').filter({ hasText: `Deleted ${second.ref}` }).waitFor();
    const left = await docker.ok(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.deepEqual(left.stdout.trim().split('\n'), [first.ref]);
  });

  test('an engine refusal reaches the page with its status and message', async () => {
    // Two tags on one image: deleting by ID without force is refused by the engine (409).
    await docker.ok(['tag', first.ref, 'e2e/alias:v1']);
    await page.locator('tr[data-ref="e2e/alias:v1"]').waitFor({ timeout: 10_000 });
    const id = (await docker.ok(['image', 'inspect', '--format', '{{.Id}}', first.ref])).stdout.trim();
    const res = await page.evaluate(async (ref) => {
      const r = await fetch('/api/call/docker', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ method: 'DELETE', path: `/images/${ref}` }]) });
      return (await r.json()) as { ok: boolean; value: { status: number; body: { message: string } } };
    }, id);
    assert.equal(res.ok, true);
    assert.equal(res.value.status, 409);
    assert.match(res.value.body.message, /must be forced|referenced in multiple repositories/);
  });
});

/**
 * Where web mode's token goes, and where it does not (issue #15): the real
 * CLI opens "the browser" through a stand-in xdg-open on PATH that records
 * its argv; Chromium then opens what it was given. Another server on
 * 127.0.0.1 (as a container's published port would be) must receive nothing
 * of the token, the dashboard must survive a reload, and the API must refuse
 * a request without the token even from the dashboard's own browser.
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { useAgent } from '../helpers/agent.js';
import { launchChromium, startWebMode, type WebMode } from './web-mode.js';

const agent = useAgent();

/** The stand-in for xdg-open: writes its argv, one argument a line, and opens nothing. */
const FAKE_OPENER = `#!/bin/sh
printf '%s\\n' "$0" "$@" > "$BERTH_TEST_OPENED.tmp" && mv "$BERTH_TEST_OPENED.tmp" "$BERTH_TEST_OPENED"
`;

async function waitForFile(path: string, ms = 15_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text !== undefined) return text;
    if (Date.now() > deadline) throw new Error(`${path} did not appear in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A plain page on another loopback port that records the headers of every request it gets. */
async function startOtherServer(): Promise<{ origin: string; seen: IncomingHttpHeaders[]; server: Server }> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>other</title><img src="/pixel.png"><p>another server</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no port');
  return { origin: `http://127.0.0.1:${addr.port}`, seen, server };
}

describe('dashboard, web mode: the token', () => {
  let work: string;
  let home: string;
  let opened: string;
  let web: WebMode;
  let browser: Browser;
  let page: Page;
  let other: Awaited<ReturnType<typeof startOtherServer>>;

  before(async () => {
    const a = await agent.ready;
    work = await mkdtemp(join(tmpdir(), 'berth-web-token-'));
    home = join(work, 'home');
    opened = join(work, 'opened.txt');
    const bin = join(work, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'xdg-open'), FAKE_OPENER);
    await chmod(join(bin, 'xdg-open'), 0o755);
    web = await startWebMode(
      ['--engine-socket', a.socket],
      { BERTH_HOME: home, BERTH_TEST_OPENED: opened, PATH: `${bin}:${process.env.PATH}`, BERTH_BUNDLED_IMAGES: join(tmpdir(), 'berth-no-bundled-images') },
      { open: true },
    );
    other = await startOtherServer();
    browser = await launchChromium();
    // A context of its own: the other server's tab shares its cookies, as a user's browser would.
    page = await (await browser.newContext({ viewport: { width: 1280, height: 820 } })).newPage();
  });

  after(async () => {
    await browser?.close();
    await web?.stop();
    other?.server.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const launchPage = () => join(home, 'run', `dashboard-${web.port}.html`);

  test('the browser is given a 0600 launch page under $BERTH_HOME/run, and no argv holds the token', async () => {
    const argv = (await waitForFile(opened)).trimEnd().split('\n');
    assert.deepEqual(argv.slice(1), [launchPage()], 'xdg-open is given the launch page only');
    assert.ok(!argv.some((a) => a.includes(web.token)), 'the token is in no argument');
    const info = await stat(launchPage());
    assert.equal(info.mode & 0o777, 0o600);
    assert.ok((await readFile(launchPage(), 'utf8')).includes(web.token), 'the token is in the file instead');
  });

  test('the launch page lands on the dashboard, which drops the token from the address and sets no cookie', async () => {
    await page.goto(pathToFileURL(launchPage()).href);
    await page.waitForURL(`${web.origin}/`);
    await page.getByTestId('engine-status').and(page.locator('[data-state="running"]')).waitFor({ timeout: 15_000 });
    assert.equal(page.url(), `${web.origin}/`);
    assert.deepEqual(await page.context().cookies(), []);
  });

  test('another server on 127.0.0.1 receives nothing of the token', async () => {
    const tab = await page.context().newPage();
    await tab.goto(other.origin);
    await tab.waitForLoadState('networkidle');
    // From the dashboard's own tab too: a link followed, as a user would to a published port.
    await page.evaluate(`fetch(${JSON.stringify(other.origin + '/from-dashboard')}, { mode: 'no-cors', credentials: 'include' })`);
    await page.evaluate(`new Promise((r) => { const i = new Image(); i.onload = i.onerror = r; i.src = ${JSON.stringify(other.origin + '/img')}; })`);
    await tab.close();
    assert.ok(other.seen.length >= 3, `the other server was reached (${other.seen.length} requests)`);
    for (const h of other.seen) {
      assert.equal(h.cookie, undefined, `no cookie: ${JSON.stringify(h)}`);
      assert.ok(!JSON.stringify(h).includes(web.token), `no token in ${JSON.stringify(h)}`);
      assert.equal(h['x-berth-token'], undefined);
    }
  });

  test('a reload keeps the dashboard working (sessionStorage), and the API still needs the token', async () => {
    await page.reload();
    await page.getByTestId('engine-status').and(page.locator('[data-state="running"]')).waitFor({ timeout: 15_000 });
    assert.equal(page.url(), `${web.origin}/`);
    // A call through the page's own client after the reload: the Images page lists from the API.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Images' }).click();
    await page.getByText('No images yet').waitFor({ timeout: 10_000 });
    // The browser context's own requests (its cookies, were there any) without the header are refused.
    const bare = await page.request.post(`${web.origin}/api/call/engineState`, { data: [], headers: { origin: web.origin } });
    assert.equal(bare.status(), 401);
    const fromPage = await page.evaluate(
      `fetch('/api/call/engineState', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' }).then((r) => r.status)`,
    );
    assert.equal(fromPage, 401, 'a same-origin fetch without the header');
  });

  test('stopping web mode removes the launch page', async () => {
    await web.stop();
    await assert.rejects(stat(launchPage()), /ENOENT/);
  });
});

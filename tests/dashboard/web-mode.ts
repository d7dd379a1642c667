/**
 * `berth web` as a user starts it, from the source tree (tsx): the real CLI
 * against an engine socket, its printed `Dashboard:` link parsed. Needs the
 * renderer built (`npm run build:renderer`).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';
import { REPO_ROOT } from '../helpers/agent.js';
import { reap } from '../helpers/reaper.js';

export interface WebMode {
  url: string;
  /** `http://127.0.0.1:PORT` */
  origin: string;
  port: number;
  /** From the link's fragment (`#token=`). */
  token: string;
  output(): string;
  stop(): Promise<void>;
}

/** `open`: let the CLI open "the browser" (the test puts its own xdg-open on PATH); default --no-open. */
export async function startWebMode(args: string[], env: Record<string, string> = {}, opts: { open?: boolean } = {}): Promise<WebMode> {
  if (!existsSync(join(REPO_ROOT, 'apps/renderer/dist/index.html'))) {
    throw new Error('apps/renderer/dist is missing: build the renderer first (npm run build:renderer)');
  }
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'apps/main/src/cli.ts'), 'web', ...(opts.open ? [] : ['--no-open']), ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  reap(child);
  let out = '';
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`berth web printed no Dashboard line in 30 s:\n${out}`)), 30_000);
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /^Dashboard: (http:\/\/127\.0\.0\.1:\d+\/#token=\S+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`berth web exited (${code}) before serving:\n${out}`)));
  });
  const u = new URL(url);
  return {
    url,
    origin: u.origin,
    port: Number(u.port),
    token: new URLSearchParams(u.hash.slice(1)).get('token')!,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Debian's Chromium, headless, driven by playwright-core. */
export function launchChromium(): Promise<import('playwright-core').Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--no-first-run'],
  });
}

/** Saves a full-page screenshot under tests/e2e/screenshots/ (not committed) and prints where. */
export async function screenshot(page: import('playwright-core').Page, name: string): Promise<string> {
  const dir = join(REPO_ROOT, 'tests/e2e/screenshots');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`# screenshot: ${file}`);
  return file;
}

/**
 * Builds the bundled images (resources/images) into a fresh directory with
 * the project's own builder, for BERTH_BUNDLED_IMAGES; throws with its output
 * when the build fails.
 */
export async function buildBundledImages(outDir: string): Promise<void> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'resources/images/build.ts'), '--out', outDir, '--cache', join(tmpdir(), 'berth-bundled-images-cache')],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  reap(child);
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`building the bundled images failed (${code}):\n${out}`);
}

/** Opens a page from the sidebar. */
export async function nav(page: import('playwright-core').Page, title: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: title }).click();
}

export interface OpenDashboard {
  web: WebMode;
  browser: import('playwright-core').Browser;
  page: import('playwright-core').Page;
}

/** Web mode on an engine socket, without bundled images, opened in Chromium with the engine shown running. */
export async function openDashboard(socket: string, env: Record<string, string> = {}): Promise<OpenDashboard> {
  const web = await startWebMode(['--engine-socket', socket], { BERTH_BUNDLED_IMAGES: join(tmpdir(), 'berth-no-bundled-images'), ...env });
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
  await page.goto(web.url);
  await page.getByTestId('engine-status').and(page.locator('[data-state="running"]')).waitFor({ timeout: 15_000 });
  return { web, browser, page };
}

/**
 * Inside a describe(): opens the dashboard on the agent before the tests and
 * closes it after; `page` is set once `before` has run.
 */
export function useDashboard(
  agentReady: Promise<{ socket: string }>,
  env: () => Record<string, string> = () => ({}),
): { readonly page: import('playwright-core').Page } {
  let open: OpenDashboard | undefined;
  before(async () => {
    open = await openDashboard((await agentReady).socket, env());
  });
  after(async () => {
    await open?.browser.close();
    await open?.web.stop();
  });
  return {
    get page() {
      if (!open) throw new Error('the dashboard is not open yet (use it inside a test)');
      return open.page;
    },
  };
}

/**
 * The engine the settings choose: `berth web` with no engine flag and
 * settings.json saying `engineMode: native` runs the agent natively on this
 * host (root, Linux), and a saved change offers "Restart now", which
 * restarts that engine from the dashboard and brings it back running.
 * A temp BERTH_HOME and DOCKER_CONFIG keep the user's own untouched.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, nav, startWebMode, type WebMode } from './web-mode.js';

describe('dashboard engine mode from settings, web mode', () => {
  let work: string;
  let web: WebMode;
  let browser: Browser;
  let page: Page;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'berth-engine-mode-'));
    const home = join(work, 'home');
    await mkdir(home);
    await writeFile(join(home, 'settings.json'), JSON.stringify({ engineMode: 'native' }));
    web = await startWebMode([], {
      BERTH_HOME: home,
      DOCKER_CONFIG: join(work, 'docker-config'),
      BERTH_BUNDLED_IMAGES: join(tmpdir(), 'berth-no-bundled-images'),
    });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
    await page.goto(web.url);
  });

  after(async () => {
    await browser?.close();
    await web?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('settings choose the native engine; Restart now applies a change and the engine comes back', async () => {
    await page.getByTestId('engine-status').and(page.locator('[data-state="running"]')).waitFor({ timeout: 60_000 });
    await page.getByText('native engine', { exact: true }).waitFor();
    await nav(page, 'Settings');
    assert.equal(await page.getByLabel('Native (this Linux host)').isChecked(), true);
    await page.getByLabel('CPUs').fill('3');
    await page.getByRole('button', { name: 'Save' }).click();
    const step = page.getByTestId('restart-needed');
    await step.filter({ hasText: 'Running containers stop' }).waitFor({ timeout: 10_000 });
    assert.equal(JSON.parse(await readFile(join(work, 'home', 'settings.json'), 'utf8')).cpus, 3);
    await step.getByRole('button', { name: 'Restart now' }).click();
    await page.getByText('The engine restarted with the new settings.').waitFor({ timeout: 60_000 });
    await step.waitFor({ state: 'detached' });
    await page.getByTestId('engine-status').and(page.locator('[data-state="running"]')).waitFor({ timeout: 30_000 });
    assert.match(web.output(), /engine: running/);
  });
});

/**
 * The Settings page in web mode: a change is validated and saved by main into
 * $BERTH_HOME/settings.json (with the "next VM start" note); an out-of-range
 * value is refused with main's message and the file keeps the last good
 * value. Start at login is Electron's and does not show here.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { useAgent } from '../helpers/agent.js';
import { nav, openDashboard, screenshot, type WebMode } from './web-mode.js';

const agent = useAgent();

describe('dashboard settings, web mode', () => {
  let web: WebMode;
  let browser: Browser;
  let page: Page;
  let home: string;

  before(async () => {
    const a = await agent.ready;
    home = await mkdtemp(join(tmpdir(), 'berth-settings-home-'));
    ({ web, browser, page } = await openDashboard(a.socket, { BERTH_HOME: home }));
    await nav(page, 'Settings');
  });

  after(async () => {
    await browser?.close();
    await web?.stop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  test('a change is saved to settings.json and applies at the next VM start', async () => {
    await page.getByLabel(/^CPUs/).fill('3');
    await page.getByLabel(/^Memory/).fill('3072');
    await page.getByLabel(/^Accelerator/).selectOption('tcg');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'next start' }).waitFor({ timeout: 10_000 });
    const saved = JSON.parse(await readFile(join(home, 'settings.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(saved.cpus, 3);
    assert.equal(saved.memoryMiB, 3072);
    assert.equal(saved.accelerator, 'tcg');
    assert.equal(await page.getByText('Start Berth when I log in').count(), 0);
    await screenshot(page, 'settings');
  });

  test('an out-of-range value is refused with the reason and not saved', async () => {
    await page.getByLabel(/^CPUs/).fill('500');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('alert').filter({ hasText: 'cpus' }).waitFor({ timeout: 10_000 });
    const saved = JSON.parse(await readFile(join(home, 'settings.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(saved.cpus, 3);
  });
});

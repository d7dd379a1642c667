/**
 * The Settings page in web mode: a change is validated and saved by main into
 * $BERTH_HOME/settings.json (with the "next VM start" note); an out-of-range
 * value is refused with main's message and the file keeps the last good
 * value. Start at login is Electron's and does not show here. File sharing
 * takes existing absolute folders (main refuses a missing or nested one),
 * and the engine mode (native: this test runs as root on Linux) is saved
 * with a "restart needed" step, whose button this engine (a socket given on
 * the command line) cannot use, and says so.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
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

  test('file sharing: an existing folder is added; a missing or nested one is refused with the reason', async () => {
    const list = page.getByRole('list', { name: 'Shared folders' });
    assert.deepEqual(await list.getByRole('listitem').allTextContents(), [`${homedir()} Remove`]);
    const shared = join(home, 'shared');
    await mkdir(shared);
    await page.getByLabel('CPUs').fill('3');
    const add = async (path: string) => {
      await page.getByLabel('Folder to share').fill(path);
      await page.getByRole('button', { name: 'Add', exact: true }).click();
    };
    await add(shared);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'next start' }).waitFor({ timeout: 10_000 });
    let saved = JSON.parse(await readFile(join(home, 'settings.json'), 'utf8')) as { fileShares: string[] };
    assert.deepEqual(saved.fileShares, [homedir(), shared]);
    await page.getByTestId('restart-needed').waitFor();

    await add(join(home, 'missing'));
    await page.getByRole('button', { name: 'Save' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: /fileShares: ".*missing" does not exist/ })
      .waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: `Remove ${join(home, 'missing')}` }).click();

    await add(join(shared, 'inner'));
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('alert').filter({ hasText: 'nested' }).waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: `Remove ${join(shared, 'inner')}` }).click();

    await page.getByRole('button', { name: `Remove ${shared}` }).click();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'next start' }).waitFor({ timeout: 10_000 });
    saved = JSON.parse(await readFile(join(home, 'settings.json'), 'utf8')) as { fileShares: string[] };
    assert.deepEqual(saved.fileShares, [homedir()]);
  });

  test('engine mode native is saved with a restart-needed step this engine cannot take itself', async () => {
    assert.equal(
      await page.getByTestId('native-note').textContent(),
      'Native runs containers directly on this Linux host, without the VM. Applies at next engine start.',
    );
    await page.getByLabel('Native (this Linux host)').check();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'next start' }).waitFor({ timeout: 10_000 });
    const saved = JSON.parse(await readFile(join(home, 'settings.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(saved.engineMode, 'native');
    const step = page.getByTestId('restart-needed');
    await step.filter({ hasText: 'cannot be restarted from the dashboard' }).waitFor();
    assert.equal(await step.getByRole('button', { name: 'Restart now' }).isDisabled(), true);
    await screenshot(page, 'settings-restart-needed');
  });
});

/**
 * The Troubleshoot page in web mode with a temporary BERTH_HOME: it shows the
 * tails of the console and daemon logs (and reads them again on Refresh),
 * and a factory reset lists exactly what it deletes, deletes nothing when
 * cancelled (button or Escape), and deletes only Berth's entries after
 * confirming: a file of the user's in the same folder stays.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { useAgent } from '../helpers/agent.js';
import { nav, screenshot, useDashboard } from './web-mode.js';

const agent = useAgent();

describe('dashboard troubleshoot, web mode', () => {
  let home = '';
  const berthFiles = ['settings.json', 'vm/data.disk', 'vm/console.log', 'ssh/id_ed25519', 'logs/vm-daemon.log'];

  // Registered first, so the home is ready before useDashboard's hook starts web mode in it.
  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'berth-trouble-home-'));
    for (const f of berthFiles) {
      await mkdir(join(home, f, '..'), { recursive: true });
      await writeFile(join(home, f), `${f} line 1\n${f} line 2\n`);
    }
    await writeFile(join(home, 'notes.txt'), 'the user’s own file\n');
  });
  const dash = useDashboard(agent.ready, () => ({ BERTH_HOME: home }));
  before(() => nav(dash.page, 'Troubleshoot'));
  after(() => rm(home, { recursive: true, force: true }));

  test('the console and daemon logs show their last lines, and Refresh reads them again', async () => {
    const consoleLog = dash.page.getByRole('region', { name: 'VM console' });
    await consoleLog.getByText('vm/console.log line 2').waitFor({ timeout: 10_000 });
    await dash.page.getByRole('region', { name: 'vm-daemon' }).getByText('logs/vm-daemon.log line 2').waitFor();
    await appendFile(join(home, 'vm/console.log'), 'a line written later\n');
    assert.equal(await consoleLog.getByText('a line written later').count(), 0);
    await dash.page.getByRole('button', { name: 'Refresh' }).click();
    await consoleLog.getByText('a line written later').waitFor({ timeout: 10_000 });
    await screenshot(dash.page, 'troubleshoot');
  });

  test('reset lists what it deletes and deletes nothing until confirmed', async () => {
    const open = async () => {
      await dash.page.getByRole('button', { name: /^Reset to factory defaults/ }).click();
      const dialog = dash.page.getByRole('dialog', { name: 'Reset to factory defaults?' });
      await dialog.waitFor({ timeout: 10_000 });
      return dialog;
    };
    let dialog = await open();
    const listed = await dialog.getByTestId('reset-list').textContent();
    for (const entry of ['settings.json', 'vm', 'ssh', 'logs']) assert.ok(listed?.includes(join(home, entry)), `${entry} in ${listed}`);
    assert.ok(!listed?.includes('notes.txt'));
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    for (const f of berthFiles) assert.ok(existsSync(join(home, f)), `${f} kept after Cancel`);

    dialog = await open();
    await dash.page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    for (const f of berthFiles) assert.ok(existsSync(join(home, f)), `${f} kept after Escape`);

    dialog = await open();
    await dialog.getByRole('button', { name: 'Delete and reset' }).click();
    await dash.page.getByRole('status').filter({ hasText: 'Reset done' }).waitFor({ timeout: 30_000 });
    assert.deepEqual(await readdir(home), ['notes.txt']);
  });
});

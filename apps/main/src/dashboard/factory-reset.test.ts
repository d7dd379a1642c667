import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { test } from 'node:test';
import { ensureLinkKeys } from '../link/keys.js';
import { defaultSettings, saveSettings } from '../settings/settings.js';
import { homeLayout } from '../util/berth-home.js';
import { vmPaths, writeRunState } from '../vm/vm-state.js';
import { writeLaunchPage } from '../web/open-browser.js';
import { Builds } from './builds.js';
import { factoryReset, resetPlan } from './factory-reset.js';

test('reset deletes Berth’s entries only; a symlinked entry goes as a link, its target stays', async () => {
  const home = await mkdtemp(join(tmpdir(), 'berth-reset-'));
  const outside = await mkdtemp(join(tmpdir(), 'berth-reset-outside-'));
  try {
    await mkdir(join(home, 'vm'));
    await writeFile(join(home, 'vm', 'data.disk'), 'disk');
    await writeFile(join(home, 'settings.json'), '{}');
    await writeFile(join(home, 'notes.txt'), 'mine');
    await writeFile(join(outside, 'precious'), 'keep');
    await symlink(outside, join(home, 'logs'));

    const plan = await resetPlan(home);
    assert.deepEqual(plan.entries.map((e) => e.path).sort(), [join(home, 'logs'), join(home, 'settings.json'), join(home, 'vm')]);
    assert.equal(plan.entries.find((e) => e.path.endsWith('logs'))?.kind, 'file'); // the link, not the folder behind it

    const deleted = await factoryReset(home);
    assert.equal(deleted.length, 3);
    assert.deepEqual(await readdir(home), ['notes.txt']);
    assert.ok(existsSync(join(outside, 'precious')));
  } finally {
    await rm(home, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  }
});

test('reset refuses / and the user’s home folder', async () => {
  await assert.rejects(resetPlan('/'), /refusing to reset/);
  await assert.rejects(resetPlan(homedir()), /refusing to reset/);
  await assert.rejects(factoryReset(homedir() + '/'), /refusing to reset/);
});

test('reset leaves no file of the layout behind, the build history included', async () => {
  const home = await mkdtemp(join(tmpdir(), 'berth-reset-all-'));
  const context = await mkdtemp(join(tmpdir(), 'berth-reset-context-'));
  try {
    // What the modules write themselves: settings, keys, the run state, a launch page, a build record.
    saveSettings(home, defaultSettings({ cpus: 2, memoryMiB: 4096, home }));
    ensureLinkKeys(home);
    writeRunState(vmPaths(home), { daemonPid: 1, phase: 'stopped', message: 'stopped', startedAt: new Date(0).toISOString() });
    writeLaunchPage(homeLayout(home).runDir, 1234, 'http://127.0.0.1:1234/#token=x');
    const builds = new Builds(home);
    const rec = await builds.start(join(home, 'no-engine.sock'), { context, tag: 'probe' });
    for await (const _ of builds.follow(rec.id, new AbortController().signal)); // ends once the build has failed and saved its record
    assert.ok((await readdir(homeLayout(home).buildsDir)).length, 'the build left its record');
    // Every other path of the layout, as a folder when another lies below it, else a file.
    const paths = Object.values(homeLayout(home));
    for (const p of paths.filter((p) => !existsSync(p))) {
      if (paths.some((q) => q.startsWith(p + sep))) await mkdir(p, { recursive: true });
      else {
        await mkdir(dirname(p), { recursive: true });
        await writeFile(p, 'x');
      }
    }

    await factoryReset(home);
    assert.deepEqual(await readdir(home), []);
  } finally {
    await rm(home, { recursive: true, force: true });
    await rm(context, { recursive: true, force: true });
  }
});

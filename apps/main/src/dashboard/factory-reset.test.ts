import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
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

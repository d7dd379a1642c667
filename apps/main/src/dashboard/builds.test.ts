import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { BuildItem, BuildRecord } from '@berth/api';
import { Builds, MAX_BUILDS } from './builds.js';

const dirs: string[] = [];
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'berth-builds-'));
  dirs.push(d);
  return d;
};
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function record(startedAt: number, status: BuildRecord['status'] = 'succeeded'): BuildRecord {
  return { id: randomUUID(), tag: `t${startedAt}`, context: '/ctx', status, startedAt, endedAt: startedAt + 1, log: `log ${startedAt}\n` };
}

test('saved records load newest first, bounded; one cut short loads as failed; a broken file is skipped', () => {
  const home = temp();
  const dir = join(home, 'builds');
  mkdirSync(dir);
  const recs = Array.from({ length: MAX_BUILDS + 2 }, (_, i) => record(1000 + i));
  recs[MAX_BUILDS + 1]!.status = 'running';
  for (const r of recs) writeFileSync(join(dir, `${r.id}.json`), JSON.stringify(r));
  writeFileSync(join(dir, `${randomUUID()}.json`), '{"id": ');
  writeFileSync(join(dir, 'notes.json'), '{}');

  const list = new Builds(home).list();
  assert.equal(list.length, MAX_BUILDS);
  assert.deepEqual(
    list.map((r) => r.startedAt),
    recs
      .map((r) => r.startedAt)
      .reverse()
      .slice(0, MAX_BUILDS),
  );
  assert.equal(list[0]!.status, 'failed');
  assert.match(list[0]!.error!, /interrupted: Berth stopped during the build/);
  // The two oldest files are gone; the others (and what is not a record) stay.
  const left = readdirSync(dir);
  assert.equal(left.includes(`${recs[0]!.id}.json`), false);
  assert.equal(left.includes(`${recs[1]!.id}.json`), false);
  assert.equal(left.includes('notes.json'), true);
});

test('a build that cannot reach the engine ends failed, saved, and followers get the end', async () => {
  const home = temp();
  const context = join(home, 'ctx');
  mkdirSync(context);
  writeFileSync(join(context, 'Dockerfile'), 'FROM scratch\n');
  const builds = new Builds(home);
  await assert.rejects(builds.start(join(home, 'none.sock'), { context: 'relative', tag: 'x' }), /absolute folder path/);
  assert.deepEqual(readdirSync(home), ['ctx']);

  const items: BuildItem[] = [];
  for await (const item of builds.run(join(home, 'no-engine.sock'), { context, tag: 'x:1' }, new AbortController().signal)) items.push(item);
  const last = items.at(-1) as { record: BuildRecord };
  assert.equal(last.record.status, 'failed');
  assert.match(last.record.error!, /ENOENT|no-engine\.sock/);
  const saved = JSON.parse(readFileSync(join(home, 'builds', `${last.record.id}.json`), 'utf8')) as BuildRecord;
  assert.equal(saved.status, 'failed');
  assert.match(saved.log, /ERROR: /);
  // A new Builds (a restart) lists it, and following a finished build gives its record and ends.
  const again = new Builds(home);
  const followed: BuildItem[] = [];
  for await (const item of again.follow(last.record.id, new AbortController().signal)) followed.push(item);
  assert.deepEqual(followed, [{ record: saved }]);
  await assert.rejects(async () => {
    for await (const _ of again.follow(randomUUID(), new AbortController().signal)) void _;
  }, /no such build/);
  assert.throws(() => again.cancel(last.record.id), /no running build/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readJsonIfExists, writeJsonAtomic, isAtomicTempName, sweepTempFiles } from './atomic-file.js';

test('writeJsonAtomic replaces the record and leaves no temp file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-atomic-'));
  try {
    const p = join(dir, 'sub', 'rec.json');
    assert.equal(await readJsonIfExists(p), undefined);
    await writeJsonAtomic(p, { a: 1 });
    await writeJsonAtomic(p, { a: 2 });
    assert.deepEqual(await readJsonIfExists(p), { a: 2 });
    assert.deepEqual(await readdir(join(dir, 'sub')), ['rec.json']);
    assert.match(await readFile(p, 'utf8'), /"a": 2/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('isAtomicTempName recognises only our temp files', () => {
  assert.equal(isAtomicTempName('.rec.json.tmp-abc123'), true);
  assert.equal(isAtomicTempName('rec.json'), false);
});

test('sweepTempFiles removes what a crashed write left, and nothing else', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-atomic-'));
  try {
    await writeJsonAtomic(join(dir, 'rec.json'), { a: 1 });
    await writeFile(join(dir, '.rec.json.tmp-0a1b2c'), '{"a": 2');
    await writeFile(join(dir, 'plain.tmp-note'), 'kept');
    await sweepTempFiles(dir);
    assert.deepEqual((await readdir(dir)).sort(), ['plain.tmp-note', 'rec.json']);
    await sweepTempFiles(join(dir, 'missing'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

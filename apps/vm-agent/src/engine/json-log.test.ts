import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { JsonFileLog, readLogFiles } from './json-log.js';

const all = { stdout: true, stderr: true, sinceNs: 0n, untilNs: 0n };

test('tail reads backwards across chunks and rotated files and agrees with a full read', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-tail-'));
  try {
    const path = join(dir, 'c-json.log');
    const log = new JsonFileLog(path, { maxSize: 300 * 1024, maxFiles: 3 });
    // Lines of varied lengths (up to past a 64 KB chunk) so line ends fall on and across chunk edges.
    for (let i = 0; i < 3000; i++) log.write(i % 3 ? 'stdout' : 'stderr', `${i} ${'x'.repeat((i * 37) % 400)}\n`);
    log.write('stdout', 'y'.repeat(70 * 1024) + '\n');
    log.write('stdout', 'last\n');
    log.close();
    const full = readLogFiles(path, 3, all);
    for (const n of [1, 2, 7, 500, 2000, full.length, full.length + 10]) {
      assert.deepEqual(readLogFiles(path, 3, { ...all, tail: n }), full.slice(-n), `tail ${n}`);
    }
    const outOnly = readLogFiles(path, 3, { ...all, stderr: false });
    assert.deepEqual(readLogFiles(path, 3, { ...all, stderr: false, tail: 50 }), outOnly.slice(-50));
    assert.deepEqual(readLogFiles(path, 3, { ...all, tail: 0 }), []);
    // A torn line is skipped, not an error.
    writeFileSync(path, '{"log":"a\\n","stream":"stdout","time":"2024-01-01T00:00:00.000000001Z"}\n{"log":"tor');
    assert.deepEqual(
      readLogFiles(path, 1, { ...all, tail: 5 }).map((e) => e.log),
      ['a\n'],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'a log write to a full disk is reported once, never thrown, and logging resumes when space returns',
  { skip: process.getuid?.() !== 0 && 'needs root to mount a tmpfs' },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-full-'));
    const mnt = join(dir, 'm');
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
    try {
      const errors: string[] = [];
      const seen: string[] = [];
      const log = new JsonFileLog(join(mnt, 'c-json.log'), { maxSize: 0, maxFiles: 1 }, (m) => errors.push(m));
      log.on('entry', (e: { log: string }) => seen.push(e.log));
      for (let i = 0; i < 2000; i++) log.write('stdout', `line ${i} ${'z'.repeat(100)}\n`);
      assert.equal(seen.length, 2000, 'followers get every entry');
      assert.equal(errors.length, 1, errors.join('\n'));
      assert.match(errors[0]!, /^Error writing log message to .*c-json\.log: ENOSPC/);
      rmSync(join(mnt, 'c-json.log'));
      log.close();
      log.write('stdout', 'after\n');
      log.close();
      assert.deepEqual(
        readLogFiles(join(mnt, 'c-json.log'), 1, all).map((e) => e.log),
        ['after\n'],
      );
    } finally {
      execFileSync('umount', [mnt]);
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('running turns false with the last entry and close, in one step: a follower checking it cannot miss the end', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-run-'));
  try {
    const log = new JsonFileLog(join(dir, 'c-json.log'), { maxSize: 0, maxFiles: 1 });
    assert.equal(log.running, false, 'before any run');
    log.beginRun();
    assert.equal(log.running, true);
    log.write('stdout', 'no newline yet');
    const seen: string[] = [];
    log.on('entry', (e: { log: string }) => seen.push(`${e.log} running=${log.running}`));
    log.once('close', () => seen.push(`close running=${log.running}`));
    log.endRun();
    // The flushed partial line still goes to followers as part of the run; close comes after running is false.
    assert.deepEqual(seen, ['no newline yet running=true', 'close running=false']);
    assert.equal(log.running, false);
    log.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

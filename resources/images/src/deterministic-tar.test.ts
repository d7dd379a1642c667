import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { extract, type Header } from 'tar-stream';
import { makeTar, normalizeEntries } from './deterministic-tar.js';

const MTIME = new Date('2025-01-01T00:00:00Z');

async function headers(tar: Buffer): Promise<{ header: Header; body: Buffer }[]> {
  const out: { header: Header; body: Buffer }[] = [];
  const ex = extract();
  Readable.from([tar]).pipe(ex);
  for await (const entry of ex) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    out.push({ header: entry.header, body: Buffer.concat(chunks) });
  }
  return out;
}

test('parents are added and a directory comes right before its contents', () => {
  const names = normalizeEntries([
    { path: 'a-b', type: 'file', content: '' },
    { path: 'a/b/c', type: 'file', content: '' },
    { path: '/srv/www/', type: 'dir' },
    { path: 'a.txt', type: 'file', content: '' },
  ]).map((e) => `${e.type}:${e.path}`);
  assert.deepEqual(names, ['dir:a', 'dir:a/b', 'file:a/b/c', 'file:a-b', 'file:a.txt', 'dir:srv', 'dir:srv/www']);
});

test('paths that repeat, climb out or nest in a file are refused', () => {
  assert.throws(
    () =>
      normalizeEntries([
        { path: 'x', type: 'dir' },
        { path: '/x/', type: 'dir' },
      ]),
    /given twice/,
  );
  assert.throws(() => normalizeEntries([{ path: '../etc/passwd', type: 'file', content: '' }]), /not a plain relative path/);
  assert.throws(() => normalizeEntries([{ path: 'a/./b', type: 'file', content: '' }]), /not a plain relative path/);
  assert.throws(
    () =>
      normalizeEntries([
        { path: 'f', type: 'file', content: '' },
        { path: 'f/g', type: 'file', content: '' },
      ]),
    /is a file but f\/g is inside it/,
  );
});

test('equal entries in any order give equal bytes, with root owners, one mtime and the given modes', async () => {
  const entries = [
    { path: 'bin/tool', type: 'file' as const, content: Buffer.from('#!/bin/sh\n'), mode: 0o755 },
    { path: 'bin/sh', type: 'symlink' as const, target: 'tool' },
    { path: 'tmp', type: 'dir' as const, mode: 0o1777 },
    { path: 'etc/motd', type: 'file' as const, content: 'hello\n' },
  ];
  const a = await makeTar(entries, MTIME);
  const b = await makeTar([...entries].reverse(), MTIME);
  assert.ok(a.equals(b));
  assert.ok(!a.equals(await makeTar(entries, new Date(MTIME.getTime() + 1000))), 'the mtime is in the bytes');
  const got = await headers(a);
  assert.deepEqual(
    got.map((e) => e.header.name),
    ['bin/', 'bin/sh', 'bin/tool', 'etc/', 'etc/motd', 'tmp/'],
  );
  for (const { header } of got) {
    assert.equal(header.uid, 0);
    assert.equal(header.gid, 0);
    assert.equal(header.mtime?.getTime(), MTIME.getTime());
  }
  const byName = new Map(got.map((e) => [e.header.name, e]));
  assert.equal(byName.get('bin/tool')!.header.mode, 0o755);
  assert.equal(byName.get('etc/motd')!.header.mode, 0o644);
  assert.equal(byName.get('etc/')!.header.mode, 0o755);
  assert.equal(byName.get('tmp/')!.header.mode, 0o1777);
  assert.equal(byName.get('bin/sh')!.header.linkname, 'tool');
  assert.equal(byName.get('etc/motd')!.body.toString(), 'hello\n');
});

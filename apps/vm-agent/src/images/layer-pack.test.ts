// Packing a real overlayfs upper directory into a Docker layer tar and
// unpacking it again. Needs root (overlay mounts, chown, trusted.* xattrs).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  constants,
  chownSync,
  chmodSync,
  linkSync,
  lutimesSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  appendFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import * as tar from 'tar-stream';
import { lgetxattr, lsetxattr, mknod, mount, umount } from '../runtime/native.js';
import { packLayer } from './layer-pack.js';
import { unpackLayer } from './layer-unpack.js';
import { craftTar, snapshotTree, type TreeEntry } from './testing/craft-tar.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-pack-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function collect(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

interface Listed {
  name: string;
  type: string;
  linkname?: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  size: number;
}

/** The entries as tar-stream reads them: a parser independent of our encoder. */
async function list(buf: Buffer): Promise<Listed[]> {
  const out: Listed[] = [];
  const ex = tar.extract();
  const done = (async () => {
    for await (const e of ex) {
      const h = e.header;
      out.push({
        name: h.name,
        type: h.type,
        ...(h.linkname ? { linkname: h.linkname } : {}),
        mode: h.mode,
        uid: h.uid,
        gid: h.gid,
        mtime: h.mtime.getTime() / 1000,
        size: h.size,
      });
      e.resume();
    }
  })();
  ex.end(buf);
  await done;
  return out;
}

/** Whiteouts compare by what they are: the kernel makes them mode 0, we make them 0600. */
function normalized(snap: Record<string, TreeEntry>): Record<string, TreeEntry> {
  const out: Record<string, TreeEntry> = {};
  for (const [k, v] of Object.entries(snap)) out[k] = v.type === 'char' && v.data === '0' ? { ...v, mode: 0 } : v;
  return out;
}

const T1 = new Date(1_700_000_000_000);
const T2 = new Date(1_700_000_100_000);

test('a container upper dir packs to Docker layer entries and unpacks to the same tree', async (t) => {
  const dir = tempDir(t);
  const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((n) => join(dir, n)) as [string, string, string, string];
  for (const d of [lower, upper, work, merged]) mkdirSync(d);
  await unpackLayer(
    Readable.from([
      await craftTar([
        { name: 'gone', body: 'gone' },
        { name: 'keep', body: 'keep' },
        { name: 'opq/', type: 'directory' },
        { name: 'opq/old', body: 'old' },
      ]),
    ]),
    lower,
  );

  // Make changes through a real overlay, as a container would.
  mount('overlay', merged, 'overlay', 0, `lowerdir=${lower},upperdir=${upper},workdir=${work},redirect_dir=off,index=off,metacopy=off`);
  try {
    const m = (p: string) => join(merged, p);
    unlinkSync(m('gone'));
    rmSync(m('opq'), { recursive: true });
    mkdirSync(m('opq'));
    writeFileSync(m('opq/new'), 'new');
    appendFileSync(m('keep'), '+changed');
    mkdirSync(m('newdir'), 0o2750);
    chmodSync(m('newdir'), 0o2750);
    chownSync(m('newdir'), 33, 33);
    writeFileSync(m('newdir/file'), 'payload');
    chownSync(m('newdir/file'), 1000, 1001);
    chmodSync(m('newdir/file'), 0o4755);
    linkSync(m('newdir/file'), m('newdir/link2'));
    writeFileSync(m('newdir/cap'), 'cap');
    execFileSync('setcap', ['cap_net_bind_service+ep', m('newdir/cap')]);
    symlinkSync('newdir/file', m('sym'));
    mknod(m('fifo'), constants.S_IFIFO | 0o640, 0, 0);
    mknod(m('null'), constants.S_IFCHR | 0o666, 1, 3);
    chmodSync(m('null'), 0o666);
    for (const p of ['opq/new', 'keep', 'newdir/file', 'newdir/cap', 'fifo', 'null', 'sym']) lutimesSync(m(p), T1, T1);
    for (const p of ['opq', 'newdir', '.']) lutimesSync(m(p), T2, T2);
  } finally {
    umount(merged);
  }
  assert.deepEqual(lgetxattr(join(upper, 'opq'), 'trusted.overlay.opaque'), Buffer.from('y'), 'the kernel made opq opaque');

  const packed = await collect(packLayer(upper));
  const entries = await list(packed);
  assert.deepEqual(
    entries.map((e) => [e.name, e.type, e.linkname ?? '']),
    [
      ['fifo', 'fifo', ''],
      ['.wh.gone', 'file', ''],
      ['keep', 'file', ''],
      ['newdir/', 'directory', ''],
      ['newdir/cap', 'file', ''],
      ['newdir/file', 'file', ''],
      ['newdir/link2', 'link', 'newdir/file'],
      ['null', 'character-device', ''],
      ['opq/', 'directory', ''],
      ['opq/.wh..wh..opq', 'file', ''],
      ['opq/new', 'file', ''],
      ['sym', 'symlink', 'newdir/file'],
    ],
  );
  const byName = new Map(entries.map((e) => [e.name, e]));
  assert.deepEqual(byName.get('newdir/file'), { name: 'newdir/file', type: 'file', mode: 0o4755, uid: 1000, gid: 1001, mtime: T1.getTime() / 1000, size: 7 });
  assert.equal(byName.get('newdir/')?.mode, 0o2750);
  assert.equal(byName.get('newdir/')?.mtime, T2.getTime() / 1000);
  assert.equal(byName.get('.wh.gone')?.mode, 0o600);
  assert.equal(byName.get('.wh.gone')?.size, 0);

  // GNU tar reads it too, the capability xattr included.
  const names = execFileSync('tar', ['-tf', '-'], { input: packed, encoding: 'utf8' });
  assert.deepEqual(
    names.trim().split('\n'),
    entries.map((e) => e.name),
  );
  const verbose = execFileSync('tar', ['--xattrs', '--xattrs-include=*', '-tvvf', '-'], { input: packed, encoding: 'utf8' });
  assert.match(verbose, /x: +\d+ security\.capability/);

  // Same bytes every time; re-unpacked, the same tree, capability and opaque marker included.
  assert.deepEqual(await collect(packLayer(upper)), packed);
  const again = join(dir, 'again');
  mkdirSync(again);
  const r = await unpackLayer(Readable.from([packed]), again);
  assert.equal(r.diffID, `sha256:${createHash('sha256').update(packed).digest('hex')}`);
  const want = normalized(snapshotTree(upper));
  assert.ok(want['newdir/cap']?.capability, 'the upper dir has the capability');
  assert.deepEqual(normalized(snapshotTree(again)), want);
});

test('long names, large ids and clamped mtimes survive a pack and unpack', async (t) => {
  const dir = tempDir(t);
  const src = join(dir, 'src');
  const deep = join(src, 'd'.repeat(90), 'e'.repeat(90));
  mkdirSync(deep, { recursive: true });
  const long = join(deep, `${'f'.repeat(120)}.txt`);
  writeFileSync(long, 'long');
  symlinkSync('t'.repeat(200), join(src, 'longlink'));
  writeFileSync(join(src, 'ids'), 'ids');
  chownSync(join(src, 'ids'), 3_000_000, 4_000_000);
  lutimesSync(join(src, 'ids'), T2, T2);

  const clamp = new Date(T1.getTime() + 500);
  const packed = await collect(packLayer(src, { clampMtime: clamp }));
  const entries = await list(packed);
  assert.ok(
    entries.every((e) => e.mtime <= Math.floor(clamp.getTime() / 1000)),
    'no mtime after the clamp',
  );
  const out = join(dir, 'out');
  mkdirSync(out);
  await unpackLayer(Readable.from([packed]), out);
  const got = snapshotTree(out);
  const rel = long.slice(src.length + 1);
  assert.equal(got[rel]?.data, 'long');
  assert.equal(got['longlink']?.data, 't'.repeat(200));
  assert.equal(got['ids']?.uid, 3_000_000);
  assert.equal(got['ids']?.gid, 4_000_000);
  assert.equal(got['ids']?.mtime, T1.getTime() / 1000);
});

test('an upper dir whose content lives in a lower layer (redirect_dir, metacopy) is refused', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'moved'));
  lsetxattr(join(dir, 'moved'), 'trusted.overlay.redirect', Buffer.from('/orig'));
  await assert.rejects(collect(packLayer(dir)), /renamed with overlayfs redirect_dir/);
  rmSync(join(dir, 'moved'), { recursive: true });
  writeFileSync(join(dir, 'meta'), '');
  lsetxattr(join(dir, 'meta'), 'trusted.overlay.metacopy', Buffer.alloc(0));
  await assert.rejects(collect(packLayer(dir)), /metacopy file/);
});

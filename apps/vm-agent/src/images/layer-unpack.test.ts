// Unpacking layers against the real filesystem and kernel: hostile tars stay
// inside the layer, whiteouts work in a real overlay mount. Needs root.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { isEngineError } from '../errors.js';
import { lgetxattr, mount, umount } from '../runtime/native.js';
import { unpackLayer } from './layer-unpack.js';
import { craftTar, craftTarGz, snapshotTree, type CraftEntry } from './testing/craft-tar.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-unpack-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const unpack = (tar: Buffer, dest: string, opts?: { maxBytes?: number }) => unpackLayer(Readable.from([tar]), dest, opts);
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

test('plain and gzip layers unpack to the same tree; diffID is the sha256 of the plain tar', async (t) => {
  const dir = tempDir(t);
  const entries: CraftEntry[] = [
    { name: 'bin/', type: 'directory' },
    { name: 'bin/sh', body: 'echo hi\n', mode: 0o755 },
    // etc/ has an entry of its own: a parent made implicitly takes the time of
    // the unpack, and the two unpacks below may fall on either side of a second.
    { name: 'etc/', type: 'directory' },
    { name: 'etc/hostname', body: 'box\n' },
  ];
  const plain = await craftTar(entries);
  const gz = gzipSync(plain);
  mkdirSync(join(dir, 'a'));
  mkdirSync(join(dir, 'b'));
  // Odd chunk boundaries, so the magic sniffing and the tar parser see split input.
  const split = (b: Buffer) => Readable.from([b.subarray(0, 1), b.subarray(1, 700), b.subarray(700)]);
  const ra = await unpackLayer(split(plain), join(dir, 'a'));
  const rb = await unpackLayer(split(gz), join(dir, 'b'));
  assert.equal(ra.diffID, sha256(plain));
  assert.equal(rb.diffID, sha256(plain));
  assert.equal(ra.size, 8 + 4);
  assert.deepEqual(snapshotTree(join(dir, 'a')), snapshotTree(join(dir, 'b')));
  assert.equal(readFileSync(join(dir, 'a', 'bin', 'sh'), 'utf8'), 'echo hi\n');
});

test('a layer larger than maxBytes uncompressed is refused (decompression bomb)', async (t) => {
  const dir = tempDir(t);
  const bomb = await craftTarGz([{ name: 'zeros', body: Buffer.alloc(8 << 20) }]);
  assert.ok(bomb.length < 64 << 10, 'fixture compresses well');
  await assert.rejects(unpack(bomb, dir, { maxBytes: 1 << 20 }), (err: unknown) => {
    assert.ok(isEngineError(err, 'invalid-parameter'));
    assert.match(err.message, /larger than the limit of 1048576 bytes uncompressed/);
    return true;
  });
  const ok = await unpack(bomb, dir, { maxBytes: 9 << 20 });
  assert.equal(ok.size, 8 << 20);
});

test('zstd, xz and bzip2 layers get a clear error; a corrupt tar is an invalid parameter', async (t) => {
  const dir = tempDir(t);
  const zstdFrame = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]);
  if (!('createZstdDecompress' in (await import('node:zlib')))) {
    await assert.rejects(unpack(zstdFrame, dir), /zstd-compressed layers are not supported yet/);
  }
  await assert.rejects(unpack(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2]), dir), /xz-compressed layers are not supported/);
  const input = Readable.from([Buffer.from('BZh91AY&SY')]);
  await assert.rejects(unpackLayer(input, dir), /bzip2-compressed layers are not supported/);
  assert.equal(input.destroyed, true, 'a refused input is released');
  const garbage = Buffer.alloc(1024, 0x41);
  await assert.rejects(unpack(garbage, dir), (err: unknown) => isEngineError(err, 'invalid-parameter') && /unpacking layer: /.test(err.message));
});

test('a source failing mid-layer and a truncated tar reject instead of hanging', async (t) => {
  const dir = tempDir(t);
  const tar = await craftTarGz([{ name: 'big', body: Buffer.alloc(1 << 20, 1) }]);
  const failing = Readable.from(
    (async function* () {
      yield tar.subarray(0, 100);
      throw new Error('connection reset by registry');
    })(),
  );
  await assert.rejects(unpackLayer(failing, join(dir)), /connection reset by registry/);
  const plain = await craftTar([{ name: 'big', body: Buffer.alloc(100_000, 1) }]);
  mkdirSync(join(dir, 'b'));
  await assert.rejects(
    unpack(plain.subarray(0, 50_000), join(dir, 'b')),
    (err: unknown) => isEngineError(err, 'invalid-parameter') && /Unexpected end of data/.test(err.message),
  );
});

test('owners, modes with setuid/setgid/sticky, mtimes (directories too), hard links, devices, fifos, symlinks', async (t) => {
  const dir = tempDir(t);
  const at = (s: number) => new Date(s * 1000);
  await unpack(
    await craftTar([
      { name: 'srv/', type: 'directory', mode: 0o2775, uid: 1000, gid: 50, mtime: at(1_000_000_000) },
      { name: 'srv/app', body: 'x', mode: 0o4750, uid: 1000, gid: 50, mtime: at(1_100_000_000) },
      { name: 'srv/app-again', type: 'link', linkname: 'srv/app' },
      { name: 'tmp/', type: 'directory', mode: 0o1777, mtime: at(1_200_000_000) },
      { name: 'srv/link', type: 'symlink', linkname: 'app', uid: 7, gid: 8, mtime: at(1_300_000_000) },
      { name: 'dev/', type: 'directory', mode: 0o755, mtime: at(1_400_000_000) },
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666, mtime: at(1_500_000_000) },
      { name: 'dev/loop0', type: 'block-device', devmajor: 7, devminor: 0, mode: 0o660, gid: 6 },
      { name: 'run.fifo', type: 'fifo', mode: 0o620, uid: 3 },
      { name: 'deep/er/file', body: 'implicit parents' },
    ]),
    dir,
  );
  const snap = snapshotTree(dir);
  assert.deepEqual(snap['srv'], { type: 'dir', mode: 0o2775, uid: 1000, gid: 50, mtime: 1_000_000_000 });
  assert.deepEqual(snap['srv/app'], { type: 'file', mode: 0o4750, uid: 1000, gid: 50, mtime: 1_100_000_000, data: 'x' });
  assert.equal(snap['srv/app-again']?.sameAs, 'srv/app');
  assert.equal(snap['tmp']?.mode, 0o1777);
  assert.equal(snap['tmp']?.mtime, 1_200_000_000);
  assert.deepEqual(snap['srv/link'], { type: 'symlink', mode: 0, uid: 7, gid: 8, mtime: 1_300_000_000, data: 'app' });
  assert.deepEqual(snap['dev'], { type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1_400_000_000 });
  assert.deepEqual(snap['dev/null'], { type: 'char', mode: 0o666, uid: 0, gid: 0, mtime: 1_500_000_000, data: String((1 << 8) | 3) });
  assert.equal(snap['dev/loop0']?.type, 'block');
  assert.equal(snap['dev/loop0']?.data, String(7 << 8));
  assert.equal(snap['dev/loop0']?.gid, 6);
  assert.equal(snap['run.fifo']?.type, 'fifo');
  assert.equal(snap['run.fifo']?.mode, 0o620);
  assert.equal(snap['deep']?.mode, 0o755);
  assert.equal(readFileSync(join(dir, 'deep/er/file'), 'utf8'), 'implicit parents');
});

test('PAX headers: long names, uid/gid and mtime records, binary security.capability from GNU tar', async (t) => {
  const dir = tempDir(t);
  const src = join(dir, 'src');
  const long = `${'d'.repeat(120)}/${'f'.repeat(150)}`;
  mkdirSync(join(src, 'd'.repeat(120)), { recursive: true });
  writeFileSync(join(src, long), 'long');
  writeFileSync(join(src, 'ping'), 'ping');
  execFileSync('setcap', ['cap_net_raw,cap_net_admin+ep', join(src, 'ping')]);
  const cap = lgetxattr(join(src, 'ping'), 'security.capability');
  assert.ok(cap && cap.some((b) => b >= 0x80 || b === 0), 'the capability value is binary');
  const gnu = execFileSync('tar', ['--xattrs', '--xattrs-include=security.capability', '--format=pax', '-C', src, '-cf', '-', '.']);

  const out = join(dir, 'out');
  mkdirSync(out);
  const r = await unpack(gnu, out);
  assert.equal(r.diffID, sha256(gnu));
  assert.equal(readFileSync(join(out, long), 'utf8'), 'long');
  assert.deepEqual(lgetxattr(join(out, 'ping'), 'security.capability'), cap);

  const out2 = join(dir, 'out2');
  mkdirSync(out2);
  await unpack(
    await craftTar([
      { name: 'big-ids', body: 'x', pax: { uid: '3000000', gid: '3000001', mtime: '1234567890.5' } },
      { name: 'no-overlay-steering/', type: 'directory', pax: { 'SCHILY.xattr.trusted.overlay.opaque': 'y', 'SCHILY.xattr.user.note': 'kept' } },
    ]),
    out2,
  );
  const st = lstatSync(join(out2, 'big-ids'));
  assert.equal(st.uid, 3000000);
  assert.equal(st.gid, 3000001);
  assert.equal(st.mtimeMs, 1234567890500);
  assert.equal(lgetxattr(join(out2, 'no-overlay-steering'), 'trusted.overlay.opaque'), undefined);
  assert.deepEqual(lgetxattr(join(out2, 'no-overlay-steering'), 'user.note'), Buffer.from('kept'));
});

// --- hostile layers: nothing outside the layer directory may change ---

/** A layer dir and a sentinel tree beside it; `check()` asserts the sentinel is as it was. */
function arena(t: { after(fn: () => void): void }) {
  const base = tempDir(t);
  const layer = join(base, 'layer');
  const outside = join(base, 'outside');
  mkdirSync(layer);
  mkdirSync(join(outside, 'sub'), { recursive: true });
  writeFileSync(join(outside, 'victim'), 'original');
  writeFileSync(join(outside, 'sub', 'secret'), 'secret');
  symlinkSync('victim', join(outside, 'alias'));
  const before = snapshotTree(outside);
  const baseBefore = readdirSync(base).sort();
  return {
    layer,
    outside,
    check() {
      assert.deepEqual(snapshotTree(outside), before, 'the tree outside the layer is untouched');
      assert.deepEqual(readdirSync(base).sort(), baseBefore, 'nothing new beside the layer');
      assert.equal(statSync(join(outside, 'sub', 'secret')).nlink, 1, 'no hard link to an outside file');
      assert.equal(existsSync('/etc/berth-unpack-test-sentinel'), false, 'nothing written to the host /etc');
    },
  };
}

const hostile: { name: string; entries: (outside: string) => CraftEntry[]; expect: RegExp | ((layer: string, outside: string) => void) }[] = [
  {
    name: 'a relative name climbing out (../x) is refused',
    entries: () => [{ name: '../outside/victim', body: 'pwned' }],
    expect: /layer entry "..\/outside\/victim": the path climbs out of the layer/,
  },
  {
    name: 'a name climbing out after a descent (a/../../x) is refused',
    entries: () => [{ name: 'a/../../outside/victim', body: 'pwned' }],
    expect: /climbs out of the layer/,
  },
  {
    name: 'an absolute name is confined to the layer, `..` stops at its top',
    entries: (outside) => [
      { name: `${outside}/victim`, body: 'confined' },
      { name: '/../../../top', body: 'top' },
    ],
    expect: (layer, outside) => {
      assert.equal(readFileSync(join(layer, outside, 'victim'), 'utf8'), 'confined');
      assert.equal(readFileSync(join(layer, 'top'), 'utf8'), 'top');
    },
  },
  {
    name: 'an absolute symlink followed by a write through it lands inside the layer (chroot semantics)',
    entries: (outside) => [
      { name: 'escape', type: 'symlink', linkname: outside },
      { name: 'escape/victim', body: 'pwned' },
      { name: 'escape/sub/new', body: 'pwned' },
    ],
    expect: (layer, outside) => {
      assert.equal(readlinkText(join(layer, 'escape')), outside);
      assert.equal(readFileSync(join(layer, outside, 'victim'), 'utf8'), 'pwned');
      assert.equal(readFileSync(join(layer, outside, 'sub/new'), 'utf8'), 'pwned');
    },
  },
  {
    // Rooted at the layer, etc -> /etc points at itself: a loop, as the container would see it.
    name: 'etc -> /etc then etc/NAME is a loop inside the layer, and never the host /etc',
    entries: () => [
      { name: 'etc', type: 'symlink', linkname: '/etc' },
      { name: 'etc/berth-unpack-test-sentinel', body: 'pwned' },
    ],
    expect: /layer entry "etc\/berth-unpack-test-sentinel": too many levels of symbolic links/,
  },
  {
    name: 'etc -> /host/etc then etc/NAME writes the layer',
    entries: () => [
      { name: 'etc', type: 'symlink', linkname: '/host/etc' },
      { name: 'etc/berth-unpack-test-sentinel', body: 'pwned' },
    ],
    expect: (layer) => assert.equal(readFileSync(join(layer, 'host/etc/berth-unpack-test-sentinel'), 'utf8'), 'pwned'),
  },
  {
    name: 'a relative symlink climbing out (a -> ../../..) is rooted at the layer',
    entries: () => [
      { name: 'a', type: 'symlink', linkname: '../../..' },
      { name: 'a/outside/victim', body: 'pwned' },
    ],
    expect: (layer) => assert.equal(readFileSync(join(layer, 'outside/victim'), 'utf8'), 'pwned'),
  },
  {
    name: 'a chain of symlinks (a -> b -> outside) stays inside',
    entries: (outside) => [
      { name: 'b', type: 'symlink', linkname: `../../../../../../${outside}` },
      { name: 'a', type: 'symlink', linkname: 'b/sub' },
      { name: 'a/secret', body: 'pwned' },
    ],
    expect: (layer, outside) => assert.equal(readFileSync(join(layer, outside, 'sub/secret'), 'utf8'), 'pwned'),
  },
  {
    name: 'a symlink replacing a directory does not carry later entries out',
    entries: (outside) => [
      { name: 'd/', type: 'directory' },
      { name: 'd/f', body: 'f' },
      { name: 'd', type: 'symlink', linkname: outside },
      { name: 'd/victim', body: 'pwned' },
    ],
    expect: (layer, outside) => {
      assert.equal(lstatSync(join(layer, 'd')).isSymbolicLink(), true);
      assert.equal(readFileSync(join(layer, outside, 'victim'), 'utf8'), 'pwned');
    },
  },
  {
    name: 'a file entry replaces a symlink at its place instead of writing through it',
    entries: (outside) => [
      { name: 'f', type: 'symlink', linkname: `${outside}/victim` },
      { name: 'f', body: 'pwned' },
    ],
    expect: (layer) => assert.equal(readFileSync(join(layer, 'f'), 'utf8'), 'pwned'),
  },
  {
    name: 'a hard link to ../../x is refused',
    entries: () => [{ name: 'h', type: 'link', linkname: '../outside/sub/secret' }],
    expect: /layer entry "h": the path climbs out of the layer/,
  },
  {
    name: 'a hard link through a symlink to outside is refused (target not in this layer)',
    entries: (outside) => [
      { name: 's', type: 'symlink', linkname: `${outside}/sub` },
      { name: 'h', type: 'link', linkname: 's/secret' },
    ],
    expect: /hard link target "s\/secret" is not in this layer/,
  },
  {
    // CVE-2021-41089 class: the link is a symlink, and a mode applied to it by path would reach the host file.
    name: 'a hard link to a symlink to a host file gets no mode, and the host file keeps its own',
    entries: (outside) => [
      { name: 's', type: 'symlink', linkname: `${outside}/victim` },
      { name: 'h', type: 'link', linkname: 's', mode: 0o777 },
    ],
    expect: (layer) => assert.ok(lstatSync(join(layer, 'h')).isSymbolicLink()),
  },
  {
    name: 'a hard link to an absolute host path is confined and refused',
    entries: (outside) => [{ name: 'h', type: 'link', linkname: `${outside}/sub/secret` }],
    expect: /is not in this layer/,
  },
  {
    name: 'a hard link to a directory is refused',
    entries: () => [
      { name: 'd/', type: 'directory' },
      { name: 'h', type: 'link', linkname: 'd' },
    ],
    expect: /hard link target "d" is a directory/,
  },
  {
    name: 'a hard link to itself is refused and the file kept',
    entries: () => [
      { name: 'f', body: 'f' },
      { name: 'f', type: 'link', linkname: 'f' },
    ],
    expect: /layer entry "f": a hard link cannot point at itself/,
  },
  {
    name: 'a symlink loop is refused',
    entries: () => [
      { name: 'l1', type: 'symlink', linkname: 'l2' },
      { name: 'l2', type: 'symlink', linkname: 'l1' },
      { name: 'l1/x', body: 'x' },
    ],
    expect: /too many levels of symbolic links/,
  },
  {
    name: 'a whiteout through a symlink whites out inside the layer',
    entries: (outside) => [{ name: 'w', type: 'symlink', linkname: outside }, { name: 'w/.wh.victim' }, { name: 'w/.wh..wh..opq' }],
    expect: (layer, outside) => {
      assert.equal(lstatSync(join(layer, outside, 'victim')).isCharacterDevice(), true);
      assert.deepEqual(lgetxattr(join(layer, outside), 'trusted.overlay.opaque'), Buffer.from('y'));
      assert.equal(lgetxattr(outside, 'trusted.overlay.opaque'), undefined);
    },
  },
  {
    name: 'a bare .wh. is refused',
    entries: () => [{ name: 'dir/.wh.' }],
    expect: /layer entry "dir\/.wh.": a whiteout must name an entry/,
  },
  {
    name: 'a whiteout used as a directory is refused',
    entries: () => [{ name: '.wh.x/y', body: 'y' }],
    expect: /a whiteout cannot be a directory/,
  },
  {
    name: 'AUFS bookkeeping (.wh..wh.*) is skipped with its contents',
    entries: () => [
      { name: '.wh..wh.plnk/', type: 'directory' },
      { name: '.wh..wh.plnk/123.456', body: 'aufs' },
      { name: 'x/.wh..wh.aufs', body: '' },
      { name: 'kept', body: 'k' },
    ],
    expect: (layer) => assert.deepEqual(Object.keys(snapshotTree(layer)), ['kept', 'x']),
  },
];

for (const c of hostile) {
  test(`hostile layer: ${c.name}`, async (t) => {
    const a = arena(t);
    const tar = await craftTar(c.entries(a.outside));
    if (c.expect instanceof RegExp) {
      await assert.rejects(unpack(tar, a.layer), (err: unknown) => {
        assert.ok(isEngineError(err, 'invalid-parameter'), String(err));
        assert.match(err.message, c.expect as RegExp);
        return true;
      });
    } else {
      await unpack(tar, a.layer);
      c.expect(a.layer, a.outside);
    }
    a.check();
  });
}

function readlinkText(p: string): string {
  return execFileSync('readlink', [p], { encoding: 'utf8' }).trim();
}

test('whiteouts and opaque directories: a real overlay of two unpacked layers hides what they should', async (t) => {
  const dir = tempDir(t);
  const [l1, l2, merged] = ['l1', 'l2', 'merged'].map((n) => join(dir, n)) as [string, string, string];
  for (const d of [l1, l2, merged]) mkdirSync(d);
  await unpack(
    await craftTar([
      { name: 'keep', body: 'keep' },
      { name: 'gone', body: 'gone' },
      { name: 'gonedir/', type: 'directory' },
      { name: 'gonedir/inner', body: 'inner' },
      { name: 'opq/', type: 'directory' },
      { name: 'opq/lower-only', body: 'hidden' },
      { name: 'mixed/', type: 'directory' },
      { name: 'mixed/lower', body: 'lower' },
    ]),
    l1,
  );
  await unpack(
    await craftTarGz([
      { name: '.wh.gone' },
      { name: '.wh.gonedir' },
      { name: 'opq/', type: 'directory' },
      { name: 'opq/.wh..wh..opq' },
      { name: 'opq/upper', body: 'upper' },
      { name: 'mixed/upper', body: 'upper' },
    ]),
    l2,
  );
  mount('overlay', merged, 'overlay', ['ro'], `lowerdir=${l2}:${l1}`);
  try {
    assert.deepEqual(readdirSync(merged).sort(), ['keep', 'mixed', 'opq']);
    assert.deepEqual(readdirSync(join(merged, 'opq')), ['upper']);
    assert.deepEqual(readdirSync(join(merged, 'mixed')).sort(), ['lower', 'upper']);
    assert.equal(readFileSync(join(merged, 'keep'), 'utf8'), 'keep');
  } finally {
    umount(merged, ['detach']);
  }
});

test('a whiteout replaces an entry the same layer made earlier; a later entry replaces the whiteout', async (t) => {
  const dir = tempDir(t);
  await unpack(
    await craftTar([{ name: 'd/', type: 'directory' }, { name: 'd/x', body: 'x' }, { name: '.wh.d' }, { name: '.wh.back' }, { name: 'back', body: 'back' }]),
    dir,
  );
  assert.equal(lstatSync(join(dir, 'd')).isCharacterDevice(), true);
  assert.equal(readFileSync(join(dir, 'back'), 'utf8'), 'back');
});

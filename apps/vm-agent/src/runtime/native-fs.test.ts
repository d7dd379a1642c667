// The filesystem primitives against the real kernel: whiteouts, xattrs and an
// overlay mount that honours them. Needs root (mknod, trusted.* xattrs, mount).
import assert from 'node:assert/strict';
import { constants, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { isNativeError, lgetxattr, lsetxattr, mknod, mount, umount } from './native.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-native-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('mknod makes a 0/0 character device (an overlayfs whiteout) and reports EEXIST with the path', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'wh');
  mknod(path, constants.S_IFCHR | 0o600, 0, 0);
  const st = statSync(path);
  assert.ok(st.isCharacterDevice());
  assert.equal(st.rdev, 0);
  mknod(join(dir, 'null'), constants.S_IFCHR | 0o666, 1, 3);
  assert.equal(statSync(join(dir, 'null')).rdev, (1 << 8) | 3);
  assert.throws(
    () => mknod(path, constants.S_IFCHR | 0o600, 0, 0),
    (err: unknown) => isNativeError(err) && err.code === 'EEXIST' && err.syscall === 'mknod' && err.errno === -17 && err.message.includes(path),
  );
});

test('lsetxattr/lgetxattr round-trip bytes; an absent attribute is undefined', (t) => {
  const dir = tempDir(t);
  assert.equal(lgetxattr(dir, 'trusted.overlay.opaque'), undefined);
  lsetxattr(dir, 'trusted.overlay.opaque', Buffer.from('y'));
  assert.deepEqual(lgetxattr(dir, 'trusted.overlay.opaque'), Buffer.from('y'));
  const big = Buffer.alloc(3000, 7);
  lsetxattr(dir, 'user.berth.big', big);
  assert.deepEqual(lgetxattr(dir, 'user.berth.big'), big);
  assert.throws(() => lgetxattr(join(dir, 'missing'), 'user.x'), { code: 'ENOENT', syscall: 'lgetxattr' });
  assert.throws(() => lsetxattr(dir, 'user.x', 'y' as unknown as Buffer), TypeError);
});

test('an overlay honours whiteouts and opaque directories; umount detaches it', (t) => {
  const dir = tempDir(t);
  const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((n) => join(dir, n)) as [string, string, string, string];
  for (const d of [lower, upper, work, merged, join(lower, 'keep'), join(lower, 'opaque'), join(upper, 'opaque')]) mkdirSync(d, { recursive: true });
  writeFileSync(join(lower, 'gone'), 'lower');
  writeFileSync(join(lower, 'keep', 'a'), 'a');
  writeFileSync(join(lower, 'opaque', 'hidden'), 'hidden');
  writeFileSync(join(upper, 'opaque', 'shown'), 'shown');
  mknod(join(upper, 'gone'), constants.S_IFCHR, 0, 0); // whiteout: deletes lower/gone
  lsetxattr(join(upper, 'opaque'), 'trusted.overlay.opaque', Buffer.from('y')); // hides lower/opaque/*

  mount('overlay', merged, 'overlay', 0, `lowerdir=${lower},upperdir=${upper},workdir=${work}`);
  let mounted = true;
  t.after(() => {
    if (mounted) umount(merged, ['detach']);
  });
  assert.equal(existsSync(join(merged, 'gone')), false);
  assert.deepEqual(readdirSync(join(merged, 'keep')), ['a']);
  assert.deepEqual(readdirSync(join(merged, 'opaque')), ['shown']);
  umount(merged);
  mounted = false;
  assert.deepEqual(readdirSync(merged), []);
});

test('mount errors name the mount, and unknown flag names are a TypeError', (t) => {
  const dir = tempDir(t);
  assert.throws(
    () => mount('overlay', join(dir, 'nope'), 'overlay', ['nosuid'], 'lowerdir=/nonexistent'),
    (err: unknown) =>
      isNativeError(err) && err.syscall === 'mount' && /mount `overlay` \(type overlay\) on `.*nope` with options lowerdir=\/nonexistent: /.test(err.message),
  );
  assert.throws(() => mount(dir, dir, null, ['bind', 'bogus' as 'bind']), /unknown flag "bogus"/);
  mount(dir, dir, null, ['bind']);
  umount(dir, ['detach']);
  assert.throws(() => umount(dir), { code: 'EINVAL', syscall: 'umount2' });
});

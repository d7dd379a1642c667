import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MAX_DB_BYTES, resolveUser } from './container-user.js';

function rootfs(): string {
  const root = mkdtempSync(join(tmpdir(), 'berth-user-'));
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\napp:x:1000:\nextra:x:2000:app\n');
  return root;
}

test('names resolve from the container files; numeric ids need neither file', async () => {
  const root = rootfs();
  try {
    assert.deepEqual(await resolveUser(root, 'app'), { uid: 1000, gid: 1000, additionalGids: [2000] });
    assert.deepEqual(await resolveUser(root, 'app:extra'), { uid: 1000, gid: 2000, additionalGids: [] });
    rmSync(join(root, 'etc/passwd'));
    mkdirSync(join(root, 'etc/passwd'));
    assert.deepEqual(await resolveUser(root, '5:6'), { uid: 5, gid: 6, additionalGids: [] });
    assert.deepEqual(await resolveUser(root, ''), { uid: 0, gid: 0, additionalGids: [] });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('an oversized passwd is refused with a clear error instead of being read whole', async () => {
  const root = rootfs();
  try {
    truncateSync(join(root, 'etc/passwd'), 100 * 1024 * 1024); // sparse: 100 MB that costs no disk
    await assert.rejects(resolveUser(root, 'app'), (err: Error) => {
      assert.equal(err.message, `unable to find user app: /etc/passwd is larger than ${MAX_DB_BYTES / 1024 / 1024} MiB (104857600 bytes)`);
      return true;
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a FIFO or device swapped in for /etc/passwd is refused without blocking', async () => {
  const root = rootfs();
  try {
    rmSync(join(root, 'etc/passwd'));
    execFileSync('mkfifo', [join(root, 'etc/passwd')]);
    await assert.rejects(resolveUser(root, 'app'), /^EngineError: unable to find user app: \/etc\/passwd is not a regular file$/);
    rmSync(join(root, 'etc/passwd'));
    symlinkSync('/dev/zero', join(root, 'etc/passwd'));
    // Resolved inside the rootfs: its /dev/zero does not exist, so there is no such user (the host's is never read).
    await assert.rejects(resolveUser(root, 'app'), /unable to find user app: no matching entries in passwd file/);
    mkdirSync(join(root, 'dev'));
    execFileSync('mknod', [join(root, 'dev/zero'), 'c', '1', '5']);
    await assert.rejects(resolveUser(root, 'app'), /^EngineError: unable to find user app: \/etc\/passwd is not a regular file$/);
    rmSync(join(root, 'dev/zero'));
    symlinkSync('/dev/zero', join(root, 'dev/zero')); // a loop within the root
    await assert.rejects(resolveUser(root, 'app'), /^EngineError: unable to find user app: too many levels of symbolic links/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a symlink to the host passwd reads the container own file', async () => {
  const root = rootfs();
  try {
    writeFileSync(join(root, 'etc/real'), 'only:x:42:42::/:/bin/sh\n');
    rmSync(join(root, 'etc/passwd'));
    symlinkSync('/etc/real', join(root, 'etc/passwd'));
    assert.equal((await resolveUser(root, 'only')).uid, 42);
    await assert.rejects(resolveUser(root, 'root'), /no matching entries/); // the host's root entry is not seen
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

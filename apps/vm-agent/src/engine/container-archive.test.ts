import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { craftTar } from '../images/testing/craft-tar.js';
import { extractIntoRoot } from './container-archive.js';

/** A container rootfs and, beside it, a host file a hostile tar aims at. */
function arena(t: { after(fn: () => void): void }) {
  const base = mkdtempSync(join(tmpdir(), 'berth-archive-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const root = join(base, 'rootfs');
  mkdirSync(join(root, 'tmp'), { recursive: true });
  const victim = join(base, 'host-secret');
  writeFileSync(victim, 'secret');
  chmodSync(victim, 0o600);
  return { root, victim };
}

const extract = (root: string, tar: Buffer) => extractIntoRoot(root, '/tmp', Readable.from([tar]), { noOverwriteDirNonDir: false, containerName: 'c1' });

test('docker cp: a hard link to a symlink never carries a mode out of the container (CVE-2021-41089 class)', async (t) => {
  const { root, victim } = arena(t);
  const tar = await craftTar([
    // `s` points at the host file by its host path: inside the container it names nothing.
    { name: 's', type: 'symlink', linkname: victim },
    // A hard link to `s` is a second name of the symlink; its header's mode must not land on what `s` points at.
    { name: 'h', type: 'link', linkname: 's', mode: 0o777, uid: 1234, gid: 1234 },
    // A plain file still gets its mode: the fix skips symlinks, not modes.
    { name: 'f', body: 'plain', mode: 0o640 },
  ]);
  await extract(root, tar);
  const st = statSync(victim);
  assert.equal(st.mode & 0o7777, 0o600, 'the host file keeps its mode');
  assert.equal(st.uid, process.getuid!(), 'and its owner');
  assert.equal(readFileSync(victim, 'utf8'), 'secret');
  assert.ok(lstatSync(join(root, 'tmp/h')).isSymbolicLink(), 'the link was made, as a symlink');
  assert.equal(lstatSync(join(root, 'tmp/f')).mode & 0o7777, 0o640);
});

test('docker cp: a hard link named by an absolute path to a symlink is confined the same way', async (t) => {
  const { root, victim } = arena(t);
  const tar = await craftTar([
    { name: 'dir/', type: 'directory', mode: 0o755 },
    { name: 'dir/s', type: 'symlink', linkname: victim },
    { name: 'dir/h', type: 'link', linkname: '/dir/s', mode: 0o4777 },
  ]);
  await extract(root, tar);
  assert.equal(statSync(victim).mode & 0o7777, 0o600, 'the host file keeps its mode');
  assert.ok(lstatSync(join(root, 'tmp/dir/h')).isSymbolicLink());
});

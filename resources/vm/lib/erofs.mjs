// The guest's root file system as a compressed, read-only EROFS image
// (mkfs.erofs from Debian's erofs-utils). The VM attaches it as a read-only
// virtio disk and pages it in on demand, so the root costs guest memory only
// for what is read, and that as reclaimable page cache.
//
// Byte-for-byte reproducible: the tree is staged from the same entries the
// cpio writer takes (sorted, modes explicit), and mkfs.erofs is given a fixed
// timestamp for every inode, a fixed UUID, root ownership and no xattrs.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Fixed so that two builds of the same inputs are the same bytes. */
const UUID = '62657274-682d-726f-6f74-2d6572656673';

/**
 * Writes entries ({ path, type: 'dir'|'file'|'symlink', mode?, data?, target? })
 * under dir, in path order so parents come first.
 * @param {Iterable<import('./cpio.mjs').Entry>} entries
 * @param {string} dir an empty directory
 */
export function stageTree(entries, dir) {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const e of sorted) {
    const p = join(dir, e.path);
    if (e.type === 'dir') {
      mkdirSync(p, { recursive: true });
      chmodSync(p, e.mode ?? 0o755);
    } else if (e.type === 'symlink') {
      symlinkSync(e.target, p);
    } else if (e.type === 'file') {
      writeFileSync(p, e.data);
      chmodSync(p, e.mode); // not the build's umask
    } else {
      throw new Error(`the root image cannot hold ${e.type} entries (${e.path}); devtmpfs makes device nodes`);
    }
  }
  chmodSync(dir, 0o755);
}

/**
 * mkfs.erofs with LZ4HC: the guest kernel has LZ4 built in, and it is the
 * cheapest decompressor under emulation (TCG).
 * @param {string} dir staged tree
 * @param {string} image output file
 * @param {number} epoch every inode's time (SOURCE_DATE_EPOCH)
 */
export function makeErofs(dir, image, epoch) {
  const args = ['-zlz4hc', `-T${epoch}`, '--ignore-mtime', `-U${UUID}`, '--all-root', '-x-1', '--quiet', image, dir];
  try {
    execFileSync('mkfs.erofs', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    if (/** @type {any} */ (err).code === 'ENOENT')
      throw new Error('mkfs.erofs is not installed (apt-get install erofs-utils); it makes the root file system image');
    throw new Error(`mkfs.erofs ${args.join(' ')} failed: ${String(/** @type {any} */ (err).stderr ?? '').trim()}`);
  }
}

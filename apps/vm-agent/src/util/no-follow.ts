import { constants as fsc } from 'node:fs';
import { chmod, lstat, open } from 'node:fs/promises';
import { errnoCode } from '../errors.js';

/**
 * chmod that never follows a symlink at `path` (CVE-2021-41089 class: a tar's
 * hard link to a symlink makes a symlink at `path`, and a plain chmod would
 * change whatever it points at, resolved on the host). Linux has no lchmod and
 * a symlink's own mode means nothing, so a symlink is left as it is.
 * Files and directories are changed through a descriptor opened O_NOFOLLOW,
 * so a symlink swapped in after the lstat is refused by the kernel (ELOOP)
 * rather than followed; other kinds (devices, FIFOs) are not opened, which
 * could act on a device, and are changed by path.
 */
export async function chmodNoFollow(path: string, mode: number): Promise<void> {
  const st = await lstat(path);
  if (st.isSymbolicLink()) return;
  if (!st.isFile() && !st.isDirectory()) return chmod(path, mode);
  let fh;
  try {
    fh = await open(path, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK | fsc.O_NOCTTY);
  } catch (err) {
    if (errnoCode(err) === 'ELOOP') return; // became a symlink since the lstat
    throw err;
  }
  try {
    await fh.chmod(mode);
  } finally {
    await fh.close();
  }
}

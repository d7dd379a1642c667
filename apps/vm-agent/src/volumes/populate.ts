/**
 * Filling a new volume from the image, as dockerd does on a volume's first
 * use: when the volume is empty and the image has a directory at the mount
 * path, its content is copied in with owners, modes, times and symlinks
 * kept; the volume's root takes the directory's owner and mode.
 *
 * The path inside the rootfs is walked without following symlinks, so an
 * image can not make the agent copy host files into a volume.
 */
import { chmod, copyFile, lchown, lstat, lutimes, mkdir, readdir, readlink, symlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { constants } from 'node:fs';
import { join } from 'node:path';

async function isEmptyDir(dir: string): Promise<boolean> {
  return (await readdir(dir)).length === 0;
}

/** lstat of `rel` under `root` with no symlink on the way; undefined when missing or crossing a link. */
async function lstatInRoot(root: string, rel: string): Promise<{ path: string; st: Stats } | undefined> {
  let path = root;
  let st: Stats | undefined;
  for (const part of rel.split('/').filter(Boolean)) {
    path = join(path, part);
    st = await lstat(path).catch(() => undefined);
    if (!st || st.isSymbolicLink()) return undefined;
  }
  return st ? { path, st } : undefined;
}

async function copyMeta(dst: string, st: Stats): Promise<void> {
  await lchown(dst, st.uid, st.gid);
  if (!st.isSymbolicLink()) await chmod(dst, st.mode & 0o7777);
  await lutimes(dst, st.atime, st.mtime);
}

/** Copies the tree under `src` into the existing directory `dst` (regular files, dirs, symlinks; other types are skipped). */
export async function copyTree(src: string, dst: string): Promise<void> {
  for (const name of await readdir(src)) {
    const s = join(src, name);
    const d = join(dst, name);
    const st = await lstat(s);
    if (st.isDirectory()) {
      await mkdir(d);
      await copyTree(s, d);
    } else if (st.isFile()) {
      await copyFile(s, d, constants.COPYFILE_EXCL);
    } else if (st.isSymbolicLink()) {
      await symlink(await readlink(s), d);
    } else {
      continue;
    }
    await copyMeta(d, st);
  }
}

/**
 * Copies the image's content at `destination` (inside `rootfs`) into the
 * volume directory `volumeDir` if that is empty. Returns whether it copied.
 */
export async function populateVolume(rootfs: string, destination: string, volumeDir: string): Promise<boolean> {
  if (!(await isEmptyDir(volumeDir))) return false;
  const found = await lstatInRoot(rootfs, destination);
  if (!found || !found.st.isDirectory()) return false;
  await copyTree(found.path, volumeDir);
  await copyMeta(volumeDir, found.st);
  return true;
}

/**
 * `docker diff`: the container's changes read from its overlay upper dir.
 * Kind 0 modified, 1 added, 2 deleted, as dockerd reports them. Mount points
 * the runtime creates for its binds (/etc/hosts...) are not changes, as they
 * live in dockerd's init layer there, and neither are the directories that
 * layer holds (/etc of an image without one); commit and build leave them
 * out of the layer (runtimeMountPoints). Other mount points, such as
 * /sbin/docker-init of --init or a bind's target, are changes there too.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { OVERLAY_OPAQUE_XATTR } from '../images/layer-unpack.js';
import { lgetxattr } from '../runtime/native.js';

export interface Change {
  Path: string;
  Kind: 0 | 1 | 2;
}

/** Created by the runtime for its mounts; hidden from diff, as dockerd's init layer hides them. */
export const INIT_PATHS = new Set([
  '/etc/hosts',
  '/etc/hostname',
  '/etc/resolv.conf',
  '/dev',
  '/proc',
  '/sys',
  '/dev/pts',
  '/dev/shm',
  '/dev/console',
  '/.dockerenv',
]);

/** The directories dockerd's init layer holds: under every container, whatever its image has. */
const INIT_LAYER_DIRS = new Set(['/etc', '/dev', '/dev/pts', '/dev/shm', '/proc', '/sys']);

/**
 * The runtime's mount points in an upper dir that are no change of the
 * container's, as paths like '/etc/hosts': the empty ones of INIT_PATHS the
 * image's layers lack, and init-layer directories the image lacks that hold
 * nothing else. A commit or build step leaves them out of its layer (the
 * upper dir itself is not touched: the container may be running).
 */
export async function runtimeMountPoints(upper: string, lowers: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  const candidates = [...new Set([...INIT_PATHS, ...INIT_LAYER_DIRS])].sort((a, b) => b.length - a.length);
  for (const p of candidates) {
    const st = await lstat(join(upper, p)).catch(() => undefined);
    if (!st || (await existsInLower(lowers, p))) continue;
    const empty = st.isFile() ? st.size === 0 : st.isDirectory() ? (await readdir(join(upper, p))).every((n) => out.has(`${p}/${n}`)) : false;
    if (empty) out.add(p);
  }
  return out;
}

async function existsInLower(lowers: string[], rel: string): Promise<boolean> {
  for (const l of lowers) {
    try {
      await lstat(join(l, rel));
      return true;
    } catch {
      // not in this layer
    }
  }
  return false;
}

/**
 * A modified directory is listed only when something under it changed: the
 * upper dir holds copies of directories whose only change is a mount point
 * the runtime made (/etc for /etc/hostname).
 */
export async function containerChanges(upper: string, lowers: string[]): Promise<Change[]> {
  const walk = async (rel: string, parentAdded: boolean): Promise<Change[]> => {
    let names: string[];
    try {
      names = (await readdir(join(upper, rel))).sort();
    } catch {
      return [];
    }
    const out: Change[] = [];
    for (const name of names) {
      const path = `${rel}/${name}`;
      const st = await lstat(join(upper, path));
      if (st.isCharacterDevice() && st.rdev === 0) {
        out.push({ Path: path, Kind: 2 });
        continue;
      }
      const added = parentAdded || !(INIT_LAYER_DIRS.has(path) || (await existsInLower(lowers, path)));
      const opaque = st.isDirectory() && lgetxattr(join(upper, path), OVERLAY_OPAQUE_XATTR)?.toString() === 'y';
      const inner = st.isDirectory() ? await walk(path, added || opaque) : [];
      const visible = INIT_PATHS.has(path) ? false : added || !st.isDirectory() || inner.length > 0;
      if (visible) out.push({ Path: path, Kind: added ? 1 : 0 });
      out.push(...inner);
    }
    return out;
  };
  return walk('', false);
}

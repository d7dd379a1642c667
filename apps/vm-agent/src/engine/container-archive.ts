/**
 * `docker cp`: stat, tar out and tar in paths of a container's filesystem.
 *
 * Paths are resolved in a view of the container's filesystem as its
 * processes see it (`FsView`): the rootfs, with the container's binds and
 * volumes over it, so `docker cp` reaches into a volume as dockerd does
 * (it resolves through the container's mount points). Every path is resolved
 * as if that view were `/`: symlinks (absolute or relative) and `..` never
 * lead outside it, and a symlink inside a volume that points to /etc means
 * the container's /etc. Extraction resolves each entry's parent that way and
 * never follows the entry's own name (an existing symlink is replaced, not
 * written through); it refuses read-only volumes and a read-only rootfs.
 * Resolution is done with path strings, so a process in a running container
 * that swaps a directory for a symlink at the right moment could race it;
 * the callers hold a running container frozen for the whole call (see
 * CopyFreeze). openat2(RESOLVE_IN_ROOT) would be the sturdier tool.
 */
import { constants as fsc, createReadStream } from 'node:fs';
import { lchown, link, lstat, lutimes, mkdir, open, readdir, readlink, rm, symlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { invalidParameter, isEngineError, notFound, systemError } from '../errors.js';
import { chmodNoFollow } from '../util/no-follow.js';

const MAX_LINKS = 40;

/** A bind or volume over the rootfs: `destination` (absolute, normalized) in the container is `source` on the host. */
export interface ViewMount {
  destination: string;
  source: string;
  readonly: boolean;
  /** A tmpfs lives only in the running container's mount namespace: there is nothing on the host to reach. */
  tmpfs?: boolean;
}

/** A container's filesystem as its processes see it. A bare rootfs path is a view without mounts. */
export interface FsView {
  root: string;
  mounts: readonly ViewMount[];
  readonlyRootfs?: boolean;
}

const asView = (v: string | FsView): FsView => (typeof v === 'string' ? { root: v, mounts: [] } : v);
const partsOf = (destination: string) => destination.split('/').filter((c) => c !== '');

/** The deepest mount holding the container path `parts`, if any. */
function mountOf(view: FsView, parts: readonly string[]): { mount: ViewMount; depth: number } | undefined {
  let best: { mount: ViewMount; depth: number } | undefined;
  for (const mount of view.mounts) {
    const dest = partsOf(mount.destination);
    if (dest.length > parts.length || (best && dest.length <= best.depth)) continue;
    if (dest.every((c, i) => parts[i] === c)) best = { mount, depth: dest.length };
  }
  return best;
}

/** The host path of container path `parts`: under the mount that holds it, else in the rootfs. */
function hostOf(view: FsView, parts: readonly string[], path = `/${parts.join('/')}`): string {
  const m = mountOf(view, parts);
  if (!m) return join(view.root, ...parts);
  if (m.mount.tmpfs)
    throw invalidParameter(`${path} is on the tmpfs mount ${m.mount.destination}, which exists only inside the running container; docker cp cannot reach it`);
  return join(m.mount.source, ...parts.slice(m.depth));
}

/** The container path `path` resolves to, as components, following symlinks within the view (the last one too unless `followLast` is false). */
async function resolveParts(view: FsView, path: string, followLast: boolean): Promise<string[]> {
  let pending = path.split('/').filter((c) => c !== '' && c !== '.');
  const done: string[] = [];
  let links = 0;
  while (pending.length) {
    const comp = pending.shift()!;
    if (comp === '..') {
      done.pop();
      continue;
    }
    if (comp === '.') continue;
    if (pending.length === 0 && !followLast) {
      done.push(comp);
      break;
    }
    let target: string | undefined;
    try {
      const host = hostOf(view, [...done, comp], path);
      if ((await lstat(host)).isSymbolicLink()) target = await readlink(host);
    } catch (err) {
      if (isEngineError(err)) throw err; // a tmpfs on the way
      // does not exist: the rest is taken literally
    }
    if (target === undefined) {
      done.push(comp);
      continue;
    }
    if (++links > MAX_LINKS) throw invalidParameter(`too many levels of symbolic links resolving ${path}`);
    if (target.startsWith('/')) done.length = 0;
    pending = [...target.split('/').filter((c) => c !== ''), ...pending];
  }
  return done;
}

/** The host path for `path` inside the view (or a bare rootfs), following symlinks within it (the last one too unless `followLast` is false). */
export async function resolveInRoot(root: string | FsView, path: string, followLast = true): Promise<string> {
  const view = asView(root);
  return hostOf(view, await resolveParts(view, path, followLast), path);
}

export interface PathStat {
  name: string;
  size: number;
  /** Go's os.FileMode bits, as the CLI decodes them. */
  mode: number;
  mtime: string;
  linkTarget: string;
}

const GO_MODE_DIR = 0x80000000;
const GO_MODE_SYMLINK = 0x08000000;

export async function statInRoot(root: string | FsView, path: string, containerName: string): Promise<PathStat> {
  const view = asView(root);
  const host = await resolveInRoot(view, path, false);
  let st;
  try {
    st = await lstat(host);
  } catch {
    throw notFound(`Could not find the file ${path} in container ${containerName}`);
  }
  let linkTarget = '';
  if (st.isSymbolicLink()) linkTarget = `/${(await resolveParts(view, path, true)).join('/')}`;
  const mode = (st.mode & 0o7777) | (st.isDirectory() ? GO_MODE_DIR : 0) | (st.isSymbolicLink() ? GO_MODE_SYMLINK : 0);
  return { name: posix.basename(path) || '/', size: st.size, mode: mode >>> 0, mtime: st.mtime.toISOString(), linkTarget };
}

/** A tar of `path` (a file, or a directory and everything in it, mounts included) named by its base name. */
export async function tarFromRoot(root: string | FsView, path: string, containerName: string): Promise<Readable> {
  const view = asView(root);
  const top = await resolveParts(view, path, true);
  try {
    await lstat(hostOf(view, top, path));
  } catch (err) {
    if (isEngineError(err)) throw err;
    throw notFound(`Could not find the file ${path} in container ${containerName}`);
  }
  const base = posix.basename(posix.normalize(`/${path}`)) || '.';
  const pack = tar.pack();
  /** A directory's entries, with the mount points right under it (their directory may not exist beneath the mount). */
  const children = async (parts: string[], host: string): Promise<string[]> => {
    const names = new Set(await readdir(host));
    for (const m of view.mounts) {
      const dest = partsOf(m.destination);
      if (!m.tmpfs && dest.length === parts.length + 1 && parts.every((c, i) => dest[i] === c)) names.add(dest[parts.length]!);
    }
    return [...names].sort();
  };
  const add = async (parts: string[], name: string): Promise<void> => {
    const hostPath = hostOf(view, parts);
    const st = await lstat(hostPath);
    const common = { name, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
    if (st.isDirectory()) {
      pack.entry({ ...common, type: 'directory' });
      for (const child of await children(parts, hostPath)) {
        if (mountOf(view, [...parts, child])?.mount.tmpfs) continue; // nothing of it on the host
        await add([...parts, child], `${name}/${child}`);
      }
    } else if (st.isSymbolicLink()) {
      pack.entry({ ...common, type: 'symlink', linkname: await readlink(hostPath) });
    } else if (st.isFile()) {
      await new Promise<void>((resolve, reject) => {
        const entry = pack.entry({ ...common, type: 'file', size: st.size }, (err) => (err ? reject(err) : resolve()));
        const src = createReadStream(hostPath, { end: Math.max(st.size - 1, 0), start: 0 });
        if (st.size === 0) return void (src.destroy(), (entry as unknown as { end(): void }).end());
        src.on('data', (c) => {
          if (!entry.write(c)) {
            src.pause();
            entry.once('drain', () => src.resume());
          }
        });
        src.once('end', () => (entry as unknown as { end(): void }).end());
        src.once('error', reject);
      });
    }
    // devices, fifos and sockets are skipped
  };
  void add(top, base).then(
    () => pack.finalize(),
    (err: Error) => pack.destroy(err),
  );
  return pack as unknown as Readable;
}

/** dockerd's refusals for writing where the container may not: a read-only volume or bind (400), a read-only rootfs. */
function checkWritable(view: FsView, parts: readonly string[]): void {
  const m = mountOf(view, parts);
  if (m?.mount.readonly) throw invalidParameter('mounted volume is marked read-only');
  if (!m && view.readonlyRootfs) throw systemError('container rootfs is marked read-only');
}

/** Extracts a tar into directory `dest` of the container's filesystem (its volumes and binds included). */
export async function extractIntoRoot(
  root: string | FsView,
  dest: string,
  input: Readable,
  opts: { noOverwriteDirNonDir: boolean; containerName: string },
): Promise<void> {
  const view = asView(root);
  const destParts = await resolveParts(view, dest, true);
  const destHost = hostOf(view, destParts, dest);
  let destStat;
  try {
    destStat = await lstat(destHost);
  } catch {
    throw notFound(`Could not find the file ${dest} in container ${opts.containerName}`);
  }
  if (!destStat.isDirectory()) throw invalidParameter(`extraction point is not a directory: ${dest}`);
  checkWritable(view, destParts);
  const destRel = `/${destParts.join('/')}`;
  const extract = tar.extract();
  const work = (async () => {
    for await (const entry of extract) {
      const h = entry.header;
      const name = posix.normalize(h.name.replace(/^\/+/, ''));
      if (name === '..' || name.startsWith('../')) throw invalidParameter(`invalid tar entry ${JSON.stringify(h.name)}: it points outside the destination`);
      if (name === '.' || name === '') {
        entry.resume();
        continue;
      }
      const rel = posix.join(destRel, name);
      const parentParts = await resolveParts(view, posix.dirname(rel), true);
      const targetParts = [...parentParts, posix.basename(rel)];
      checkWritable(view, targetParts);
      const parent = hostOf(view, parentParts, rel);
      const target = hostOf(view, targetParts, rel);
      await mkdir(parent, { recursive: true });
      const existing = await lstat(target).catch(() => undefined);
      if (existing && opts.noOverwriteDirNonDir && existing.isDirectory() !== (h.type === 'directory')) {
        throw invalidParameter(
          `cannot overwrite ${existing.isDirectory() ? 'directory' : 'non-directory'} ${posix.join(dest, name)} with ${h.type === 'directory' ? 'directory' : 'non-directory'}`,
        );
      }
      if (existing && !(existing.isDirectory() && h.type === 'directory')) {
        // A bind's source is the user's own directory on the host: never removed to make room.
        if (mountOf(view, targetParts)?.depth === targetParts.length)
          throw invalidParameter(`cannot overwrite ${posix.join(dest, name)}: it is a mount point in the container`);
        await rm(target, { recursive: true, force: true });
      }
      switch (h.type) {
        case 'directory':
          await mkdir(target, { recursive: true });
          entry.resume();
          break;
        case 'file':
        case 'contiguous-file': {
          const fh = await open(target, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
          await pipeline(entry, fh.createWriteStream());
          break;
        }
        case 'symlink':
          await symlink(h.linkname ?? '', target);
          entry.resume();
          break;
        case 'link': {
          const from = await resolveInRoot(view, posix.join(destRel, posix.normalize((h.linkname ?? '').replace(/^\/+/, ''))), false);
          await link(from, target);
          entry.resume();
          break;
        }
        default:
          entry.resume(); // devices and fifos are not created by cp
          continue;
      }
      await lchown(target, h.uid ?? 0, h.gid ?? 0).catch(() => {});
      // Not chmod: a hard link to a symlink makes `target` a symlink, and chmod would follow it out of the root.
      await chmodNoFollow(target, (h.mode ?? 0o644) & 0o7777);
      const mtime = h.mtime ?? new Date();
      await lutimes(target, mtime, mtime).catch(() => {});
    }
  })();
  await Promise.all([pipeline(input, extract), work]);
}

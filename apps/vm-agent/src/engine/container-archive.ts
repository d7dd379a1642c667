/**
 * `docker cp`: stat, tar out and tar in paths of a container's filesystem.
 *
 * Every path is resolved as if the container's rootfs were `/`: symlinks
 * (absolute or relative) and `..` never lead outside it. Extraction resolves
 * each entry's parent that way and never follows the entry's own name (an
 * existing symlink is replaced, not written through).
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
import { invalidParameter, notFound } from '../errors.js';
import { chmodNoFollow } from '../util/no-follow.js';

const MAX_LINKS = 40;

/** The host path for `path` inside `root`, following symlinks within root (the last one too unless `followLast` is false). */
export async function resolveInRoot(root: string, path: string, followLast = true): Promise<string> {
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
    const host = join(root, ...done, comp);
    let target: string | undefined;
    try {
      if ((await lstat(host)).isSymbolicLink()) target = await readlink(host);
    } catch {
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
  return join(root, ...done);
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

export async function statInRoot(root: string, path: string, containerName: string): Promise<PathStat> {
  const host = await resolveInRoot(root, path, false);
  let st;
  try {
    st = await lstat(host);
  } catch {
    throw notFound(`Could not find the file ${path} in container ${containerName}`);
  }
  let linkTarget = '';
  if (st.isSymbolicLink()) linkTarget = '/' + posix.relative('/', (await resolveInRoot(root, path, true)).slice(root.length) || '/');
  const mode = (st.mode & 0o7777) | (st.isDirectory() ? GO_MODE_DIR : 0) | (st.isSymbolicLink() ? GO_MODE_SYMLINK : 0);
  return { name: posix.basename(path) || '/', size: st.size, mode: mode >>> 0, mtime: st.mtime.toISOString(), linkTarget };
}

/** A tar of `path` (a file, or a directory and everything in it) named by its base name. */
export async function tarFromRoot(root: string, path: string, containerName: string): Promise<Readable> {
  const host = await resolveInRoot(root, path, true);
  try {
    await lstat(host);
  } catch {
    throw notFound(`Could not find the file ${path} in container ${containerName}`);
  }
  const base = posix.basename(posix.normalize(`/${path}`)) || '.';
  const pack = tar.pack();
  const add = async (hostPath: string, name: string): Promise<void> => {
    const st = await lstat(hostPath);
    const common = { name, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
    if (st.isDirectory()) {
      pack.entry({ ...common, type: 'directory' });
      for (const child of (await readdir(hostPath)).sort()) await add(join(hostPath, child), `${name}/${child}`);
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
  void add(host, base).then(() => pack.finalize(), (err: Error) => pack.destroy(err));
  return pack as unknown as Readable;
}

/** Extracts a tar into directory `dest` of the container's filesystem. */
export async function extractIntoRoot(root: string, dest: string, input: Readable, opts: { noOverwriteDirNonDir: boolean; containerName: string }): Promise<void> {
  const destHost = await resolveInRoot(root, dest, true);
  let destStat;
  try {
    destStat = await lstat(destHost);
  } catch {
    throw notFound(`Could not find the file ${dest} in container ${opts.containerName}`);
  }
  if (!destStat.isDirectory()) throw invalidParameter(`extraction point is not a directory: ${dest}`);
  const destRel = destHost.slice(root.length) || '/';
  const extract = tar.extract();
  const work = (async () => {
    for await (const entry of extract) {
      const h = entry.header;
      const name = posix.normalize(h.name.replace(/^\/+/, ''));
      if (name === '..' || name.startsWith('../')) throw invalidParameter(`invalid tar entry ${JSON.stringify(h.name)}: it points outside the destination`);
      const rel = posix.join(destRel, name);
      const parent = await resolveInRoot(root, posix.dirname(rel), true);
      const target = join(parent, posix.basename(rel));
      if (name === '.' || name === '') {
        entry.resume();
        continue;
      }
      await mkdir(parent, { recursive: true });
      const existing = await lstat(target).catch(() => undefined);
      if (existing && opts.noOverwriteDirNonDir && existing.isDirectory() !== (h.type === 'directory')) {
        throw invalidParameter(`cannot overwrite ${existing.isDirectory() ? 'directory' : 'non-directory'} ${posix.join(dest, name)} with ${h.type === 'directory' ? 'directory' : 'non-directory'}`);
      }
      if (existing && !(existing.isDirectory() && h.type === 'directory')) await rm(target, { recursive: true, force: true });
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
          const from = await resolveInRoot(root, posix.join(destRel, posix.normalize((h.linkname ?? '').replace(/^\/+/, ''))), false);
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

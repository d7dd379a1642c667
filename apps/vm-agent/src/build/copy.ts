/**
 * COPY and ADD: finding the sources (in the context, or in another stage's
 * or image's filesystem for `--from`), hashing them for the cache and the
 * history (`file:<sha256>`), and copying them into a mounted rootfs.
 *
 * Rules, as the classic builder applies them:
 * - a source is relative to its root; `..` that climbs out of the context is
 *   refused, and symlinks are resolved inside the root, never outside;
 * - wildcards (`*`, `?`, `[...]`) match any path in the root; none matching
 *   is an error;
 * - a directory source copies its contents, not itself;
 * - with several sources the destination must be a directory (end in `/`);
 *   a file goes into the destination when it ends in `/` or is an existing
 *   directory, and is the destination otherwise;
 * - everything written (and every directory created on the way) belongs to
 *   0:0, or to `--chown`; modes and mtimes are kept;
 * - ADD extracts a local tar (plain or gzip) into the destination, keeping
 *   the archive's owners; URLs are refused (builds have no network here).
 */
import { createHash } from 'node:crypto';
import { constants as fsc, createReadStream, type Stats } from 'node:fs';
import { chmod, copyFile, lchown, lstat, lutimes, mkdir, open, readdir, readlink, rm, symlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { invalidParameter } from '../errors.js';
import { extractIntoRoot, resolveInRoot } from '../engine/container-archive.js';
import { maybeGunzip } from '../util/decompress.js';
import { globToRegExp, hasWildcard } from './dockerignore.js';

export interface CopySource {
  /** The path as matched, relative to the root (for messages). */
  rel: string;
  /** Where it is on the host. */
  host: string;
  isDir: boolean;
}

export interface Owner {
  uid: number;
  gid: number;
}

/**
 * Resolves COPY/ADD sources in `root`. `cmd` is for messages; `inContext`
 * selects the context's wording for missing or escaping paths.
 */
export async function resolveSources(root: string, srcs: string[], cmd: string, inContext: boolean): Promise<CopySource[]> {
  const out: CopySource[] = [];
  for (const src of srcs) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(src)) {
      if (cmd === 'COPY') throw invalidParameter(`source can't be a URL for COPY: ${src}`);
      throw invalidParameter(`ADD from a URL (${src}) is not supported by this engine: download the file into the build context and COPY it`);
    }
    const cleaned = posix.normalize(src.replace(/^\/+/, '') || '.');
    if (inContext && (cleaned === '..' || cleaned.startsWith('../'))) {
      throw invalidParameter(`${cmd} failed: forbidden path outside the build context: ${src} ()`);
    }
    const rel = posix.normalize(`/${cleaned}`).slice(1) || '.';
    if (hasWildcard(rel)) {
      const re = globToRegExp(rel);
      const matches = (await listTree(root)).filter((p) => re.test(p));
      for (const m of matches) {
        const host = await resolveInRoot(root, m, true);
        out.push({ rel: m, host, isDir: (await lstat(host)).isDirectory() });
      }
      continue;
    }
    const host = rel === '.' ? root : await resolveInRoot(root, rel, true);
    const st = await lstat(host).catch(() => undefined);
    if (!st) {
      throw invalidParameter(
        inContext
          ? `${cmd} failed: file not found in build context or excluded by .dockerignore: stat ${src}: file does not exist`
          : `${cmd} failed: stat ${src}: file does not exist`,
      );
    }
    out.push({ rel, host, isDir: st.isDirectory() });
  }
  if (out.length === 0) throw invalidParameter(`${cmd} failed: no source files were specified`);
  return out;
}

async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      out.push(p);
      if ((await lstat(join(root, p))).isDirectory()) await walk(p);
    }
  };
  await walk('');
  return out;
}

/**
 * What the history says the step copied, and the cache's view of it:
 * `file:<hex>`, `dir:<hex>` or `multi:<hex>`, over names, types, modes,
 * link targets and contents.
 */
export async function sourcesDigest(sources: CopySource[]): Promise<string> {
  const parts: string[] = [];
  for (const s of sources) parts.push(await treeHash(s.host));
  if (sources.length === 1) return `${sources[0]!.isDir ? 'dir' : 'file'}:${parts[0]}`;
  return `multi:${createHash('sha256').update(parts.join(',')).digest('hex')}`;
}

async function treeHash(host: string): Promise<string> {
  const h = createHash('sha256');
  const visit = async (path: string, name: string) => {
    const st = await lstat(path);
    h.update(`${name}\0${st.mode}\0`);
    if (st.isSymbolicLink()) h.update(`->${await readlink(path)}\0`);
    else if (st.isFile()) {
      h.update(`${st.size}\0`);
      await pipeline(createReadStream(path), async function* (src) {
        for await (const chunk of src) h.update(chunk as Buffer);
      });
    } else if (st.isDirectory()) {
      for (const child of (await readdir(path)).sort()) await visit(join(path, child), `${name}/${child}`);
    }
  };
  await visit(host, '.');
  return h.digest('hex');
}

export interface CopyOptions {
  cmd: 'COPY' | 'ADD';
  /** Absolute destination inside the rootfs (WORKDIR already applied); a trailing `/` means a directory. */
  dest: string;
  owner: Owner;
  /** `--chmod`, octal. */
  mode?: number;
}

export async function copyInto(rootfs: string, sources: CopySource[], opts: CopyOptions): Promise<void> {
  const destIsDir = opts.dest.endsWith('/');
  if (sources.length > 1 && !destIsDir) {
    throw invalidParameter(`When using ${opts.cmd} with more than one source file, the destination must be a directory and end with a /`);
  }
  for (const s of sources) {
    if (s.isDir) {
      const dir = await makeDirIn(rootfs, opts.dest, opts.owner);
      await copyTree(s.host, dir, opts, true);
      continue;
    }
    if (opts.cmd === 'ADD' && (await isTarArchive(s.host))) {
      await makeDirIn(rootfs, opts.dest, opts.owner);
      await extractIntoRoot(rootfs, opts.dest, maybeGunzip(createReadStream(s.host)), { noOverwriteDirNonDir: false, containerName: 'the build' });
      continue;
    }
    const existing = await lstat(await resolveInRoot(rootfs, opts.dest, true)).catch(() => undefined);
    let target: string;
    if (destIsDir || existing?.isDirectory()) {
      const dir = await makeDirIn(rootfs, opts.dest, opts.owner);
      target = join(dir, posix.basename(s.rel === '.' ? s.host : s.rel));
    } else {
      const parent = await makeDirIn(rootfs, posix.dirname(opts.dest), opts.owner);
      target = join(parent, posix.basename(opts.dest));
    }
    await copyTree(s.host, target, opts, false);
  }
}

/** Creates `path` (and its parents) inside the rootfs, new ones owned by `owner`; returns its host path. */
export async function makeDirIn(rootfs: string, path: string, owner: Owner): Promise<string> {
  const comps = path.split('/').filter((c) => c !== '' && c !== '.');
  let sofar = '/';
  for (const c of comps) {
    sofar = posix.join(sofar, c);
    const host = await resolveInRoot(rootfs, sofar, true);
    const st = await lstat(host).catch(() => undefined);
    if (st?.isDirectory()) continue;
    if (st) throw invalidParameter(`cannot copy to ${path}: ${sofar} exists and is not a directory`);
    await mkdir(host, { mode: 0o755 });
    await lchown(host, owner.uid, owner.gid);
  }
  return resolveInRoot(rootfs, path, true);
}

/** Copies `src` to `dst` (a directory's contents into `dst` when `contentsOnly`). `dst` is a host path inside the rootfs, already resolved. */
async function copyTree(src: string, dst: string, opts: CopyOptions, contentsOnly: boolean): Promise<void> {
  const st = await lstat(src);
  if (st.isDirectory()) {
    if (!contentsOnly) {
      const existing = await lstat(dst).catch(() => undefined);
      if (existing && !existing.isDirectory()) await rm(dst, { force: true });
      if (!existing?.isDirectory()) await mkdir(dst);
      await finish(dst, st, opts);
    }
    for (const name of (await readdir(src)).sort()) await copyTree(join(src, name), join(dst, name), opts, false);
    await lutimes(dst, st.atime, st.mtime).catch(() => {}); // after the contents, which moved it
    return;
  }
  const existing = await lstat(dst).catch(() => undefined);
  if (existing?.isDirectory()) throw invalidParameter(`cannot overwrite directory ${dst.slice(dst.indexOf('/rootfs/') + 7)} with a file`);
  if (existing) await rm(dst, { force: true });
  if (st.isSymbolicLink()) {
    await symlink(await readlink(src), dst);
  } else if (st.isFile()) {
    await copyFile(src, dst, fsc.COPYFILE_EXCL);
  } else {
    return; // devices, fifos and sockets are not copied
  }
  await finish(dst, st, opts);
  await lutimes(dst, st.atime, st.mtime).catch(() => {});
}

async function finish(path: string, st: Stats, opts: CopyOptions): Promise<void> {
  await lchown(path, opts.owner.uid, opts.owner.gid);
  if (!st.isSymbolicLink()) await chmod(path, opts.mode ?? st.mode & 0o7777);
}

/** A tar, plain or gzip, judged by its bytes as dockerd does (`ustar` magic at offset 257). */
async function isTarArchive(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  let head: Buffer;
  try {
    head = Buffer.alloc(512);
    const { bytesRead } = await fh.read(head, 0, 512, 0);
    head = head.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  if (head[0] === 0x1f && head[1] === 0x8b) head = await gunzipHead(path, 512);
  return head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
}

async function gunzipHead(path: string, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let have = 0;
  const src = createReadStream(path).pipe(createGunzip());
  try {
    for await (const c of src) {
      chunks.push(c as Buffer);
      have += (c as Buffer).length;
      if (have >= n) break;
    }
  } catch {
    // not gzip after all, or truncated: not an archive
  } finally {
    src.destroy();
  }
  return Buffer.concat(chunks).subarray(0, n);
}

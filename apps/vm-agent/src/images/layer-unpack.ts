/**
 * Unpacks one image layer (a tar, plain or gzip) into an empty directory that
 * will serve as an overlayfs lower (or upper) layer.
 *
 * Contract:
 * - `destDir` exists, is empty, and is private to this call while it runs (no
 *   one else creates, renames or replaces entries in it). That is what makes
 *   the component-by-component path checks below race-free without openat2.
 * - Nothing is ever created, changed or followed outside `destDir`, whatever
 *   the tar says:
 *     - an entry name with a leading `/` is taken relative to `destDir`, and
 *       `..` at the top of such a name stays at the top (Docker's rule);
 *     - a relative name that climbs out (`../x`, `a/../../x`) is refused;
 *     - the directories on the way to an entry are resolved inside `destDir`
 *       as if `destDir` were the root of a chroot: a symlink met on the way is
 *       followed, but an absolute target restarts at `destDir` and `..` never
 *       climbs above it. So `etc -> /etc` then `etc/passwd` writes
 *       `destDir/etc/passwd`, which is also what the container will see;
 *     - the entry itself is never followed: whatever is at its place is
 *       removed first (a directory is kept only if the entry is a directory);
 *     - a hard link's target is resolved the same way, must already have been
 *       extracted by this layer, and must not be a directory.
 * - Docker whiteouts become overlayfs ones: `.wh.NAME` removes NAME from this
 *   layer and puts a 0/0 character device in its place; `.wh..wh..opq` marks
 *   its directory opaque (`trusted.overlay.opaque=y`). Other `.wh..wh.*` names
 *   (AUFS bookkeeping) are skipped with everything under them; a whiteout used
 *   as a directory (`.wh.x/y`) or with nothing to name (`.wh.`) is refused.
 * - The top-level entry (`./`) is skipped: the layer directory keeps its own
 *   owner and mode.
 * - Owners (numeric), modes including setuid/setgid/sticky, mtimes (directories
 *   last, after their contents) and xattrs from PAX `SCHILY.xattr.*` records
 *   are applied. Of the xattrs only `security.capability`, `user.*` and POSIX
 *   ACLs are kept: `trusted.overlay.*` would steer overlayfs and the other
 *   `security.*` labels belong to the host's policy.
 * - The whole uncompressed stream is hashed as it goes; `diffID` is its
 *   sha256 for the caller to compare with the image config's `diff_ids`.
 * - On error the directory is left half-made; the caller removes it.
 * - Memory stays bounded: file data streams to disk; only one small record per
 *   directory (for its times) is kept until the end.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { constants as fsc } from 'node:fs';
import { link, lstat, lutimes, mkdir, open, readlink, realpath, rm, symlink, lchown } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import * as tar from 'tar-stream';
import { errnoCode, errorMessage, invalidParameter, isEngineError, systemError } from '../errors.js';
import { lsetxattr, mknod } from '../runtime/native.js';
import { chmodNoFollow } from '../util/no-follow.js';
import type { TraceTotals } from '../util/trace.js';

export interface UnpackOptions {
  /** Refuse the layer once its uncompressed size passes this many bytes (decompression bombs). */
  maxBytes?: number;
  /** Where time goes (hashing, file writes, metadata), summed for BERTH_TRACE=1. */
  totals?: TraceTotals;
}

export interface UnpackResult {
  /** `sha256:<hex>` of the uncompressed tar: compare with the config's `diff_ids`. */
  diffID: string;
  /** Bytes of regular-file content written. */
  size: number;
}

export const WHITEOUT_PREFIX = '.wh.';
export const WHITEOUT_META_PREFIX = '.wh..wh.';
export const WHITEOUT_OPAQUE = '.wh..wh..opq';
export const OVERLAY_OPAQUE_XATTR = 'trusted.overlay.opaque';

/** Symlinks followed while resolving one path, as the kernel's limit. */
const MAX_SYMLINK_FOLLOWS = 40;

export async function unpackLayer(input: Readable, destDir: string, opts: UnpackOptions = {}): Promise<UnpackResult> {
  let root: string;
  let source: Awaited<ReturnType<typeof decompressed>>;
  try {
    root = await realpath(destDir);
    source = await decompressed(input);
  } catch (err) {
    input.destroy(); // free the connection the layer came from
    throw err;
  }
  const { stream, decompressor } = source;
  const hash = createHash('sha256');
  let total = 0;
  const hasher = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      total += chunk.length;
      if (opts.maxBytes !== undefined && total > opts.maxBytes) {
        cb(invalidParameter(`layer is larger than the limit of ${opts.maxBytes} bytes uncompressed (a corrupt or malicious layer, or raise the limit)`));
        return;
      }
      if (opts.totals) opts.totals.time('hash', () => hash.update(chunk));
      else hash.update(chunk);
      cb(null, chunk);
    },
  });
  const ex = tar.extract();
  const rawPax = captureRawPax(ex);
  // tar-stream's extractor is a streamx Writable, which node's pipeline drives like its own.
  const piping = pipeline(stream, decompressor, hasher, ex as unknown as NodeJS.WritableStream);
  piping.catch(() => {}); // observed below; avoid an unhandled rejection while entries are processed

  const state: UnpackState = { root, size: 0, dirTimes: new Map(), ...(opts.totals ? { totals: opts.totals } : {}) };
  try {
    for await (const entry of ex) {
      const pax = entry.header.pax ? rawPax.take() : undefined;
      await unpackEntry(state, entry as unknown as TarEntry, pax);
    }
    await piping;
    // Directories last, so creating their contents does not move their mtime.
    for (const [path, mtime] of state.dirTimes) {
      // A later entry may have replaced the directory; only directories get these times.
      if ((await lstat(path).catch(() => undefined))?.isDirectory()) await lutimes(path, mtime, mtime);
    }
  } catch (err) {
    ex.destroy(err as Error);
    // A failing stream (source, gunzip, size limit, tar parser) is the root cause
    // of the entry error it provokes; otherwise the entry's own error is.
    const streamErr = await piping.then(
      () => undefined,
      (e: unknown) => e,
    );
    const rootCause = streamErr !== undefined && errnoCode(streamErr) !== 'ERR_STREAM_PREMATURE_CLOSE' ? streamErr : err;
    throw asLayerError(rootCause);
  }
  return { diffID: `sha256:${hash.digest('hex')}`, size: state.size };
}

function asLayerError(err: unknown): Error {
  if (isEngineError(err)) return err;
  return invalidParameter(`unpacking layer: ${errorMessage(err)}`, err);
}

/** Sniffs the magic bytes and returns the stream to read tar bytes from. */
async function decompressed(input: Readable): Promise<{ stream: Readable; decompressor: NodeJS.ReadWriteStream }> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head: Buffer[] = [];
  let have = 0;
  let done = false;
  while (have < 6) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    head.push(chunk);
    have += chunk.length;
  }
  const first = Buffer.concat(head);
  const stream = Readable.from(
    (async function* () {
      if (first.length) yield first;
      if (done) return;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    })(),
    { objectMode: false },
  );
  const is = (...magic: number[]) => magic.every((b, i) => first[i] === b);
  // Large output chunks: fewer callbacks into JavaScript per megabyte, and
  // larger slices for the tar parser and the file writes behind it.
  if (is(0x1f, 0x8b)) return { stream, decompressor: zlib.createGunzip({ chunkSize: 256 * 1024 }) };
  if (is(0x28, 0xb5, 0x2f, 0xfd)) {
    const make = (zlib as unknown as { createZstdDecompress?: () => NodeJS.ReadWriteStream }).createZstdDecompress;
    if (!make) throw invalidParameter('zstd-compressed layers are not supported yet');
    return { stream, decompressor: make() };
  }
  if (is(0x42, 0x5a, 0x68)) throw invalidParameter('bzip2-compressed layers are not supported; use gzip or an uncompressed tar');
  if (is(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) throw invalidParameter('xz-compressed layers are not supported; use gzip or an uncompressed tar');
  return { stream, decompressor: new PassThrough() };
}

/**
 * tar-stream decodes PAX values as UTF-8 text, which corrupts binary xattrs
 * (security.capability is a binary struct). We keep the raw bytes of each
 * per-entry PAX header by wrapping the extractor's decoder; the extractor
 * holds the next header until the current entry is done, so the last one
 * captured belongs to the entry being handled.
 */
function captureRawPax(ex: tar.Extract): { take(): Map<string, Buffer> } {
  const inner = ex as unknown as { _decodeLongHeader?: (buf: Buffer) => void; _header?: { type?: string } | null };
  const decode = inner._decodeLongHeader;
  if (typeof decode !== 'function') throw systemError('tar-stream changed: its extractor has no _decodeLongHeader; update layer-unpack.ts');
  let pending: Map<string, Buffer> | undefined;
  inner._decodeLongHeader = function (buf: Buffer) {
    if (inner._header?.type === 'pax-header') pending = parsePaxRecords(buf);
    decode.call(this, buf);
  };
  return {
    take() {
      const p = pending ?? new Map<string, Buffer>();
      pending = undefined;
      return p;
    },
  };
}

/** PAX records are `LEN KEY=VALUE\n` with LEN counting the whole record in bytes. */
export function parsePaxRecords(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let at = 0;
  while (at < buf.length) {
    const space = buf.indexOf(0x20, at);
    if (space === -1) break;
    const len = Number.parseInt(buf.toString('latin1', at, space), 10);
    if (!(len > 0) || at + len > buf.length || buf[at + len - 1] !== 0x0a) break;
    const rec = buf.subarray(space + 1, at + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq > 0) out.set(rec.toString('utf8', 0, eq), Buffer.from(rec.subarray(eq + 1)));
    at += len;
  }
  return out;
}

/** One entry as tar-stream's extractor yields it: the header and a stream of its data. */
type TarEntry = AsyncIterable<Buffer> & { header: tar.Header };

interface UnpackState {
  root: string;
  size: number;
  /** Directory path -> mtime, applied at the end. */
  dirTimes: Map<string, Date>;
  totals?: TraceTotals;
}

interface Meta {
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  xattrs: [string, Buffer][];
}

async function unpackEntry(state: UnpackState, entry: TarEntry, pax: Map<string, Buffer> | undefined): Promise<void> {
  const h = entry.header;
  const name = h.name;
  try {
    const parts = cleanPath(name);
    if (parts.length === 0) return await drain(entry); // the layer root itself
    const base = parts[parts.length - 1]!;
    const dirs = parts.slice(0, -1);
    for (const d of dirs) {
      if (d.startsWith(WHITEOUT_META_PREFIX)) return await drain(entry); // inside AUFS bookkeeping
      if (d.startsWith(WHITEOUT_PREFIX)) throw invalidParameter(`a whiteout cannot be a directory`);
    }
    const parent = await resolveDir(state.root, dirs, true);
    const meta = entryMeta(h, pax);

    if (base === WHITEOUT_OPAQUE) {
      await drain(entry);
      lsetxattr(parent, OVERLAY_OPAQUE_XATTR, Buffer.from('y'));
      return;
    }
    if (base.startsWith(WHITEOUT_META_PREFIX)) return await drain(entry);
    if (base.startsWith(WHITEOUT_PREFIX)) {
      await drain(entry);
      const hidden = base.slice(WHITEOUT_PREFIX.length);
      if (hidden === '' || hidden === '.' || hidden === '..') throw invalidParameter(`a whiteout must name an entry`);
      const path = join(parent, hidden);
      await rm(path, { recursive: true, force: true });
      mknod(path, fsc.S_IFCHR | 0o600, 0, 0);
      await lchown(path, meta.uid, meta.gid);
      await lutimes(path, meta.mtime, meta.mtime);
      return;
    }

    const path = join(parent, base);
    // Before anything at `path` is removed: a link to itself must fail as "not in this layer".
    const linkTarget = h.type === 'link' ? await resolveLinkTarget(state.root, h.linkname) : undefined;
    if (linkTarget === path) throw invalidParameter('a hard link cannot point at itself');
    const existing = await lstat(path).catch(() => undefined);
    if (existing && !(existing.isDirectory() && h.type === 'directory')) await rm(path, { recursive: true, force: true });

    switch (h.type) {
      case 'directory':
        await drain(entry);
        if (!existing?.isDirectory()) await mkdir(path, 0o700);
        await applyMeta(path, meta, false);
        state.dirTimes.set(path, meta.mtime);
        return;
      case 'file':
      case 'contiguous-file':
        state.size += await writeFile(path, entry, meta, state.totals);
        await applyXattrs(path, meta.xattrs, false);
        return;
      case 'symlink':
        await drain(entry);
        await symlink(h.linkname, path);
        await lchown(path, meta.uid, meta.gid);
        await applyXattrs(path, meta.xattrs, true);
        await lutimes(path, meta.mtime, meta.mtime);
        return;
      case 'link':
        await drain(entry);
        await link(linkTarget!, path);
        return;
      case 'character-device':
      case 'block-device':
      case 'fifo': {
        await drain(entry);
        const kind = h.type === 'fifo' ? fsc.S_IFIFO : h.type === 'block-device' ? fsc.S_IFBLK : fsc.S_IFCHR;
        mknod(path, kind | 0o600, h.devmajor ?? 0, h.devminor ?? 0);
        await applyMeta(path, meta, false);
        await lutimes(path, meta.mtime, meta.mtime);
        return;
      }
      default:
        throw invalidParameter(`unsupported tar entry type ${JSON.stringify(h.type)}`);
    }
  } catch (err) {
    if (isEngineError(err)) throw invalidParameter(`layer entry ${JSON.stringify(name)}: ${err.message}`, err);
    throw systemError(`unpacking layer entry ${JSON.stringify(name)}: ${errorMessage(err)}`, err);
  }
}

/**
 * Splits a tar name into clean components. A leading `/` roots the name at the
 * layer (and `..` cannot climb above it); a relative name that climbs out is
 * refused, as Docker does.
 */
export function cleanPath(name: string): string[] {
  if (name.includes('\0')) throw invalidParameter('a name cannot contain a NUL byte');
  const rooted = name.startsWith('/');
  const parts: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (parts.length) parts.pop();
      else if (!rooted) throw invalidParameter('the path climbs out of the layer');
      continue;
    }
    parts.push(c);
  }
  return parts;
}

/**
 * Resolves directory components inside `root` as a chroot would: symlinks on
 * the way are followed, an absolute target restarts at `root`, `..` stops at
 * `root`. Missing directories are created (0755, root-owned, as Docker does)
 * when `create` is set; otherwise a missing one gives undefined. Returns a path whose every component below `root` is a
 * real directory.
 */
export async function resolveDir(root: string, components: string[], create: true): Promise<string>;
export async function resolveDir(root: string, components: string[], create: false): Promise<string | undefined>;
export async function resolveDir(root: string, components: string[], create: boolean): Promise<string | undefined> {
  const resolved: string[] = [];
  const queue = [...components];
  let follows = 0;
  while (queue.length) {
    const c = queue.shift()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      resolved.pop();
      continue;
    }
    const p = join(root, ...resolved, c);
    const st = await lstat(p).catch((err: unknown) => {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    });
    if (!st) {
      if (!create) return undefined;
      await mkdir(p, 0o755);
      resolved.push(c);
      continue;
    }
    if (st.isSymbolicLink()) {
      if (++follows > MAX_SYMLINK_FOLLOWS) throw invalidParameter('too many levels of symbolic links');
      const target = await readlink(p);
      if (target.startsWith('/')) resolved.length = 0;
      queue.unshift(...target.split('/'));
      continue;
    }
    if (!st.isDirectory()) throw invalidParameter(`${JSON.stringify(join(...resolved, c))} is not a directory`);
    resolved.push(c);
  }
  return join(root, ...resolved);
}

async function resolveLinkTarget(root: string, linkname: string): Promise<string> {
  const parts = cleanPath(linkname);
  if (parts.length === 0) throw invalidParameter('a hard link cannot point at the layer root');
  const dir = await resolveDir(root, parts.slice(0, -1), false);
  const target = dir === undefined ? undefined : join(dir, parts[parts.length - 1]!);
  const st = target === undefined ? undefined : await lstat(target).catch(() => undefined);
  if (!st || target === undefined)
    throw invalidParameter(`hard link target ${JSON.stringify(linkname)} is not in this layer (it must come earlier in the same tar)`);
  if (st.isDirectory()) throw invalidParameter(`hard link target ${JSON.stringify(linkname)} is a directory`);
  return target;
}

function entryMeta(h: tar.Header, pax: Map<string, Buffer> | undefined): Meta {
  const num = (key: string): number | undefined => {
    const v = pax?.get(key)?.toString('utf8');
    if (v === undefined) return undefined;
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  };
  const mtime = num('mtime');
  const xattrs: [string, Buffer][] = [];
  for (const [key, value] of pax ?? []) {
    if (key.startsWith('SCHILY.xattr.')) {
      const xname = key.slice('SCHILY.xattr.'.length);
      if (xattrAllowed(xname)) xattrs.push([xname, value]);
    }
  }
  return {
    mode: h.mode & 0o7777,
    uid: num('uid') ?? h.uid,
    gid: num('gid') ?? h.gid,
    mtime: mtime !== undefined ? new Date(mtime * 1000) : h.mtime,
    xattrs,
  };
}

export function xattrAllowed(name: string): boolean {
  return name === 'security.capability' || name.startsWith('user.') || name === 'system.posix_acl_access' || name === 'system.posix_acl_default';
}

/** Owner first: chown clears setuid/setgid bits and file capabilities. */
async function applyMeta(path: string, meta: Meta, isSymlink: boolean): Promise<void> {
  await lchown(path, meta.uid, meta.gid);
  if (!isSymlink) await chmodNoFollow(path, meta.mode);
  await applyXattrs(path, meta.xattrs, isSymlink);
}

async function applyXattrs(path: string, xattrs: [string, Buffer][], isSymlink: boolean): Promise<void> {
  for (const [name, value] of xattrs) {
    try {
      lsetxattr(path, name, value);
    } catch (err) {
      // As Docker: some filesystems take no xattrs, and user.* is refused on symlinks.
      const code = errnoCode(err) ?? (err as { errno?: unknown }).errno;
      if (code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EPERM' || (isSymlink && name.startsWith('user.'))) continue;
      throw err;
    }
  }
}

const WRITE_BATCH = 1024 * 1024;

/** Writes a regular file without following anything at its place; returns the bytes written. */
async function writeFile(path: string, entry: TarEntry, meta: Meta, totals?: TraceTotals): Promise<number> {
  const t0 = performance.now();
  const fh = await open(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
  totals?.add('file open, owner, mode, times, close', performance.now() - t0);
  let written = 0;
  let m0 = 0;
  // Chunks are gathered into writes of up to WRITE_BATCH bytes: each write is
  // a trip to the thread pool, and small ones dominate the cost of a pull.
  let batch: Buffer[] = [];
  let batched = 0;
  const flush = async () => {
    const buf = batch.length === 1 ? batch[0]! : Buffer.concat(batch, batched);
    batch = [];
    batched = 0;
    let off = 0;
    const w0 = performance.now();
    while (off < buf.length) {
      const { bytesWritten } = await fh.write(buf, off, buf.length - off);
      off += bytesWritten;
    }
    totals?.add('file writes', performance.now() - w0);
  };
  try {
    for await (const chunk of entry as AsyncIterable<Buffer>) {
      batch.push(chunk);
      batched += chunk.length;
      written += chunk.length;
      if (batched >= WRITE_BATCH) await flush();
    }
    if (batched > 0) await flush();
    m0 = performance.now();
    await fh.chown(meta.uid, meta.gid);
    await fh.chmod(meta.mode);
    await fh.utimes(meta.mtime, meta.mtime);
  } finally {
    await fh.close();
    if (m0) totals?.add('file open, owner, mode, times, close', performance.now() - m0);
  }
  return written;
}

async function drain(entry: TarEntry): Promise<void> {
  for await (const _ of entry) void _;
}

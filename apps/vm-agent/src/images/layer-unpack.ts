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
import { link, lstat, lutimes, mkdir, open, realpath, rm, symlink, lchown } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { errnoCode, errorMessage, invalidParameter, isEngineError, systemError } from '../errors.js';
import { lsetxattr, mknod } from '../runtime/native.js';
import type { TraceTotals } from '../util/trace.js';
import { applyMeta, applyXattrs, entryMeta, type Meta } from './layer-entry-meta.js';
import { cleanPath, resolveDir, resolveLinkTarget } from './layer-paths.js';
import { captureRawPax, decompressed, drain, type TarEntry } from './layer-tar.js';

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

interface UnpackState {
  root: string;
  size: number;
  /** Directory path -> mtime, applied at the end. */
  dirTimes: Map<string, Date>;
  totals?: TraceTotals;
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

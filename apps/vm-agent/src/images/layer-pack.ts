/**
 * Packs an overlayfs upper directory (a container's changes) into an
 * uncompressed layer tar in Docker's format, for `docker commit`, `docker save`
 * and image builds.
 *
 * Contract:
 * - `upperDir` does not change while the stream is read (the container is
 *   paused or stopped). A regular file that shrinks meanwhile fails the stream;
 *   one that grows is cut at the size it had when its header was written.
 * - Entries come in a fixed order: depth first, names sorted by their bytes,
 *   each directory before its contents. The same tree gives the same bytes.
 *   The upper directory itself is not an entry.
 * - Overlayfs whiteouts (0/0 character devices) become `.wh.NAME` empty files
 *   (mode 0600, the device's owner and mtime); an opaque directory
 *   (`trusted.overlay.opaque=y`) is followed by `DIR/.wh..wh..opq`.
 * - Files linked more than once inside the tree become tar hard links to the
 *   first name met. Sockets are skipped, as Docker does.
 * - Owners are numeric (no user names), modes keep setuid/setgid/sticky,
 *   mtimes are whole seconds (as Docker writes them), optionally clamped.
 *   `security.capability` and POSIX ACLs go into PAX `SCHILY.xattr.*`
 *   records with their raw bytes; `trusted.overlay.*` never leaves.
 * - A directory renamed with overlayfs `redirect_dir`, or a metacopy-only
 *   file, has its content in a lower layer: such a tree is refused rather than
 *   packed incomplete. (Our mounts enable neither.)
 *
 * Memory stays bounded: file contents stream in 64 KiB chunks.
 */
import { constants as fsc, type BigIntStats } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { errorMessage, invalidParameter, isEngineError, systemError } from '../errors.js';
import { lgetxattr } from '../runtime/native.js';
import { OVERLAY_OPAQUE_XATTR, WHITEOUT_OPAQUE, WHITEOUT_PREFIX } from './layer-unpack.js';

export interface PackOptions {
  /** No entry gets an mtime later than this (reproducible builds, like SOURCE_DATE_EPOCH). */
  clampMtime?: Date;
  /** Entries left out, with all below them: paths such as '/etc/hosts' (the runtime's mount points). */
  skip?: ReadonlySet<string>;
}

/** Xattrs carried into the tar: the only ones we can name without listxattr, and the ones that matter. */
const PACKED_XATTRS = ['security.capability', 'system.posix_acl_access', 'system.posix_acl_default'];
const CHUNK = 64 * 1024;

export function packLayer(upperDir: string, opts: PackOptions = {}): Readable {
  return Readable.from(generate(upperDir, opts), { objectMode: false });
}

async function* generate(root: string, opts: PackOptions): AsyncGenerator<Buffer> {
  const ctx: PackContext = { root, opts, firstNameOfInode: new Map() };
  try {
    yield* packDir(ctx, '');
  } catch (err) {
    if (isEngineError(err)) throw err;
    throw systemError(`packing layer from ${root}: ${errorMessage(err)}`, err);
  }
  yield Buffer.alloc(1024); // end of archive: two zero blocks
}

interface PackContext {
  root: string;
  opts: PackOptions;
  /** dev:ino -> the tar name of the first link met, for hard links. */
  firstNameOfInode: Map<string, string>;
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

async function* packDir(ctx: PackContext, rel: string): AsyncGenerator<Buffer> {
  const names = (await readdir(join(ctx.root, rel))).sort(byteOrder);
  for (const name of names) {
    const relPath = rel + name;
    if (ctx.opts.skip?.has(`/${relPath}`)) continue;
    const abs = join(ctx.root, relPath);
    const st = await lstat(abs, { bigint: true });
    const base = headerBase(ctx, st);
    const type = st.mode & BigInt(fsc.S_IFMT);
    if (type === BigInt(fsc.S_IFDIR)) {
      if (xattr(abs, 'trusted.overlay.redirect')) {
        throw invalidParameter(`cannot pack ${abs}: the directory was renamed with overlayfs redirect_dir and its content lives in a lower layer`);
      }
      yield encodeEntry({ ...base, name: `${relPath}/`, type: '5', xattrs: readXattrs(abs) });
      if (xattr(abs, OVERLAY_OPAQUE_XATTR)?.toString() === 'y') {
        yield encodeEntry({ ...base, name: `${relPath}/${WHITEOUT_OPAQUE}`, type: '0', mode: base.mode & 0o777 });
      }
      yield* packDir(ctx, `${relPath}/`);
    } else if (type === BigInt(fsc.S_IFREG)) {
      if (xattr(abs, 'trusted.overlay.metacopy') !== undefined) {
        throw invalidParameter(`cannot pack ${abs}: it is an overlayfs metacopy file whose data lives in a lower layer`);
      }
      if (st.nlink > 1n) {
        const key = `${st.dev}:${st.ino}`;
        const first = ctx.firstNameOfInode.get(key);
        if (first !== undefined) {
          yield encodeEntry({ ...base, name: relPath, type: '1', linkname: first });
          continue;
        }
        ctx.firstNameOfInode.set(key, relPath);
      }
      const size = Number(st.size);
      yield encodeEntry({ ...base, name: relPath, type: '0', size, xattrs: readXattrs(abs) });
      yield* fileContent(abs, size);
    } else if (type === BigInt(fsc.S_IFLNK)) {
      yield encodeEntry({ ...base, name: relPath, type: '2', linkname: await readlink(abs) });
    } else if (type === BigInt(fsc.S_IFCHR) || type === BigInt(fsc.S_IFBLK)) {
      const { major, minor } = splitDev(st.rdev);
      if (type === BigInt(fsc.S_IFCHR) && major === 0 && minor === 0) {
        const at = relPath.lastIndexOf('/') + 1;
        yield encodeEntry({ ...base, name: relPath.slice(0, at) + WHITEOUT_PREFIX + relPath.slice(at), type: '0', mode: 0o600 });
      } else {
        const t = type === BigInt(fsc.S_IFCHR) ? '3' : '4';
        yield encodeEntry({ ...base, name: relPath, type: t, devmajor: major, devminor: minor, xattrs: readXattrs(abs) });
      }
    } else if (type === BigInt(fsc.S_IFIFO)) {
      yield encodeEntry({ ...base, name: relPath, type: '6', xattrs: readXattrs(abs) });
    }
    // Sockets (and anything else) are skipped.
  }
}

function headerBase(ctx: PackContext, st: BigIntStats): Omit<TarHeader, 'name' | 'type'> {
  let mtime = Number(st.mtimeMs / 1000n);
  const clamp = ctx.opts.clampMtime;
  if (clamp !== undefined) mtime = Math.min(mtime, Math.floor(clamp.getTime() / 1000));
  return { mode: Number(st.mode) & 0o7777, uid: Number(st.uid), gid: Number(st.gid), mtime: Math.max(0, mtime) };
}

function xattr(path: string, name: string): Buffer | undefined {
  return lgetxattr(path, name);
}

function readXattrs(path: string): [string, Buffer][] {
  const out: [string, Buffer][] = [];
  for (const name of PACKED_XATTRS) {
    const v = xattr(path, name);
    if (v !== undefined) out.push([name, v]);
  }
  return out;
}

/** Linux's dev_t layout (see <sys/sysmacros.h>). */
function splitDev(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}

async function* fileContent(path: string, size: number): AsyncGenerator<Buffer> {
  const fh = await open(path, fsc.O_RDONLY | fsc.O_NOFOLLOW);
  try {
    let done = 0;
    while (done < size) {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, size - done));
      const { bytesRead } = await fh.read(buf, 0, buf.length, done);
      if (bytesRead === 0) throw systemError(`packing layer: ${path} shrank while it was read (pause the container first)`);
      done += bytesRead;
      yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
  const pad = size % 512;
  if (pad) yield Buffer.alloc(512 - pad);
}

// --- tar headers (POSIX ustar, with PAX records where ustar falls short) ---

export interface TarHeader {
  name: string;
  /** ustar typeflag: 0 file, 1 hard link, 2 symlink, 3 char, 4 block, 5 dir, 6 fifo. */
  type: '0' | '1' | '2' | '3' | '4' | '5' | '6';
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch. */
  mtime: number;
  size?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: [string, Buffer][];
}

const MAX_OCTAL_7 = 0o7777777;
const MAX_OCTAL_11 = 0o77777777777;

/**
 * Encodes one entry's header blocks: a PAX extended header first when a value
 * does not fit ustar (long names, large ids or sizes, xattrs), then the ustar
 * header. The caller writes the data and its padding.
 */
export function encodeEntry(h: TarHeader): Buffer {
  const size = h.size ?? 0;
  const records: Buffer[] = [];
  const nameBytes = Buffer.from(h.name);
  const linkBytes = Buffer.from(h.linkname ?? '');
  if (nameBytes.length > 100) records.push(paxRecord('path', nameBytes));
  if (linkBytes.length > 100) records.push(paxRecord('linkpath', linkBytes));
  if (h.uid > MAX_OCTAL_7) records.push(paxRecord('uid', Buffer.from(String(h.uid))));
  if (h.gid > MAX_OCTAL_7) records.push(paxRecord('gid', Buffer.from(String(h.gid))));
  if (size > MAX_OCTAL_11) records.push(paxRecord('size', Buffer.from(String(size))));
  if (h.mtime > MAX_OCTAL_11) records.push(paxRecord('mtime', Buffer.from(String(h.mtime))));
  for (const [key, value] of h.xattrs ?? []) records.push(paxRecord(`SCHILY.xattr.${key}`, value));

  const ustar = ustarBlock(h, h.type, nameBytes, linkBytes, size);
  if (!records.length) return ustar;
  const pax = Buffer.concat(records);
  const paxName = `PaxHeaders/${h.name.replace(/\/$/, '').split('/').pop() ?? ''}`.slice(0, 100);
  const paxHead = ustarBlock({ ...h, mode: 0o644, uid: 0, gid: 0 }, 'x', Buffer.from(paxName), Buffer.alloc(0), pax.length);
  const padding = Buffer.alloc((512 - (pax.length % 512)) % 512);
  return Buffer.concat([paxHead, pax, padding, ustar]);
}

/** `LEN KEY=VALUE\n`, where LEN counts the whole record, its own digits included. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.byteLength(key) + value.length + 3; // ' ', '=', '\n'
  let len = body + String(body).length;
  if (String(len).length !== String(body).length) len = body + String(len).length;
  return Buffer.concat([Buffer.from(`${len} ${key}=`), value, Buffer.from('\n')]);
}

/** `type` is the typeflag: TarHeader's, or `x` for a PAX extended header. */
function ustarBlock(h: TarHeader, type: string, name: Buffer, linkname: Buffer, size: number): Buffer {
  const b = Buffer.alloc(512);
  name.copy(b, 0, 0, Math.min(100, name.length));
  octal(b, 100, 8, h.mode & 0o7777);
  octal(b, 108, 8, Math.min(h.uid, MAX_OCTAL_7));
  octal(b, 116, 8, Math.min(h.gid, MAX_OCTAL_7));
  octal(b, 124, 12, Math.min(size, MAX_OCTAL_11));
  octal(b, 136, 12, Math.min(h.mtime, MAX_OCTAL_11));
  b.write(type, 156, 'latin1');
  linkname.copy(b, 157, 0, Math.min(100, linkname.length));
  b.write('ustar\0' + '00', 257, 'latin1');
  octal(b, 329, 8, h.devmajor ?? 0);
  octal(b, 337, 8, h.devminor ?? 0);
  b.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return b;
}

/** Zero-padded octal digits filling the field but its last byte, which stays NUL. */
function octal(b: Buffer, off: number, len: number, value: number): void {
  b.write(value.toString(8).padStart(len - 1, '0'), off, 'latin1');
}

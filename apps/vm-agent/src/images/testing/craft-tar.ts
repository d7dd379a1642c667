/**
 * Tests only: layer fixtures and what the tests compare.
 *
 * `craftTar` builds tars entry by entry, hostile ones included (names with
 * `..` or a leading `/`, links anywhere), with tar-stream's writer, which
 * writes names verbatim and is independent of our own layer-pack encoder.
 * `snapshotTree` describes a directory tree for comparing two of them.
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { lgetxattr } from '../../runtime/native.js';

export interface CraftEntry {
  name: string;
  type?: tar.Header['type'];
  /** File content. */
  body?: string | Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  devmajor?: number;
  devminor?: number;
  /** PAX records (text values only: tar-stream writes them as UTF-8). */
  pax?: Record<string, string>;
}

export async function craftTar(entries: CraftEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const c of pack) chunks.push(Buffer.from(c as Uint8Array));
  })();
  for (const e of entries) {
    const type = e.type ?? 'file';
    const header: Partial<tar.Header> & { name: string } = {
      name: e.name,
      type,
      mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: e.mtime ?? new Date(1_600_000_000_000),
      ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
      ...(e.devmajor !== undefined ? { devmajor: e.devmajor, devminor: e.devminor ?? 0 } : {}),
      ...(e.pax ? { pax: e.pax } : {}),
    };
    const body = typeof e.body === 'string' ? Buffer.from(e.body) : e.body;
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      if (body) pack.entry(header, body, done);
      else pack.entry(header, done).end(undefined);
    });
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

export async function craftTarGz(entries: CraftEntry[]): Promise<Buffer> {
  return gzipSync(await craftTar(entries));
}

/** What the tests compare of one entry in a tree. */
export interface TreeEntry {
  type: 'dir' | 'file' | 'symlink' | 'char' | 'block' | 'fifo' | 'other';
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  /** File content (utf8), symlink target, or device numbers. */
  data?: string;
  /** For a file linked more than once: the first path (sorted) of its inode. */
  sameAs?: string;
  opaque?: boolean;
  capability?: string;
}

/**
 * Every entry below `dir` (not `dir` itself) by relative path, sorted: what
 * "the same tree" means in the tests. Directory mtimes are left out when
 * `dirTimes` is false (creating entries moves them).
 */
export function snapshotTree(dir: string, opts: { dirTimes?: boolean } = {}): Record<string, TreeEntry> {
  const out: Record<string, TreeEntry> = {};
  const inodes = new Map<number, string>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = join(dir, r);
      const st = lstatSync(p);
      const e: TreeEntry = {
        type: st.isDirectory()
          ? 'dir'
          : st.isFile()
            ? 'file'
            : st.isSymbolicLink()
              ? 'symlink'
              : st.isCharacterDevice()
                ? 'char'
                : st.isBlockDevice()
                  ? 'block'
                  : st.isFIFO()
                    ? 'fifo'
                    : 'other',
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        mtime: Math.floor(st.mtimeMs / 1000),
      };
      if (e.type === 'symlink') e.mode = 0;
      if (e.type === 'dir' && opts.dirTimes === false) e.mtime = 0;
      if (e.type === 'file') e.data = readFileSync(p, 'utf8');
      if (e.type === 'symlink') e.data = readlinkSync(p);
      if (e.type === 'char' || e.type === 'block') e.data = `${st.rdev}`;
      if (e.type === 'file' && st.nlink > 1) {
        const first = inodes.get(st.ino);
        if (first === undefined) inodes.set(st.ino, r);
        else e.sameAs = first;
      }
      if (e.type === 'dir' && lgetxattr(p, 'trusted.overlay.opaque')?.toString() === 'y') e.opaque = true;
      if (e.type === 'file') {
        const cap = lgetxattr(p, 'security.capability');
        if (cap) e.capability = cap.toString('hex');
      }
      out[r] = e;
      if (e.type === 'dir') walk(r);
    }
  };
  walk('');
  return out;
}

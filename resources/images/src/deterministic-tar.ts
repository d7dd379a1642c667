/**
 * Plain (uncompressed) tars whose bytes depend only on the entries given:
 * entries sorted by path with every parent directory present before its
 * children, owner 0:0 (root/root), one fixed mtime, fixed modes. Two calls
 * with equal entries return equal bytes, on any machine, so layer diff IDs
 * and image IDs are stable.
 */
import { pack, type Header } from 'tar-stream';

type HeaderArgument = Partial<Header> & Pick<Header, 'name'>;

export type TarEntry =
  | { path: string; type: 'file'; content: Buffer | string; mode?: number }
  | { path: string; type: 'dir'; mode?: number }
  | { path: string; type: 'symlink'; target: string };

/** Default modes: 0644 files, 0755 directories (pass 0o755 for executables). */
const FILE_MODE = 0o644;
const DIR_MODE = 0o755;

function clean(path: string): string {
  const p = path.replace(/^\/+|\/+$/g, '');
  if (!p || p.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new Error(`tar entry path ${JSON.stringify(path)} is not a plain relative path`);
  }
  return p;
}

/**
 * The entries, normalized: parents added as 0755 directories where not
 * given, sorted so that a directory comes right before its contents
 * (compared segment by segment, so "a/b" sorts before "a-b").
 * Throws on two entries for one path.
 */
export function normalizeEntries(entries: TarEntry[]): TarEntry[] {
  const byPath = new Map<string, TarEntry>();
  for (const e of entries) {
    const path = clean(e.path);
    if (byPath.has(path)) throw new Error(`tar entry ${path} is given twice`);
    byPath.set(path, { ...e, path });
  }
  for (const path of [...byPath.keys()]) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      const existing = byPath.get(dir);
      if (!existing) byPath.set(dir, { path: dir, type: 'dir' });
      else if (existing.type !== 'dir') throw new Error(`tar entry ${dir} is a ${existing.type} but ${path} is inside it`);
    }
  }
  return [...byPath.values()].sort((a, b) => comparePaths(a.path, b.path));
}

function comparePaths(a: string, b: string): number {
  const as = a.split('/');
  const bs = b.split('/');
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    if (as[i] !== bs[i]) return as[i]! < bs[i]! ? -1 : 1;
  }
  return as.length - bs.length;
}

/** Writes the tar in memory (our layers are a few megabytes). */
export async function makeTar(entries: TarEntry[], mtime: Date): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const ended = new Promise<void>((resolve, reject) => {
    p.on('end', resolve);
    p.on('error', reject);
  });
  const add = (header: HeaderArgument, content?: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      if (content) p.entry(header, content, done);
      else p.entry(header, done);
    });
  const owner = { uid: 0, gid: 0, uname: 'root', gname: 'root', mtime };
  for (const e of normalizeEntries(entries)) {
    if (e.type === 'dir') await add({ ...owner, name: `${e.path}/`, type: 'directory', mode: e.mode ?? DIR_MODE });
    else if (e.type === 'symlink') await add({ ...owner, name: e.path, type: 'symlink', linkname: e.target, mode: 0o777 });
    else {
      const content = Buffer.isBuffer(e.content) ? e.content : Buffer.from(e.content, 'utf8');
      await add({ ...owner, name: e.path, type: 'file', mode: e.mode ?? FILE_MODE, size: content.length }, content);
    }
  }
  p.finalize();
  await ended;
  return Buffer.concat(chunks);
}

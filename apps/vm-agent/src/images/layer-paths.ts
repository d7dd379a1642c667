/**
 * Paths inside a layer being unpacked, resolved as if the layer's directory
 * were the root of a chroot (see the contract in layer-unpack.ts): tar names
 * cleaned, directories on the way resolved through symlinks without ever
 * leaving the root, hard link targets found in what this layer extracted.
 */
import { lstat, mkdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, invalidParameter } from '../errors.js';

/** Symlinks followed while resolving one path, as the kernel's limit. */
const MAX_SYMLINK_FOLLOWS = 40;

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

export async function resolveLinkTarget(root: string, linkname: string): Promise<string> {
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

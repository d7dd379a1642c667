/**
 * The metadata of one tar entry (owner, mode, mtime, the xattrs kept) and
 * how it is applied to what was extracted: owner before mode, xattrs a
 * filesystem refuses skipped as Docker skips them.
 */
import { lchown } from 'node:fs/promises';
import type * as tar from 'tar-stream';
import { errnoCode } from '../errors.js';
import { lsetxattr } from '../runtime/native.js';
import { chmodNoFollow } from '../util/no-follow.js';

export interface Meta {
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  xattrs: [string, Buffer][];
}

export function entryMeta(h: tar.Header, pax: Map<string, Buffer> | undefined): Meta {
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
export async function applyMeta(path: string, meta: Meta, isSymlink: boolean): Promise<void> {
  await lchown(path, meta.uid, meta.gid);
  if (!isSymlink) await chmodNoFollow(path, meta.mode);
  await applyXattrs(path, meta.xattrs, isSymlink);
}

export async function applyXattrs(path: string, xattrs: [string, Buffer][], isSymlink: boolean): Promise<void> {
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

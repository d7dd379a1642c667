/**
 * Resolving `--user` ("name", "uid", "uid:gid", "name:group") against the
 * container's own /etc/passwd and /etc/group, as runc does (moby/sys/user).
 */
import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { invalidParameter } from '../errors.js';
import type { ProcessUser } from '../runtime/spawn.js';

/** Reads a file of the rootfs only if it is a regular file: a symlink could point into the host. */
function readRootfsFile(rootfs: string, path: string): string {
  try {
    const p = join(rootfs, path);
    if (!lstatSync(p).isFile()) return '';
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

const rows = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));

export function resolveUser(rootfs: string, spec: string): ProcessUser {
  const passwd = rows(readRootfsFile(rootfs, 'etc/passwd'));
  const groups = rows(readRootfsFile(rootfs, 'etc/group'));
  const [userPart = '', groupPart] = spec.split(':', 2);
  let uid: number;
  let gid = 0;
  let name: string | undefined;
  if (userPart === '') {
    uid = 0;
  } else if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    const row = passwd.find((r) => Number(r[2]) === uid);
    if (row) {
      gid = Number(row[3]);
      name = row[0];
    }
  } else {
    const row = passwd.find((r) => r[0] === userPart);
    if (!row) throw invalidParameter(`unable to find user ${userPart}: no matching entries in passwd file`);
    uid = Number(row[2]);
    gid = Number(row[3]);
    name = userPart;
  }
  if (groupPart !== undefined && groupPart !== '') {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const row = groups.find((r) => r[0] === groupPart);
      if (!row) throw invalidParameter(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = Number(row[2]);
    }
  }
  const additionalGids =
    name === undefined || groupPart !== undefined
      ? []
      : groups.filter((r) => (r[3] ?? '').split(',').includes(name) && Number(r[2]) !== gid).map((r) => Number(r[2]));
  return { uid, gid, additionalGids };
}

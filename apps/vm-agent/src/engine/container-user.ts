/**
 * Resolving `--user` ("name", "uid", "uid:gid", "name:group") against the
 * container's own /etc/passwd and /etc/group, as runc does (moby/sys/user).
 *
 * Those files belong to the container, so reading them must not let it stall
 * or crash the engine: the path is resolved inside the rootfs (a symlink to
 * the host's /etc/passwd reads the container's own), the file is opened
 * O_NONBLOCK|O_NOFOLLOW and must be a regular file (a FIFO or device swapped
 * in is refused instead of blocking a read), it is read asynchronously and
 * only up to MAX_DB_BYTES (a 100 MB passwd is refused, not parsed).
 */
import { constants as fsc } from 'node:fs';
import { open } from 'node:fs/promises';
import { invalidParameter } from '../errors.js';
import type { ProcessUser } from '../runtime/spawn.js';
import { resolveInRoot } from './container-archive.js';

/** Larger than any real user database (Debian's is ~2 KB; a big LDAP dump a few hundred KB). */
export const MAX_DB_BYTES = 4 * 1024 * 1024;

class DbError extends Error {}

/** The text of `path` in `rootfs`; '' if it does not exist. Throws DbError if it is not a regular file or too big. */
async function readRootfsFile(rootfs: string, path: string): Promise<string> {
  const host = await resolveInRoot(rootfs, path, true).catch((err: Error) => {
    throw new DbError(err.message);
  });
  let fh;
  try {
    fh = await open(host, fsc.O_RDONLY | fsc.O_NONBLOCK | fsc.O_NOFOLLOW | fsc.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return '';
    if (code === 'ELOOP') throw new DbError(`/${path} is a symbolic link that leads outside the container`);
    throw new DbError(`open /${path}: ${code ?? String(err)}`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new DbError(`/${path} is not a regular file`);
    if (st.size > MAX_DB_BYTES) throw new DbError(`/${path} is larger than ${MAX_DB_BYTES / 1024 / 1024} MiB (${st.size} bytes)`);
    // Read to the cap + 1 whatever the size said: the file may grow after the fstat.
    const buf = Buffer.alloc(MAX_DB_BYTES + 1);
    let len = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, len, buf.length - len, len);
      if (bytesRead === 0) break;
      len += bytesRead;
      if (len > MAX_DB_BYTES) throw new DbError(`/${path} is larger than ${MAX_DB_BYTES / 1024 / 1024} MiB`);
    }
    return buf.subarray(0, len).toString('utf8');
  } finally {
    await fh.close();
  }
}

const rows = (text: string) =>
  text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'));

/** The rows of one database; a file that cannot be read safely is reported as dockerd words a failed lookup. */
async function table(rootfs: string, path: string, what: 'user' | 'group', spec: string): Promise<string[][]> {
  try {
    return rows(await readRootfsFile(rootfs, path));
  } catch (err) {
    if (err instanceof DbError) throw invalidParameter(`unable to find ${what} ${spec}: ${err.message}`);
    throw err;
  }
}

/** Go's int32 range, which moby/sys/user holds group ids to. */
const MAX_GID = 2 ** 31 - 1;

/**
 * HostConfig.GroupAdd (`--group-add audio`, `--group-add 1234`) as
 * moby/sys/user GetAdditionalGroups: a name or id found in the container's
 * /etc/group gives that group's id, an id not found is taken as it is, a
 * name not found is dockerd's "Unable to find group audio". Read only when
 * asked for.
 */
async function additionalGroups(rootfs: string, wanted: readonly string[]): Promise<number[]> {
  if (wanted.length === 0) return [];
  const rowsOf = await table(rootfs, 'etc/group', 'group', wanted.join(','));
  return wanted.map((g) => {
    const row = rowsOf.find((r) => r[0] === g || r[2] === g);
    if (row) return Number(row[2]);
    if (!/^\d+$/.test(g)) throw invalidParameter(`Unable to find group ${g}: no matching entries in group file`);
    if (Number(g) > MAX_GID) throw invalidParameter(`uids and gids must be in range 0-${MAX_GID}`);
    return Number(g);
  });
}

/** `groupAdd`: HostConfig.GroupAdd, added to the user's supplementary groups. */
export async function resolveUser(rootfs: string, spec: string, groupAdd: readonly string[] = []): Promise<ProcessUser> {
  const user = await resolveUserSpec(rootfs, spec);
  const extra = await additionalGroups(rootfs, groupAdd);
  return extra.length ? { ...user, additionalGids: [...new Set([...(user.additionalGids ?? []), ...extra])] } : user;
}

async function resolveUserSpec(rootfs: string, spec: string): Promise<ProcessUser> {
  const [userPart = '', groupPart] = spec.split(':', 2);
  if (userPart === '' && !groupPart) return { uid: 0, gid: 0, additionalGids: [] };
  // Read lazily: `--user 0:0` needs neither file.
  let passwdRows: string[][] | undefined;
  let groupRows: string[][] | undefined;
  const passwd = async () => (passwdRows ??= await table(rootfs, 'etc/passwd', 'user', userPart));
  const groups = async () => (groupRows ??= await table(rootfs, 'etc/group', 'group', groupPart || userPart));
  let uid: number;
  let gid = 0;
  let name: string | undefined;
  if (userPart === '') {
    uid = 0;
  } else if (/^\d+$/.test(userPart)) {
    uid = Number(userPart);
    if (!(groupPart !== undefined && /^\d+$/.test(groupPart))) {
      const row = (await passwd()).find((r) => Number(r[2]) === uid);
      if (row) {
        gid = Number(row[3]);
        name = row[0];
      }
    }
  } else {
    const row = (await passwd()).find((r) => r[0] === userPart);
    if (!row) throw invalidParameter(`unable to find user ${userPart}: no matching entries in passwd file`);
    uid = Number(row[2]);
    gid = Number(row[3]);
    name = userPart;
  }
  if (groupPart !== undefined && groupPart !== '') {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const row = (await groups()).find((r) => r[0] === groupPart);
      if (!row) throw invalidParameter(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = Number(row[2]);
    }
  }
  const additionalGids =
    name === undefined || groupPart !== undefined
      ? []
      : (await groups()).filter((r) => (r[3] ?? '').split(',').includes(name) && Number(r[2]) !== gid).map((r) => Number(r[2]));
  return { uid, gid, additionalGids };
}

/**
 * The home directory of `uid` in the container's /etc/passwd, as runc sets
 * HOME; "/" when there is no entry or the file cannot be read safely (runc
 * does not fail a start over HOME either).
 */
export async function homeOf(rootfs: string, uid: number): Promise<string> {
  try {
    const row = rows(await readRootfsFile(rootfs, 'etc/passwd')).find((r) => r[2] === String(uid));
    return row?.[5] || '/';
  } catch {
    return '/';
  }
}

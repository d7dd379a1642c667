/**
 * Device nodes of the machine the agent runs on (the VM's /dev), read as
 * dockerd reads them for runc: one path or every node under a directory for
 * `--device` (moby oci.DevicesFromPath), and all of /dev for `--privileged`
 * (containerd oci.HostDevices). The runtime makes each node in the
 * container with the same type, numbers, mode and owner (spawn.ts
 * ContainerSpec.devices); the device cgroup decides whether it may be opened.
 */
import { lstatSync, readdirSync, realpathSync, statSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';

export interface DeviceNode {
  /** Absolute path in the container. */
  path: string;
  /** c(haracter), b(lock) or p (a FIFO, which --device accepts too). */
  type: 'c' | 'b' | 'p';
  major: number;
  minor: number;
  /** Permission bits (07777), as on the host. */
  mode: number;
  uid: number;
  gid: number;
}

/** Directories of /dev that are mounts of their own in a container, never copied (containerd's list). */
const SKIPPED_DIRS = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

/** glibc's major()/minor() of a 64-bit dev_t. */
const majorOf = (rdev: bigint) => Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
const minorOf = (rdev: bigint) => Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));

function nodeType(st: BigIntStats): DeviceNode['type'] | undefined {
  if (st.isCharacterDevice()) return 'c';
  if (st.isBlockDevice()) return 'b';
  if (st.isFIFO()) return 'p';
  return undefined;
}

/** The node at `path` (not following a symlink), or undefined when it is not a device; fs errors are thrown. */
export function deviceAt(path: string, containerPath = path): DeviceNode | undefined {
  const st = lstatSync(path, { bigint: true });
  const type = nodeType(st);
  if (!type) return undefined;
  return {
    path: containerPath,
    type,
    major: majorOf(st.rdev),
    minor: minorOf(st.rdev),
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
  };
}

/** Go's words for the errors a path can give (syscall.Errno's strings), as dockerd's messages carry them. */
const GO_ERRNO: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  ENOTDIR: 'not a directory',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
};

/**
 * `--device host[:container]`: the node at `hostPath` (a symlink is
 * followed), or every node under it when it is a directory, each placed
 * under `containerPath`. Throws dockerd's error when there is none:
 * `error gathering device information while adding custom device "/dev/nope": no such file or directory`.
 */
export function devicesFromPath(hostPath: string, containerPath: string): DeviceNode[] {
  let resolved = hostPath;
  try {
    if (lstatSync(hostPath).isSymbolicLink()) resolved = realpathSync(hostPath);
  } catch {
    // reported below, by the lstat of the path itself
  }
  let reason = 'not a device node';
  try {
    const node = deviceAt(resolved, containerPath);
    if (node) return [node];
    if (statSync(resolved).isDirectory()) {
      const found = walk(resolved, (entry) => containerPath + entry.slice(resolved.length));
      if (found.length) return found;
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    reason = GO_ERRNO[code] ?? (err as Error).message;
  }
  throw new Error(`error gathering device information while adding custom device "${hostPath}": ${reason}`);
}

/** Every device node under `dir`, not following symlinks; unreadable entries are skipped, as filepath.WalkDir's callback does. */
function walk(dir: string, rename: (hostPath: string) => string): DeviceNode[] {
  const out: DeviceNode[] = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      out.push(...walk(p, rename));
      continue;
    }
    try {
      const node = deviceAt(p, rename(p));
      if (node) out.push(node);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * `--privileged`: every character and block device of the machine's /dev,
 * at the same path, but for the directories a container mounts itself
 * (pts, shm, mqueue), symlinks, FIFOs and /dev/console (the container's own
 * terminal, when it has one).
 */
export function hostDevices(root = '/dev'): DeviceNode[] {
  const out: DeviceNode[] = [];
  for (const e of readdirSync(root, { withFileTypes: true })) {
    const p = join(root, e.name);
    if (e.isDirectory()) {
      if (!SKIPPED_DIRS.has(e.name)) out.push(...hostDevices(p));
      continue;
    }
    if (e.name === 'console') continue;
    let node: DeviceNode | undefined;
    try {
      node = deviceAt(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed while we read the directory
      throw err;
    }
    if (node && node.type !== 'p') out.push(node);
  }
  return out;
}

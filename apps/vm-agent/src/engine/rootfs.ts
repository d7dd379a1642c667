/**
 * A container's root filesystem on the host: an overlay of the image's
 * layers (read-only, lowest last in lowerdir) under a per-container upper
 * dir, mounted at `<container dir>/rootfs`, and the generated /etc files
 * the runtime binds in.
 *
 * Options redirect_dir, index and metacopy are off so the upper dir is a
 * plain tree of changes that packLayer can turn into a layer (commit, diff).
 */
import { closeSync, constants, existsSync, openSync, readFileSync } from 'node:fs';
import { invalidParameter } from '../errors.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mount, umount } from '../runtime/native.js';
import type { BindMount } from '../runtime/spawn.js';
import type { ViewMount } from './container-archive.js';

export interface RootfsPaths {
  upper: string;
  work: string;
  target: string;
  /** An empty dir used as the only lower layer of an image without layers. */
  empty: string;
  /** Where a shareable container's /dev/shm tmpfs is mounted (container-namespaces.ts). */
  shm: string;
}

export function rootfsPaths(containerDir: string): RootfsPaths {
  return {
    upper: join(containerDir, 'upper'),
    work: join(containerDir, 'work'),
    target: join(containerDir, 'rootfs'),
    empty: join(containerDir, 'empty'),
    shm: join(containerDir, 'shm'),
  };
}

/** Mount points as /proc/self/mountinfo lists them (octal escapes decoded). */
function mountPoints(): Set<string> {
  const info = readFileSync('/proc/self/mountinfo', 'utf8');
  return new Set(
    info
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((p): p is string => !!p)
      .map((p) => p.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))),
  );
}

export function isMounted(path: string): boolean {
  return mountPoints().has(path);
}

/**
 * The kernel takes mount options in one page (4096 bytes), and a layer's path
 * in the store is about 90 bytes, so spelled out only ~40 layers fit (dockerd's
 * overlay2 takes 125, through short link names). Each lower dir is named by
 * a descriptor of ours instead, `/proc/self/fd/N`: overlayfs resolves the
 * paths once, at mount, in this very process, and keeps the directories, so
 * the descriptors (close-on-exec, as libuv opens every file) are closed
 * right after. About 200 layers fit.
 */
export const MAX_OVERLAY_OPTIONS = 4095;

/** Mounts the overlay unless it is already mounted; returns the rootfs path. */
export async function mountRootfs(containerDir: string, lowerDirs: string[]): Promise<string> {
  const p = rootfsPaths(containerDir);
  for (const d of [p.upper, p.work, p.target]) await mkdir(d, { recursive: true, mode: 0o755 });
  if (isMounted(p.target)) return p.target;
  let lowers = [...lowerDirs].reverse(); // overlayfs lists the top layer first
  if (lowers.length === 0) {
    await mkdir(p.empty, { recursive: true });
    lowers = [p.empty];
  }
  const fds: number[] = [];
  try {
    for (const dir of lowers) fds.push(openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY));
    const data = `lowerdir=${fds.map((fd) => `/proc/self/fd/${fd}`).join(':')},upperdir=${p.upper},workdir=${p.work},redirect_dir=off,index=off,metacopy=off`;
    if (data.length > MAX_OVERLAY_OPTIONS) {
      throw invalidParameter(
        `the image has ${lowerDirs.length} layers, more than an overlay mount can stack here: squash it into fewer layers (docker export and docker import, or a multi-stage build)`,
      );
    }
    // nodev: a device node shipped in an image, or made in the rootfs by the
    // container (it keeps CAP_MKNOD), must not open the machine's devices.
    // The container's own /dev is a separate tmpfs made by the runtime.
    mount('overlay', p.target, 'overlay', ['nodev'], data);
  } finally {
    for (const fd of fds) closeSync(fd);
  }
  return p.target;
}

/**
 * Unmounts the rootfs, and a shareable /dev/shm, if mounted (lazily: a
 * process of ours may still hold a file in it, a container that joined the
 * IPC namespace still has the /dev/shm bound).
 */
export function unmountRootfs(containerDir: string): void {
  const { target, shm } = rootfsPaths(containerDir);
  const mounted = mountPoints();
  for (const path of [target, shm]) if (mounted.has(path)) umount(path, ['detach']);
}

const HOSTS = `127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::\tip6-localnet
ff00::\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
`;

/** The host's resolv.conf without loopback nameservers (unreachable from the container), or Google's as dockerd falls back to. */
export function containerResolvConf(host = readHostResolvConf()): string {
  const lines = host.split('\n').filter((l) => !/^\s*nameserver\s+(127\.|::1\b)/.test(l));
  if (!lines.some((l) => /^\s*nameserver\s/.test(l))) lines.push('nameserver 8.8.8.8', 'nameserver 8.8.4.4');
  return lines.filter((l, i, a) => l !== '' || i < a.length - 1).join('\n') + '\n';
}

function readHostResolvConf(): string {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return '';
  }
}

/** The /etc files every container gets, each bound from the container dir; `content` when first written. */
const ETC_FILES: { name: string; content: (hostname: string) => string }[] = [
  { name: 'hosts', content: () => HOSTS },
  { name: 'hostname', content: (hostname) => `${hostname}\n` },
  { name: 'resolv.conf', content: () => containerResolvConf() },
];

/** The /etc files bound into the container, for `docker cp` (container-archive.ts): those written so far. */
export function etcFileMounts(containerDir: string): ViewMount[] {
  return ETC_FILES.filter(({ name }) => existsSync(join(containerDir, name))).map(({ name }) => ({
    destination: `/etc/${name}`,
    source: join(containerDir, name),
    readonly: false,
  }));
}

/**
 * Writes hosts, hostname and resolv.conf into the container dir (kept if
 * present: edits made inside survive a restart, as with dockerd) and returns
 * the binds for them.
 */
export async function etcFiles(containerDir: string, hostname: string): Promise<BindMount[]> {
  const binds: BindMount[] = [];
  for (const { name, content } of ETC_FILES) {
    const source = join(containerDir, name);
    if (!existsSync(source)) await writeFile(source, content(hostname), { mode: 0o644 });
    binds.push({ source, destination: `/etc/${name}` });
  }
  return binds;
}

/**
 * Starting a container's init process.
 *
 * The caller prepares the rootfs (an overlay mounted on the host, as
 * containerd does) and the files to bind (/etc/hosts, /etc/hostname,
 * /etc/resolv.conf, volumes) or tmpfs mounts; spawnContainer clones the
 * process into new pid, mount, uts, ipc, net and cgroup namespaces (or the
 * host's or another container's, `hostNetwork` and `namespaces`), lets `beforeStart` wire
 * it (its network namespace is /proc/<pid>/ns/net) while it waits, then it
 * joins its cgroup, builds its filesystem view, drops to Docker's default
 * capabilities and the given user, and execs.
 */
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { capabilityNumbers, DEFAULT_CAPABILITIES } from './capabilities.js';
import type { DeviceNode } from './devices.js';
import { loadAddon } from './native.js';
import { startLaunched, type ContainerProcess } from './process.js';

export interface ProcessUser {
  uid: number;
  gid: number;
  /** Supplementary groups; empty clears the agent's. */
  additionalGids?: number[];
}

/** What spawnContainer and execInContainer share. */
export interface ProcessSpec {
  /** argv; args[0] is looked up in the PATH of `env` (or Docker's default PATH). */
  args: string[];
  /** "KEY=value" entries; nothing is inherited from the agent. */
  env: string[];
  /** Absolute; a container creates it when missing (as dockerd), exec does not. */
  cwd?: string;
  /** Numeric ids; names are resolved by the caller from the image's /etc/passwd. */
  user?: ProcessUser;
  /** A pty instead of pipes; the slave is the controlling terminal and fds 0-2. */
  tty?: boolean;
  /** Without tty: a pipe for stdin (else /dev/null). */
  stdin?: boolean;
  consoleSize?: { cols: number; rows: number };
  /** Capability names kept (bounding, effective, permitted); Docker's default set when absent. */
  capabilities?: readonly string[];
  noNewPrivileges?: boolean;
  /** A seccomp filter from compileSeccomp (native.ts); absent: unconfined. */
  seccomp?: Uint8Array;
  /** The cgroup to join before anything else (see cgroups.ts). */
  cgroup?: { procsFiles(): string[] };
  /** Set before exec (`--ulimit`); names are checked here (unknown: throws). */
  ulimits?: Ulimit[];
  /** /proc/self/oom_score_adj before exec (`--oom-score-adj`); absent: the agent's. */
  oomScoreAdj?: number;
}

export interface BindMount {
  type?: 'bind';
  source: string;
  /** Absolute path in the container; created (file or directory, like the source) when missing. */
  destination: string;
  /** Read-only, the mounts under the source included (Docker 25+), unless `readonlyTopOnly`. */
  readonly?: boolean;
  readonlyTopOnly?: boolean;
  /** Bind the source alone, without the mounts under it. */
  nonRecursive?: boolean;
}

/** A new tmpfs at `destination` (created as a directory when missing). */
export interface TmpfsMount {
  type: 'tmpfs';
  destination: string;
  readonly?: boolean;
  nosuid?: boolean;
  nodev?: boolean;
  noexec?: boolean;
  /** tmpfs mount data: "size=65536k,mode=1777". */
  data?: string;
}

export type ContainerMount = BindMount | TmpfsMount;

/** An rlimit by its ulimit name ("nofile", "nproc", ...); -1 is unlimited. */
export interface Ulimit {
  name: string;
  soft: number;
  hard: number;
}

/** RLIMIT_* numbers (the same on every Linux architecture we run on). */
export const RLIMITS: Record<string, number> = {
  cpu: 0,
  fsize: 1,
  data: 2,
  stack: 3,
  core: 4,
  rss: 5,
  nproc: 6,
  nofile: 7,
  memlock: 8,
  as: 9,
  locks: 10,
  sigpending: 11,
  msgqueue: 12,
  nice: 13,
  rtprio: 14,
  rttime: 15,
};

const MS = { rdonly: 1, nosuid: 2, nodev: 4, noexec: 8 };

export interface ContainerSpec extends ProcessSpec {
  /** The prepared root filesystem on the host, already mounted. */
  rootfs: string;
  hostname?: string;
  /** Mounted in order (parents before children), after /proc, /dev and /sys. */
  binds?: ContainerMount[];
  readonlyRootfs?: boolean;
  /** Share the agent's network namespace (`--network host`); `beforeStart` still runs. */
  hostNetwork?: boolean;
  /** /dev/shm's size in bytes (Docker's ShmSize); absent or 0: 64 MiB, Docker's default. */
  shmSize?: number;
  /** Namespaces shared instead of new: the agent's ('host'), or a running process's (its pid). */
  namespaces?: ContainerNamespaces;
  /** No /dev/shm tmpfs (`--ipc none`, or `binds` brings a shared one). */
  noShm?: boolean;
  /** Namespaced sysctls by their /proc/sys path ("net/ipv4/ip_forward"), written before /proc/sys turns read-only. */
  sysctls?: Record<string, string>;
  /** Mount the (namespaced) cgroup2 hierarchy read-only at /sys/fs/cgroup: true on a v2 host. */
  mountCgroup2?: boolean;
  /** Device nodes beyond the default ones (devices.ts), made as on the host; the cgroup must allow them. */
  devices?: readonly DeviceNode[];
  /** dockerd's MASKED_PATHS and READONLY_PATHS when absent; --privileged gives none. */
  maskedPaths?: readonly string[];
  readonlyPaths?: readonly string[];
  /** /sys and the cgroup2 mount read-write instead of read-only (--privileged). */
  writableSysfs?: boolean;
  /**
   * Runs while the child waits, before it joins its cgroup or sees its
   * rootfs: attach its network namespace here. A throw aborts the start
   * (the child is killed and reaped) and rejects spawnContainer with it.
   */
  beforeStart?: (pid: number) => Promise<void> | void;
}

/** For each namespace, absent means a new one. */
export interface ContainerNamespaces {
  pid?: 'host' | { joinPidOf: number };
  ipc?: 'host' | { joinPidOf: number };
  uts?: 'host';
}

/** The addon's namespace fields: the flags to clone with and what to join. */
function nativeNamespaces(spec: ContainerSpec) {
  const ns = spec.namespaces ?? {};
  const join = (n: ContainerNamespaces['pid']) => (typeof n === 'object' ? n.joinPidOf : undefined);
  return {
    hostPid: ns.pid === 'host',
    hostIpc: ns.ipc === 'host',
    hostUts: ns.uts === 'host',
    joinPidOf: join(ns.pid),
    joinIpcOf: join(ns.ipc),
    noShm: spec.noShm ?? false,
    sysctls: Object.entries(spec.sysctls ?? {}).map(([path, value]) => `${path}=${value}`),
  };
}

/** dockerd's defaults: kernel interfaces hidden from (masked) or read-only in containers. */
export const MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** The addon's fields shared by containers and exec. */
export function nativeProcessSpec(spec: ProcessSpec) {
  return {
    args: spec.args,
    env: spec.env,
    cwd: spec.cwd,
    uid: spec.user?.uid ?? 0,
    gid: spec.user?.gid ?? 0,
    groups: spec.user?.additionalGids ?? [],
    capabilities: capabilityNumbers(spec.capabilities ?? DEFAULT_CAPABILITIES),
    noNewPrivileges: spec.noNewPrivileges ?? false,
    ...(spec.seccomp ? { seccomp: spec.seccomp } : {}),
    ...(spec.oomScoreAdj !== undefined ? { oomScoreAdj: spec.oomScoreAdj } : {}),
    tty: spec.tty ?? false,
    stdin: spec.stdin ?? false,
    cols: spec.consoleSize?.cols,
    rows: spec.consoleSize?.rows,
    cgroupProcs: spec.cgroup?.procsFiles() ?? [],
    rlimits: (spec.ulimits ?? []).map((u) => {
      const resource = RLIMITS[u.name];
      if (resource === undefined) throw new Error(`invalid ulimit type: ${u.name}`);
      return { resource, soft: u.soft, hard: u.hard };
    }),
  };
}

function nativeMount(m: ContainerMount) {
  if (m.type !== 'tmpfs') {
    return {
      type: 'bind' as const,
      source: m.source,
      destination: m.destination,
      readonly: m.readonly ?? false,
      readonlyTopOnly: m.readonlyTopOnly ?? false,
      nonRecursive: m.nonRecursive ?? false,
    };
  }
  const flags = (m.nosuid ? MS.nosuid : 0) | (m.nodev ? MS.nodev : 0) | (m.noexec ? MS.noexec : 0);
  return { type: 'tmpfs' as const, destination: m.destination, readonly: m.readonly ?? false, flags, ...(m.data ? { data: m.data } : {}) };
}

/**
 * The runtime mounts proc, sysfs and the /dev tmpfs at these paths. Resolved
 * in the root, a symlink there (an image whose /proc is `-> /`) would put
 * procfs somewhere the masked and read-only paths do not cover, or leave the
 * container without its /proc; runc refuses such a rootfs, and so do we.
 */
const KERNEL_MOUNT_POINTS = ['proc', 'sys', 'dev'];

function refuseSymlinkedMountPoints(rootfs: string): void {
  for (const name of KERNEL_MOUNT_POINTS) {
    let isLink = false;
    try {
      isLink = lstatSync(join(rootfs, name)).isSymbolicLink();
    } catch {
      continue; // missing: the runtime makes the directory
    }
    if (isLink) {
      throw Object.assign(
        new Error(`rootfs_linux: /${name} in the image is a symlink; ${name} must be mounted on a directory: rebuild the image without that link`),
        { syscall: 'mount' },
      );
    }
  }
}

/**
 * Starts a container. Rejects with the child's error when a step fails
 * (message names the step and syscall; `code`, `errno`, `syscall` set); a
 * command that can not be exec'd reads as dockerd's
 * `exec: "x": executable file not found in $PATH`, with `exitCode` 127.
 */
export function spawnContainer(spec: ContainerSpec): Promise<ContainerProcess> {
  refuseSymlinkedMountPoints(spec.rootfs);
  const launched = loadAddon().spawn({
    ...nativeProcessSpec(spec),
    rootfs: spec.rootfs,
    hostname: spec.namespaces?.uts === 'host' ? undefined : spec.hostname,
    readonlyRootfs: spec.readonlyRootfs ?? false,
    mountCgroup2: spec.mountCgroup2 ?? false,
    hostNetwork: spec.hostNetwork ?? false,
    shmSize: spec.shmSize ?? 0,
    ...nativeNamespaces(spec),
    binds: (spec.binds ?? []).map(nativeMount),
    maskedPaths: [...(spec.maskedPaths ?? MASKED_PATHS)],
    readonlyPaths: [...(spec.readonlyPaths ?? READONLY_PATHS)],
    // /dev/ptmx stays the link to the container's own devpts, as runc leaves it (a host's ptmx is another instance)
    devices: (spec.devices ?? []).filter((d) => d.path !== '/dev/ptmx'),
    sysfsWritable: spec.writableSysfs ?? false,
    cgroupWritable: spec.writableSysfs ?? false,
  });
  return startLaunched(launched, false, spec.beforeStart);
}

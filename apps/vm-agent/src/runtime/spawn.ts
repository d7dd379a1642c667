/**
 * Starting a container's init process.
 *
 * The caller prepares the rootfs (an overlay mounted on the host, as
 * containerd does) and the files to bind (/etc/hosts, /etc/hostname,
 * /etc/resolv.conf, volumes); spawnContainer clones the process into new
 * pid, mount, uts, ipc, net and cgroup namespaces, lets `beforeStart` wire
 * it (its network namespace is /proc/<pid>/ns/net) while it waits, then it
 * joins its cgroup, builds its filesystem view, drops to Docker's default
 * capabilities and the given user, and execs.
 */
import { capabilityNumbers, DEFAULT_CAPABILITIES } from './capabilities.js';
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
  /** The cgroup to join before anything else (see cgroups.ts). */
  cgroup?: { procsFiles(): string[] };
}

export interface BindMount {
  source: string;
  /** Absolute path in the container; created (file or directory, like the source) when missing. */
  destination: string;
  readonly?: boolean;
}

export interface ContainerSpec extends ProcessSpec {
  /** The prepared root filesystem on the host, already mounted. */
  rootfs: string;
  hostname?: string;
  binds?: BindMount[];
  readonlyRootfs?: boolean;
  /** Mount the (namespaced) cgroup2 hierarchy read-only at /sys/fs/cgroup: true on a v2 host. */
  mountCgroup2?: boolean;
  /**
   * Runs while the child waits, before it joins its cgroup or sees its
   * rootfs: attach its network namespace here. A throw aborts the start
   * (the child is killed and reaped) and rejects spawnContainer with it.
   */
  beforeStart?: (pid: number) => Promise<void> | void;
}

/** dockerd's defaults: kernel interfaces hidden from (masked) or read-only in containers. */
export const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
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
    tty: spec.tty ?? false,
    stdin: spec.stdin ?? false,
    cols: spec.consoleSize?.cols,
    rows: spec.consoleSize?.rows,
    cgroupProcs: spec.cgroup?.procsFiles() ?? [],
  };
}

/**
 * Starts a container. Rejects with the child's error when a step fails
 * (message names the step and syscall; `code`, `errno`, `syscall` set); a
 * command that can not be exec'd reads as dockerd's
 * `exec: "x": executable file not found in $PATH`, with `exitCode` 127.
 */
export function spawnContainer(spec: ContainerSpec): Promise<ContainerProcess> {
  const launched = loadAddon().spawn({
    ...nativeProcessSpec(spec),
    rootfs: spec.rootfs,
    hostname: spec.hostname,
    readonlyRootfs: spec.readonlyRootfs ?? false,
    mountCgroup2: spec.mountCgroup2 ?? false,
    binds: (spec.binds ?? []).map((b) => ({ source: b.source, destination: b.destination, readonly: b.readonly ?? false })),
    maskedPaths: MASKED_PATHS,
    readonlyPaths: READONLY_PATHS,
  });
  return startLaunched(launched, false, spec.beforeStart);
}

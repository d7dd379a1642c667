/**
 * The exact shape of the C addon's exports (native/src/*.c). Only the
 * runtime modules use it; the rest of the agent uses their typed wrappers.
 * All fds returned are close-on-exec and owned by the caller.
 */

/** A process to start, as the addon reads it (native/src/spec.c). */
export interface NativeSpec {
  args: string[];
  env: string[];
  cwd?: string;
  uid: number;
  gid: number;
  groups: number[];
  /** Capability numbers kept in the bounding, effective and permitted sets. */
  capabilities: number[];
  noNewPrivileges: boolean;
  tty: boolean;
  /** Without a tty: give the child a stdin pipe (else /dev/null). */
  stdin: boolean;
  cols?: number;
  rows?: number;
  /** cgroup.procs files the child writes "0" to before anything else. */
  cgroupProcs: string[];
  /** setrlimit(2) before exec; a negative limit is unlimited (RLIM_INFINITY). */
  rlimits?: { resource: number; soft: number; hard: number }[];
  /** A seccomp filter from seccompCompile, installed before the user changes; absent: unconfined. */
  seccomp?: Uint8Array;
  /** Written to /proc/self/oom_score_adj before exec (-1000..1000); absent: inherited from the agent. */
  oomScoreAdj?: number;
}

/** spawn() only: what makes a container. */
export interface NativeContainerSpec extends NativeSpec {
  rootfs: string;
  hostname?: string;
  readonlyRootfs: boolean;
  mountCgroup2: boolean;
  /** Stay in the agent's network namespace (no CLONE_NEWNET). */
  hostNetwork?: boolean;
  /** /dev/shm size in bytes; absent or 0: 64 MiB. */
  shmSize?: number;
  /** Stay in the agent's pid, ipc or uts namespace (no CLONE_NEWPID, NEWIPC, NEWUTS; no sethostname). */
  hostPid?: boolean;
  hostIpc?: boolean;
  hostUts?: boolean;
  /** Join the pid or ipc namespace of this process (a running container's init) instead of a new one. */
  joinPidOf?: number;
  joinIpcOf?: number;
  /** No /dev/shm tmpfs (--ipc none, or a bind in `binds` provides it). */
  noShm?: boolean;
  /** "path=value", the path under /proc/sys ("net/ipv4/ip_forward=1"); written after /proc is mounted. */
  sysctls?: string[];
  /** In order: binds of host paths, or new tmpfs mounts (`flags`: MS_* bits; `data`: mount options). */
  binds: {
    type?: 'bind' | 'tmpfs';
    source?: string;
    destination: string;
    readonly: boolean;
    flags?: number;
    data?: string;
    /** bind: read-only on the top mount only (else every mount under it too, mount_setattr AT_RECURSIVE). */
    readonlyTopOnly?: boolean;
    /** bind: MS_BIND without MS_REC. */
    nonRecursive?: boolean;
  }[];
  maskedPaths: string[];
  readonlyPaths: string[];
  /** Nodes made after the default ones, replacing one at the same path (native/src/devices.c). */
  devices?: { path: string; type: 'c' | 'b' | 'p'; major: number; minor: number; mode: number; uid: number; gid: number }[];
  /** /sys mounted read-write (--privileged). */
  sysfsWritable?: boolean;
  /** The cgroup2 mount read-write (--privileged). */
  cgroupWritable?: boolean;
}

/** A cloned child waiting at its start gate. */
export interface Launched {
  pid: number;
  pidfd: number;
  syncFd: number;
  msgFd: number;
  stdin?: number;
  stdout?: number;
  stderr?: number;
}

export interface Started {
  ptyMaster?: number;
  /** exec only: the process in the container (the helper has been reaped). */
  pid?: number;
  pidfd?: number;
}

export interface Addon {
  mknod(path: string, mode: number, major: number, minor: number): void;
  lsetxattr(path: string, name: string, value: Uint8Array): void;
  lgetxattr(path: string, name: string): Buffer | undefined;
  mount(source: string | null, target: string, fstype: string | null, flags: readonly string[] | number, data: string | null): void;
  umount(target: string, flags: readonly string[] | number): void;

  /**
   * Reads the exec shim (native/shim/) into a sealed memfd, once per process;
   * every spawn and exec then ends in it (native/src/exec_shim.c).
   */
  shimLoad(path: string): void;
  spawn(spec: NativeContainerSpec): Launched;
  exec(pid: number, spec: NativeSpec): Launched;
  /** Opens the gate; closes syncFd and msgFd, never pidfd. On failure the child is reaped. */
  start(syncFd: number, msgFd: number, pidfd: number, isExec: boolean): Promise<Started>;
  /** Calls back once when the process exits; with reap, the status (else nulls). Never closes pidfd. */
  watchExit(pidfd: number, reap: boolean, callback: (exitCode: number | null, signal: number | null) => void): void;
  /** Blocks until the child exits and reaps it. */
  reap(pidfd: number): { exitCode: number | null; signal: number | null };
  pidfdOpen(pid: number): number;
  sendSignal(pidfd: number, signal: number): void;
  resize(ptyMaster: number, cols: number, rows: number): void;

  /** Listens on host:port and relays each connection to targetHost:targetPort (native/src/relay_bindings.c; the design in relay.h); returns the bound port. */
  relayListen(host: string, port: number, targetHost: string, targetPort: number, group: number): number;
  /** Closes the listener of `group` and every pair it accepted; returns how many pairs. */
  relayCloseGroup(group: number): number;
  relayCount(): number;

  /**
   * Compiles the allow list to a BPF_PROG_TYPE_CGROUP_DEVICE program and
   * attaches it to a cgroup v2 directory, replacing the device programs
   * attached there before (native/src/devices_bpf.c); returns how many it replaced.
   */
  attachDeviceFilter(cgroupDir: string, rules: NativeDeviceRule[]): number;

  /** Compiles a seccomp filter with libseccomp to classic BPF (native/src/seccomp.c). */
  seccompCompile(filter: NativeSeccompFilter): Buffer;

  /** A veth pair by rtnetlink, its peer made inside pid's network namespace and configured there (native/src/veth.c). */
  vethAttach(
    hostIf: string,
    bridge: string,
    mtu: number,
    pid: number,
    ifName: string,
    mac: string,
    address: string,
    prefix: number,
    gateway: string | null,
  ): Promise<void>;
  /** Deletes a link of the agent's namespace by name; false when there was none. */
  linkDelete(name: string): Promise<boolean>;
}

export interface NativeSeccompAction {
  action: 'allow' | 'errno' | 'kill-thread' | 'kill-process' | 'trap' | 'trace' | 'log';
  /** errno: the error returned (EPERM when absent); trace: the value the tracer sees. */
  errno?: number;
}

/** One comparison of a syscall argument (SCMP_CMP_*); masked-eq is (arg & value) == valueTwo. */
export interface NativeSeccompArg {
  index: number;
  op: 'ne' | 'lt' | 'le' | 'eq' | 'ge' | 'gt' | 'masked-eq';
  value: bigint;
  valueTwo: bigint;
}

export interface NativeSeccompFilter {
  defaultAction: NativeSeccompAction;
  /** libseccomp names ("x86_64", "x86", "aarch64", ...) beside the native one. */
  architectures: string[];
  /** In order; all `args` must hold (AND). A name libseccomp does not know is skipped. */
  rules: { syscall: string; action: NativeSeccompAction; args: NativeSeccompArg[] }[];
}

/** One allow rule: BPF_DEVCG_DEV_* type (0: any), -1 for any major or minor, BPF_DEVCG_ACC_* bits. */
export interface NativeDeviceRule {
  type: number;
  major: number;
  minor: number;
  access: number;
}

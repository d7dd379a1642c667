/**
 * The namespace fields of HostConfig, as dockerd applies them
 * (daemon/oci_linux.go WithNamespaces, container_operations_unix.go
 * setupIPCDirs) and runc checks them (libcontainer/configs/validate):
 *
 * - PidMode: a new pid namespace, the host's (`host`), or a running
 *   container's (`container:ID`).
 * - IpcMode: `private` (dockerd's default) and `none` get a new IPC
 *   namespace, with a private /dev/shm or none; `shareable` too, with its
 *   /dev/shm a tmpfs the agent mounts on the host (<container dir>/shm) so
 *   that `container:ID` can bind it beside joining the IPC namespace; `host`
 *   stays in the host's, with the host's /dev/shm.
 * - UTSMode: a new UTS namespace or the host's (`host`, no hostname set).
 * - Sysctls (only namespaced ones, over dockerd's two defaults for a
 *   private network namespace), OomScoreAdj (-1000..1000).
 * (ShmSize itself is container-create.ts's; it sizes a shareable /dev/shm here too.)
 *
 * Values are checked at create (400 in dockerd's or runc's words); a
 * `container:NAME` must exist then (404) and is stored as `container:ID`, as
 * dockerd does, and must be running at start (409).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { conflict, invalidParameter, notFound, systemError } from '../errors.js';
import { mount } from '../runtime/native.js';
import type { BindMount, ContainerMount, ContainerNamespaces } from '../runtime/spawn.js';
import type { ContainerRecord, HostConfig } from './container-types.js';
import type { ContainerRegistry } from './container-registry.js';
import { isMounted, rootfsPaths } from './rootfs.js';

/** dockerd's default ShmSize (64 MiB), for a record from before ShmSize was stored. */
const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
/** "container:ID" -> "ID"; undefined for any other mode. */
const containerOf = (mode: string): string | undefined => (mode.startsWith('container:') ? mode.slice('container:'.length) : undefined);

const IPC_MODES = ['', 'none', 'private', 'shareable', 'host'];

/** runc's namespaced sysctls of the IPC namespace (besides fs.mqueue.*). */
const IPC_SYSCTLS = [
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
];

/** Swaps `.` and `/`: sysctl(8)'s two spellings of a key ("net.ipv4.conf.eth0/1.rp_filter" and "net/ipv4/conf/eth0.1/rp_filter"). */
const swapSeparators = (key: string) => key.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'));
const slashFirst = (key: string) => /^[^./]*\//.test(key);

/** The dotted spelling runc checks a key in. */
const dottedSysctl = (key: string) => (slashFirst(key) ? swapSeparators(key) : key);
/** The path under /proc/sys the child writes. */
const sysctlPath = (key: string) => (slashFirst(key) ? key : swapSeparators(key));

/** runc's rule for one sysctl (validate.sysctl), in its words; undefined when allowed. */
function sysctlRefusal(dotted: string, hc: Partial<HostConfig>): string | undefined {
  if (IPC_SYSCTLS.includes(dotted) || dotted.startsWith('fs.mqueue.')) {
    return hc.IpcMode === 'host' ? `sysctl "${dotted}" is not allowed in the hosts ipc namespace` : undefined;
  }
  if (dotted.startsWith('net.')) {
    return hc.NetworkMode === 'host' ? `sysctl "${dotted}" not allowed in host network namespace` : undefined;
  }
  if (hc.UTSMode !== 'host') {
    if (dotted === 'kernel.domainname') return undefined;
    if (dotted === 'kernel.hostname') return `sysctl "${dotted}" is not allowed as it conflicts with the OCI "hostname" field`;
  }
  return `sysctl "${dotted}" is not in a separate kernel namespace`;
}

function validateSysctls(hc: Partial<HostConfig>): void {
  const sysctls = hc.Sysctls;
  if (sysctls === undefined || sysctls === null) return;
  if (typeof sysctls !== 'object' || Array.isArray(sysctls)) throw invalidParameter('HostConfig.Sysctls must be an object of "key": "value"');
  for (const [key, value] of Object.entries(sysctls as Record<string, unknown>)) {
    if (typeof value !== 'string') throw invalidParameter(`HostConfig.Sysctls: the value of "${key}" must be a string`);
    const parts = sysctlPath(key).split('/');
    if (key.includes('=') || key.includes('\0') || parts.some((p) => p === '' || p === '.' || p === '..')) {
      throw invalidParameter(`HostConfig.Sysctls: "${key}" is not a sysctl name (dotted, as net.ipv4.ip_forward)`);
    }
    const refusal = sysctlRefusal(dottedSysctl(key), hc);
    if (refusal) {
      throw invalidParameter(
        `HostConfig.Sysctls: ${refusal}: a container can set only namespaced sysctls (kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, kernel.domainname, net.*) and not in a namespace it shares with the host`,
      );
    }
  }
}

/**
 * Create-time checks of the namespace fields (dockerd's
 * verifyPlatformContainerSettings and runconfig's validateNetMode), given
 * the Config.Hostname the client asked for.
 */
export function validateNamespaces(hc: Partial<HostConfig>, requestedHostname: string | undefined): void {
  const pid = str(hc.PidMode);
  const ipc = str(hc.IpcMode);
  const uts = str(hc.UTSMode);
  if (!(pid === '' || pid === 'host' || containerOf(pid))) throw invalidParameter(`invalid PID mode: ${pid}`);
  if (!(IPC_MODES.includes(ipc) || containerOf(ipc))) throw invalidParameter(`invalid IPC mode: ${ipc}`);
  if (!(uts === '' || uts === 'host')) throw invalidParameter(`invalid UTS mode: ${uts}`);
  if (uts === 'host' && requestedHostname) throw invalidParameter('conflicting options: hostname and the UTS mode');
  const oom = hc.OomScoreAdj ?? 0;
  if (typeof oom !== 'number' || !Number.isInteger(oom)) throw invalidParameter('HostConfig.OomScoreAdj must be a whole number');
  if (oom < -1000 || oom > 1000) throw invalidParameter(`Invalid value ${oom}, range for oom score adj is [-1000, 1000]`);
  validateSysctls(hc);
  const groups = hc.GroupAdd ?? [];
  if (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string' || g === '')) {
    throw invalidParameter('HostConfig.GroupAdd must be a list of group names or ids');
  }
}

/** dockerd's default IpcMode, as inspect shows it: "private". */
export function namespaceDefaults(hc: Partial<HostConfig>): Partial<HostConfig> {
  return { IpcMode: str(hc.IpcMode) || 'private' };
}

/**
 * At create: `container:NAME` must name an existing container (404 as
 * dockerd's), and is kept as `container:ID` so a rename does not break it.
 */
export function adoptSharedNamespaces(hc: HostConfig, find: (term: string) => ContainerRecord): void {
  for (const field of ['PidMode', 'IpcMode'] as const) {
    const target = containerOf(str(hc[field]));
    if (target !== undefined) hc[field] = `container:${find(target).Id}`;
  }
}

/** The host-side /dev/shm of a shareable container, bound into it and into those that join its IPC namespace; unmounted with its rootfs. */
const shmDir = (containerDir: string) => rootfsPaths(containerDir).shm;

/** The running init of the container a mode names, or a 404/409 in dockerd's words ("failed to join PID namespace: ..."). */
function donor(svc: ContainerRegistry, id: string, what: 'PID' | 'IPC'): { rec: ContainerRecord; pid: number } {
  const prefix = `failed to join ${what} namespace`;
  const rec = svc.store.find(id);
  if (!rec) throw notFound(`${prefix}: No such container: ${id}`);
  if (rec.State.Status === 'restarting') throw conflict(`${prefix}: Container ${rec.Id} is restarting, wait until the container is running`);
  const pid = svc.liveState(rec).proc?.pid;
  if (pid === undefined) throw conflict(`${prefix}: container ${rec.Id} is not running`);
  return { rec, pid };
}

/** Where a running container's shareable /dev/shm is on the host; a 400 when its IPC is not shareable. */
function shmSourceOf(svc: ContainerRegistry, rec: ContainerRecord, depth = 0): string {
  const mode = str(rec.HostConfig.IpcMode);
  if (mode === 'host') return '/dev/shm';
  const target = containerOf(mode);
  if (target !== undefined && depth < 8) {
    const next = svc.store.find(target);
    if (next) return shmSourceOf(svc, next, depth + 1);
  }
  const dir = shmDir(svc.store.dir(rec.Id));
  if ((mode === 'shareable' || mode === '') && isMounted(dir)) return dir;
  throw invalidParameter(`failed to join IPC namespace: container ${rec.Id}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`);
}

/**
 * dockerd's sysctls for a container with a network namespace of its own
 * (withCommonOptions): ping without CAP_NET_RAW (not when the agent itself
 * runs in a user namespace), ports under 1024 without CAP_NET_BIND_SERVICE;
 * each only where the kernel has it, and HostConfig.Sysctls overrides them.
 */
function defaultSysctls(hc: HostConfig): Record<string, string> {
  if (hc.NetworkMode === 'host' || str(hc.NetworkMode).startsWith('container:')) return {};
  const out: Record<string, string> = {};
  const inUserNs = !/^\s*0\s+0\s+4294967295\s*$/.test(readFileSync('/proc/self/uid_map', 'utf8'));
  if (!inUserNs && existsSync('/proc/sys/net/ipv4/ping_group_range')) out['net/ipv4/ping_group_range'] = '0 2147483647';
  if (existsSync('/proc/sys/net/ipv4/ip_unprivileged_port_start')) out['net/ipv4/ip_unprivileged_port_start'] = '0';
  return out;
}

/** The runtime's namespace fields of a container about to start. */
export interface NamespaceSpec {
  namespaces: ContainerNamespaces;
  /** No private /dev/shm: --ipc none, or a shared one among the binds. */
  noShm: boolean;
  sysctls: Record<string, string>;
  /** The caller's binds with a shared /dev/shm put first (a volume at /dev/shm still wins). */
  binds: ContainerMount[];
}

/**
 * At start: which namespaces the container shares, its /dev/shm (mounting a
 * shareable one on the host first) and its sysctls. Throws a 404 or 409 when
 * a container it joins is gone or not running.
 */
export async function namespaceSpec(svc: ContainerRegistry, rec: ContainerRecord, binds: ContainerMount[]): Promise<NamespaceSpec> {
  const hc = rec.HostConfig;
  const namespaces: ContainerNamespaces = {};
  const pidMode = str(hc.PidMode);
  if (pidMode === 'host') namespaces.pid = 'host';
  const pidTarget = containerOf(pidMode);
  if (pidTarget !== undefined) namespaces.pid = { joinPidOf: donor(svc, pidTarget, 'PID').pid };
  if (hc.UTSMode === 'host') namespaces.uts = 'host';

  const ipcMode = str(hc.IpcMode);
  const size = (hc.ShmSize as number | undefined) || DEFAULT_SHM_SIZE;
  let shm: BindMount | undefined;
  const ipcTarget = containerOf(ipcMode);
  if (ipcTarget !== undefined) {
    const d = donor(svc, ipcTarget, 'IPC');
    namespaces.ipc = { joinPidOf: d.pid };
    shm = { source: shmSourceOf(svc, d.rec), destination: '/dev/shm' };
  } else if (ipcMode === 'host') {
    if (!existsSync('/dev/shm')) throw systemError('/dev/shm is not mounted, but must be for --ipc=host');
    namespaces.ipc = 'host';
    shm = { source: '/dev/shm', destination: '/dev/shm' };
  } else if (ipcMode === 'shareable' || ipcMode === '') {
    // '' is a record from before IpcMode was stored: dockerd reads it as shareable too.
    const dir = shmDir(svc.store.dir(rec.Id));
    if (!isMounted(dir)) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      mount('shm', dir, 'tmpfs', ['nosuid', 'nodev', 'noexec'], `mode=1777,size=${size}`);
    }
    shm = { source: dir, destination: '/dev/shm' };
  }
  const asked = Object.entries((hc.Sysctls ?? {}) as Record<string, string>).map(([k, v]) => [sysctlPath(k), v]);
  const sysctls = { ...defaultSysctls(hc), ...Object.fromEntries(asked) };
  return {
    namespaces,
    noShm: !!shm || ipcMode === 'none',
    sysctls,
    binds: shm ? [shm, ...binds] : binds,
  };
}

/** HostConfig.GroupAdd: the extra groups of the container's process and of every exec in it. */
export const groupAddOf = (hc: HostConfig): string[] => (Array.isArray(hc.GroupAdd) ? (hc.GroupAdd as string[]) : []);

/** HostConfig.OomScoreAdj for the process and every exec (dockerd always sets it, 0 by default, so none inherits the agent's). */
export const oomScoreAdjOf = (hc: HostConfig): number => (typeof hc.OomScoreAdj === 'number' ? hc.OomScoreAdj : 0);

/**
 * Which cgroup layout this machine mounts (v2 unified, or v1 hierarchies,
 * read from /proc/self/mountinfo) and which optional limits it can apply,
 * as dockerd's sysinfo reads them. Cgroup (cgroups.ts) works on either.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CgroupLayout {
  version: 1 | 2;
  /** v2: the unified mount. */
  unified?: string;
  /** v1: mount point of each hierarchy, keyed by its controllers ("cpu,cpuacct", "name=systemd"). */
  hierarchies: Map<string, string>;
  /** v1 with a cgroup2 mount beside the hierarchies (systemd's hybrid layout: /sys/fs/cgroup/unified). */
  hybrid?: string;
}

/** Reads which cgroup layout is mounted. */
export function detectCgroups(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): CgroupLayout {
  const hierarchies = new Map<string, string>();
  let unified: string | undefined;
  let hybrid: string | undefined;
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const mountPoint = left.split(' ')[4];
    const [fstype, , superOpts = ''] = right.split(' ');
    if (!mountPoint) continue;
    if (fstype === 'cgroup2' && mountPoint === '/sys/fs/cgroup') unified = mountPoint;
    else if (fstype === 'cgroup2') hybrid ??= mountPoint;
    if (fstype === 'cgroup') {
      const controllers = superOpts
        .split(',')
        .filter((o) => o !== 'rw' && o !== 'ro' && !o.startsWith('release_agent') && o !== 'clone_children' && o !== 'noprefix' && o !== 'xattr');
      hierarchies.set(controllers.join(','), mountPoint);
    }
  }
  if (unified) return { version: 2, unified, hierarchies: new Map() };
  if (hierarchies.size === 0)
    throw new Error('no cgroup filesystem is mounted (looked in /proc/self/mountinfo for cgroup2 at /sys/fs/cgroup or cgroup v1 hierarchies)');
  return { version: 1, hierarchies, ...(hybrid ? { hybrid } : {}) };
}

let cachedLayout: CgroupLayout | undefined;
export function layout(): CgroupLayout {
  return (cachedLayout ??= detectCgroups());
}

/** A cgroup file's text, trimmed; undefined when it cannot be read. */
export function readTrim(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Which of the optional limits this machine's cgroups can apply, as dockerd's sysinfo says (what it cannot, dockerd discards with a warning). */
export interface CgroupSupport {
  memoryReservation: boolean;
  memorySwappiness: boolean;
  blkioWeight: boolean;
  oomKillDisable: boolean;
  cpuRealtime: boolean;
  cpuset: boolean;
}

export function cgroupSupport(l: CgroupLayout = layout()): CgroupSupport {
  if (l.version === 2) {
    const controllers = (readTrim(join(l.unified!, 'cgroup.controllers')) ?? '').split(' ');
    // io.bfq.weight / io.weight appear only in child cgroups, and only with BFQ or io.cost
    const children = [join(l.unified!, 'berth'), join(l.unified!, 'init.scope')];
    const ioWeight = children.some((d) => existsSync(join(d, 'io.bfq.weight')) || existsSync(join(d, 'io.weight')));
    return {
      memoryReservation: controllers.includes('memory'),
      memorySwappiness: false,
      blkioWeight: controllers.includes('io') && ioWeight,
      oomKillDisable: false,
      cpuRealtime: false,
      cpuset: controllers.includes('cpuset'),
    };
  }
  const root = (controller: string) => [...l.hierarchies].find(([k]) => k.split(',').includes(controller))?.[1];
  const has = (controller: string, file: string) => {
    const dir = root(controller);
    return !!dir && existsSync(join(dir, file));
  };
  return {
    memoryReservation: has('memory', 'memory.soft_limit_in_bytes'),
    memorySwappiness: has('memory', 'memory.swappiness'),
    blkioWeight: has('blkio', 'blkio.weight'),
    oomKillDisable: has('memory', 'memory.oom_control'),
    cpuRealtime: has('cpu', 'cpu.rt_runtime_us'),
    cpuset: has('cpuset', 'cpuset.cpus'),
  };
}

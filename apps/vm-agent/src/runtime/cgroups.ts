/**
 * One cgroup per container, under a Berth parent, on either layout:
 *   v2 (unified; the VM): /sys/fs/cgroup/berth/<name>
 *   v1 (per-controller hierarchies, e.g. a Debian host with systemd's hybrid
 *       layout): /sys/fs/cgroup/<hierarchy>/berth/<name> in every hierarchy
 * The layout is read from /proc/self/mountinfo. The container's process joins
 * by writing to `procsFiles()` (the native child does it before it builds
 * its rootfs; exec'd processes likewise).
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface CgroupLayout {
  version: 1 | 2;
  /** v2: the unified mount. */
  unified?: string;
  /** v1: mount point of each hierarchy, keyed by its controllers ("cpu,cpuacct", "name=systemd"). */
  hierarchies: Map<string, string>;
}

export interface CgroupStats {
  /** Memory in use, bytes (page cache included, as the kernel counts it). */
  memoryBytes?: number;
  /** CPU time used, nanoseconds. */
  cpuNanos?: number;
  /** Tasks in the cgroup. */
  pids?: number;
}

export interface CgroupLimits {
  memoryBytes?: number;
  /** CPUs in billionths (Docker's NanoCpus): 1.5 CPUs is 1_500_000_000. */
  nanoCpus?: number;
  pidsLimit?: number;
}

const CPU_PERIOD_US = 100_000;

/** Reads which cgroup layout is mounted. */
export function detectCgroups(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): CgroupLayout {
  const hierarchies = new Map<string, string>();
  let unified: string | undefined;
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const mountPoint = left.split(' ')[4];
    const [fstype, , superOpts = ''] = right.split(' ');
    if (!mountPoint) continue;
    if (fstype === 'cgroup2' && mountPoint === '/sys/fs/cgroup') unified = mountPoint;
    if (fstype === 'cgroup') {
      const controllers = superOpts.split(',').filter((o) => o !== 'rw' && o !== 'ro' && !o.startsWith('release_agent') && o !== 'clone_children' && o !== 'noprefix' && o !== 'xattr');
      hierarchies.set(controllers.join(','), mountPoint);
    }
  }
  if (unified) return { version: 2, unified, hierarchies: new Map() };
  if (hierarchies.size === 0) throw new Error('no cgroup filesystem is mounted (looked in /proc/self/mountinfo for cgroup2 at /sys/fs/cgroup or cgroup v1 hierarchies)');
  return { version: 1, hierarchies };
}

let cachedLayout: CgroupLayout | undefined;
function layout(): CgroupLayout {
  return (cachedLayout ??= detectCgroups());
}

function readTrim(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function readNumber(path: string): number | undefined {
  const s = readTrim(path);
  return s === undefined || s === '' ? undefined : Number(s);
}

/** v1 cpuset cgroups start empty and refuse tasks: copy the parent's cpus and mems. */
function fillCpuset(dir: string): void {
  for (const f of ['cpuset.cpus', 'cpuset.mems']) {
    if (readTrim(join(dir, f)) === '') writeFileSync(join(dir, f), readTrim(join(dir, '..', f)) ?? '');
  }
}

function mkdirCgroup(dir: string, cpuset: boolean): void {
  if (!existsSync(dir)) mkdirSync(dir);
  if (cpuset) fillCpuset(dir);
}

export class Cgroup {
  readonly version: 1 | 2;
  /** The container's directory in each hierarchy (one on v2). */
  readonly dirs: readonly string[];
  readonly #byController: (controller: string) => string | undefined;

  private constructor(version: 1 | 2, dirs: string[], byController: (c: string) => string | undefined) {
    this.version = version;
    this.dirs = dirs;
    this.#byController = byController;
  }

  /**
   * Creates (or reuses) `<parent>/<name>` in every hierarchy. On v2 it
   * enables the available controllers for the parent's children first.
   */
  static create(name: string, parent = 'berth', cgroupLayout: CgroupLayout = layout()): Cgroup {
    if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.startsWith('.')) throw new Error(`invalid cgroup name "${name}"`);
    if (cgroupLayout.version === 2) {
      const root = cgroupLayout.unified!;
      const parentDir = join(root, parent);
      mkdirCgroup(parentDir, false);
      const wanted = ['cpu', 'memory', 'pids', 'io', 'cpuset'];
      for (const dir of [root, parentDir]) {
        const available = (readTrim(join(dir, 'cgroup.controllers')) ?? '').split(' ');
        const enable = wanted.filter((c) => available.includes(c)).map((c) => `+${c}`).join(' ');
        if (enable) writeFileSync(join(dir, 'cgroup.subtree_control'), enable);
      }
      const dir = join(parentDir, name);
      mkdirCgroup(dir, false);
      return new Cgroup(2, [dir], () => dir);
    }
    const byKey = new Map<string, string>();
    for (const [key, mount] of cgroupLayout.hierarchies) {
      const cpuset = key.split(',').includes('cpuset');
      mkdirCgroup(join(mount, parent), cpuset);
      const dir = join(mount, parent, name);
      mkdirCgroup(dir, cpuset);
      byKey.set(key, dir);
    }
    return new Cgroup(1, [...byKey.values()], (c) => [...byKey].find(([k]) => k.split(',').includes(c))?.[1]);
  }

  /** The cgroup.procs files a process writes "0" to (or its pid) to join. */
  procsFiles(): string[] {
    return this.dirs.map((d) => join(d, 'cgroup.procs'));
  }

  addPid(pid: number): void {
    for (const f of this.procsFiles()) writeFileSync(f, String(pid));
  }

  /** Pids in the cgroup (as the agent sees them). */
  pids(): number[] {
    const text = readTrim(join(this.#dir('pids') ?? this.dirs[0]!, 'cgroup.procs')) ?? '';
    return text.split('\n').filter(Boolean).map(Number);
  }

  #dir(controller: string): string | undefined {
    return this.#byController(controller);
  }

  /** Stops every process (docker pause); resolves once the kernel reports them frozen. */
  async freeze(): Promise<void> {
    await this.#setFrozen(true);
  }

  async thaw(): Promise<void> {
    await this.#setFrozen(false);
  }

  async #setFrozen(frozen: boolean): Promise<void> {
    let file: string;
    let value: string;
    let done: () => boolean;
    if (this.version === 2) {
      file = join(this.dirs[0]!, 'cgroup.freeze');
      value = frozen ? '1' : '0';
      done = () => (readTrim(join(this.dirs[0]!, 'cgroup.events')) ?? '').includes(`frozen ${frozen ? 1 : 0}`);
    } else {
      const dir = this.#dir('freezer');
      if (!dir) throw new Error('the freezer cgroup controller is not mounted; pausing containers needs it');
      file = join(dir, 'freezer.state');
      value = frozen ? 'FROZEN' : 'THAWED';
      done = () => readTrim(file) === value;
    }
    writeFileSync(file, value);
    // Freezing is asynchronous (FREEZING, then FROZEN); it normally settles at once.
    for (let i = 0; i < 500 && !done(); i++) await sleep(10);
    if (!done()) throw new Error(`cgroup ${this.dirs[0]} did not become ${value} within 5s`);
  }

  stats(): CgroupStats {
    if (this.version === 2) {
      const d = this.dirs[0]!;
      const usage = /usage_usec (\d+)/.exec(readTrim(join(d, 'cpu.stat')) ?? '')?.[1];
      return {
        memoryBytes: readNumber(join(d, 'memory.current')),
        cpuNanos: usage === undefined ? undefined : Number(usage) * 1000,
        pids: readNumber(join(d, 'pids.current')),
      };
    }
    const mem = this.#dir('memory');
    const cpu = this.#dir('cpuacct');
    const pids = this.#dir('pids');
    return {
      memoryBytes: mem ? readNumber(join(mem, 'memory.usage_in_bytes')) : undefined,
      cpuNanos: cpu ? readNumber(join(cpu, 'cpuacct.usage')) : undefined,
      pids: pids ? readNumber(join(pids, 'pids.current')) : undefined,
    };
  }

  /** Sets the given limits; absent fields are left as they are. */
  setLimits(limits: CgroupLimits): void {
    const write = (controller: string, file: string, value: string) => {
      const dir = this.#dir(controller);
      if (!dir) throw new Error(`the ${controller} cgroup controller is not available; can not set ${file}`);
      writeFileSync(join(dir, file), value);
    };
    const v2 = this.version === 2;
    if (limits.memoryBytes !== undefined)
      write('memory', v2 ? 'memory.max' : 'memory.limit_in_bytes', limits.memoryBytes > 0 ? String(limits.memoryBytes) : v2 ? 'max' : '-1');
    if (limits.nanoCpus !== undefined) {
      const quota = limits.nanoCpus > 0 ? Math.round((limits.nanoCpus / 1e9) * CPU_PERIOD_US) : -1;
      if (v2) write('cpu', 'cpu.max', `${quota > 0 ? quota : 'max'} ${CPU_PERIOD_US}`);
      else {
        write('cpu', 'cpu.cfs_period_us', String(CPU_PERIOD_US));
        write('cpu', 'cpu.cfs_quota_us', String(quota));
      }
    }
    if (limits.pidsLimit !== undefined) write('pids', 'pids.max', limits.pidsLimit > 0 ? String(limits.pidsLimit) : 'max');
  }

  /**
   * Removes the cgroup in every hierarchy. The processes must have exited;
   * a cgroup still busy a second later (a process not yet reaped) throws.
   */
  async remove(): Promise<void> {
    for (const dir of this.dirs) {
      for (let attempt = 0; ; attempt++) {
        try {
          rmdirSync(dir);
          break;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') break;
          if (code !== 'EBUSY' || attempt >= 100) throw new Error(`removing cgroup ${dir}: ${(err as Error).message}`, { cause: err });
          await sleep(10);
        }
      }
    }
  }
}

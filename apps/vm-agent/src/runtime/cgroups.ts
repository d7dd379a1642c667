/**
 * One cgroup per container, under a Berth parent, on either layout:
 *   v2 (unified; the VM): /sys/fs/cgroup/berth/<name>
 *   v1 (per-controller hierarchies, e.g. a Debian host with systemd's hybrid
 *       layout): /sys/fs/cgroup/<hierarchy>/berth/<name> in every hierarchy
 * The layout is read from /proc/self/mountinfo (cgroup-layout.ts). The container's process joins
 * by writing to `procsFiles()` (the native child does it before it builds
 * its rootfs; exec'd processes likewise). Every container cgroup gets
 * runc's default device rules when it is created, before any process joins.
 */
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { attachDeviceFilter, type DeviceRule } from './native.js';
import { layout, readTrim, type CgroupLayout } from './cgroup-layout.js';

export interface CgroupStats {
  /** Memory in use, bytes (page cache included, as the kernel counts it). */
  memoryBytes?: number;
  /** CPU time used, nanoseconds. */
  cpuNanos?: number;
  /** Tasks in the cgroup. */
  pids?: number;
}

export interface CgroupLimits {
  /** 0: unlimited. */
  memoryBytes?: number;
  /** Memory plus swap (Docker's MemorySwap); -1 or 0: unlimited. Needs memoryBytes in the same call. */
  memorySwapBytes?: number;
  /** CPUs in billionths (Docker's NanoCpus): 1.5 CPUs is 1_500_000_000; 0: unlimited. */
  nanoCpus?: number;
  /** Relative weight (Docker's CpuShares, 2-262144, 1024 is the default); 0 leaves it. */
  cpuShares?: number;
  /** 0 or -1: unlimited. */
  pidsLimit?: number;
  /** Memory soft limit (Docker's MemoryReservation): v2 memory.low, v1 memory.soft_limit_in_bytes; 0: none. */
  memoryReservationBytes?: number;
  /** 0-100, v1 only (cgroupSupport says); absent leaves the kernel's. */
  memorySwappiness?: number;
  /** 10-1000 (Docker's BlkioWeight); absent or 0 leaves it. */
  blkioWeight?: number;
  /** "0-2,4" (Docker's CpusetCpus, CpusetMems); absent or '' leaves the parent's. */
  cpusetCpus?: string;
  cpusetMems?: string;
  /** v1 real-time scheduling budget, microseconds (Docker's CpuRealtimePeriod, CpuRealtimeRuntime); 0 leaves it. */
  cpuRtPeriodUs?: number;
  cpuRtRuntimeUs?: number;
  /** v1 memory.oom_control (Docker's OomKillDisable). */
  oomKillDisable?: boolean;
}

/** What `docker stats` needs, in the units dockerd reports (nanoseconds, bytes). */
export interface CgroupUsage {
  cpu: {
    totalNanos: number;
    userNanos: number;
    systemNanos: number;
    perCpuNanos?: number[];
    periods: number;
    throttledPeriods: number;
    throttledNanos: number;
  };
  memory: { usage: number; maxUsage?: number; failcnt?: number; limit?: number; stats: Record<string, number> };
  pids: { current: number; limit?: number };
  /** Bytes read and written per device ("Read", "Write"). */
  io: { major: number; minor: number; op: string; value: number }[];
}

const CPU_PERIOD_US = 100_000;

function readNumber(path: string): number | undefined {
  const s = readTrim(path);
  return s === undefined || s === '' ? undefined : Number(s);
}

/** "key value" lines (cpu.stat, memory.stat) to numbers. */
function keyValues(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.split(' ');
    if (k && v !== undefined && /^\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
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

/** Thrown by freeze() and thaw() on a machine with no cgroup freezer at all (see Cgroup.canFreeze). */
export class NoFreezerError extends Error {
  constructor() {
    super(
      'this machine has no cgroup freezer: cgroup v1 has no freezer hierarchy mounted and there is no cgroup v2 mount to freeze through; ' +
        'mount one (mount -t cgroup -o freezer freezer /sys/fs/cgroup/freezer) to pause containers',
    );
  }
}

export class Cgroup {
  readonly version: 1 | 2;
  /** The container's directory in each hierarchy (one on v2). */
  readonly dirs: readonly string[];
  readonly #byController: (controller: string) => string | undefined;
  /** v1 without a freezer hierarchy: the container's cgroup on the hybrid cgroup2 mount, frozen through its cgroup.freeze. */
  readonly #v2FreezeDir: string | undefined;

  private constructor(version: 1 | 2, dirs: string[], byController: (c: string) => string | undefined, v2FreezeDir?: string) {
    this.version = version;
    this.dirs = dirs;
    this.#byController = byController;
    this.#v2FreezeDir = v2FreezeDir;
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
        const enable = wanted
          .filter((c) => available.includes(c))
          .map((c) => `+${c}`)
          .join(' ');
        if (enable) writeFileSync(join(dir, 'cgroup.subtree_control'), enable);
      }
      const dir = join(parentDir, name);
      mkdirCgroup(dir, false);
      attachDeviceFilter(dir, DEFAULT_DEVICE_RULES);
      return new Cgroup(2, [dir], () => dir);
    }
    const byKey = new Map<string, string>();
    for (const [key, mount] of cgroupLayout.hierarchies) {
      const cpuset = key.split(',').includes('cpuset');
      mkdirCgroup(join(mount, parent), cpuset);
      const dir = join(mount, parent, name);
      mkdirCgroup(dir, cpuset);
      if (key.split(',').includes('devices')) allowDefaultDevices(dir);
      byKey.set(key, dir);
    }
    const byController = (c: string) => [...byKey].find(([k]) => k.split(',').includes(c))?.[1];
    // No v1 freezer: the processes also join a cgroup on the hybrid v2 mount (as runc puts them
    // there too), whose cgroup.freeze (kernel 5.2+) needs no controller, so pause and commit still freeze.
    let v2FreezeDir: string | undefined;
    if (!byController('freezer') && cgroupLayout.hybrid && existsSync(join(cgroupLayout.hybrid, 'cgroup.procs'))) {
      mkdirCgroup(join(cgroupLayout.hybrid, parent), false);
      v2FreezeDir = join(cgroupLayout.hybrid, parent, name);
      mkdirCgroup(v2FreezeDir, false);
      if (!existsSync(join(v2FreezeDir, 'cgroup.freeze'))) v2FreezeDir = undefined; // a kernel before 5.2: the dir is left unused
    }
    return new Cgroup(1, [...byKey.values(), ...(v2FreezeDir ? [v2FreezeDir] : [])], byController, v2FreezeDir);
  }

  /**
   * Opens more devices on top of the default rules (--device,
   * --device-cgroup-rule, --privileged's `a *:* rwm`); call it before any
   * process joins. v2 replaces the filter with one of both lists; v1 adds
   * the lines to devices.allow.
   */
  allowDevices(rules: readonly DeviceRule[]): void {
    const extra = rules.filter(canMatch);
    if (!extra.length) return;
    if (this.version === 2) {
      attachDeviceFilter(this.dirs[0]!, [...DEFAULT_DEVICE_RULES, ...extra]);
      return;
    }
    const dir = this.#dir('devices');
    if (!dir) throw new Error("the devices cgroup controller is not mounted; the container's device rules cannot be applied");
    for (const line of extra.flatMap(v1Lines)) writeFileSync(join(dir, 'devices.allow'), line);
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

  /** Whether freeze() can work here: false on a v1 machine with neither a freezer hierarchy nor a v2 mount to freeze through. */
  get canFreeze(): boolean {
    return this.version === 2 || this.#v2FreezeDir !== undefined || this.#dir('freezer') !== undefined;
  }

  /** Stops every process (docker pause); resolves once the kernel reports them frozen. Throws NoFreezerError where !canFreeze. */
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
    const v2Dir = this.version === 2 ? this.dirs[0]! : this.#v2FreezeDir;
    if (v2Dir !== undefined) {
      file = join(v2Dir, 'cgroup.freeze');
      value = frozen ? '1' : '0';
      done = () => (readTrim(join(v2Dir, 'cgroup.events')) ?? '').includes(`frozen ${frozen ? 1 : 0}`);
    } else {
      const dir = this.#dir('freezer');
      if (!dir) throw new NoFreezerError();
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
      try {
        writeFileSync(join(dir, file), value);
      } catch (err) {
        throw new Error(`setting ${file} to ${value} in ${dir}: ${(err as Error).message}`, { cause: err });
      }
    };
    const v2 = this.version === 2;
    if (limits.memoryBytes !== undefined) {
      const mem = limits.memoryBytes > 0 ? limits.memoryBytes : -1;
      const swap = limits.memorySwapBytes !== undefined && limits.memorySwapBytes > 0 && mem > 0 ? limits.memorySwapBytes : -1;
      if (v2) {
        write('memory', 'memory.max', mem > 0 ? String(mem) : 'max');
        if (existsSync(join(this.dirs[0]!, 'memory.swap.max'))) write('memory', 'memory.swap.max', swap > 0 ? String(swap - mem) : 'max');
      } else {
        // memsw must stay >= the memory limit: raise the larger first.
        const memDir = this.#dir('memory');
        const hasSwap = !!memDir && existsSync(join(memDir, 'memory.memsw.limit_in_bytes'));
        const setMem = () => write('memory', 'memory.limit_in_bytes', String(mem));
        const setSwap = () => hasSwap && write('memory', 'memory.memsw.limit_in_bytes', String(swap));
        const current = memDir ? (readNumber(join(memDir, 'memory.limit_in_bytes')) ?? 0) : 0;
        if (mem === -1 || (current > 0 && mem > current)) {
          setSwap();
          setMem();
        } else {
          setMem();
          setSwap();
        }
      }
    }
    if (limits.cpuShares !== undefined && limits.cpuShares > 0) {
      const shares = Math.min(262144, Math.max(2, limits.cpuShares));
      // runc's conversion of shares (2-262144) to a v2 weight (1-10000).
      if (v2) write('cpu', 'cpu.weight', String(Math.floor(1 + ((shares - 2) * 9999) / 262142)));
      else write('cpu', 'cpu.shares', String(shares));
    }
    if (limits.nanoCpus !== undefined) {
      const quota = limits.nanoCpus > 0 ? Math.round((limits.nanoCpus / 1e9) * CPU_PERIOD_US) : -1;
      if (v2) write('cpu', 'cpu.max', `${quota > 0 ? quota : 'max'} ${CPU_PERIOD_US}`);
      else {
        write('cpu', 'cpu.cfs_period_us', String(CPU_PERIOD_US));
        write('cpu', 'cpu.cfs_quota_us', String(quota));
      }
    }
    if (limits.pidsLimit !== undefined) write('pids', 'pids.max', limits.pidsLimit > 0 ? String(limits.pidsLimit) : 'max');
    if (limits.memoryReservationBytes !== undefined) {
      const r = limits.memoryReservationBytes;
      if (v2) write('memory', 'memory.low', r > 0 ? String(r) : '0');
      else write('memory', 'memory.soft_limit_in_bytes', r > 0 ? String(r) : '-1');
    }
    if (limits.memorySwappiness !== undefined) write('memory', 'memory.swappiness', String(limits.memorySwappiness));
    if (limits.oomKillDisable !== undefined) write('memory', 'memory.oom_control', limits.oomKillDisable ? '1' : '0');
    if (limits.blkioWeight) {
      const dir = this.#dir(v2 ? 'io' : 'blkio') ?? '';
      // runc's choice on v2: BFQ's weight as is, else io.cost's io.weight
      const file = !v2 ? 'blkio.weight' : existsSync(join(dir, 'io.bfq.weight')) ? 'io.bfq.weight' : 'io.weight';
      write(v2 ? 'io' : 'blkio', file, v2 && file === 'io.weight' ? `default ${limits.blkioWeight}` : String(limits.blkioWeight));
    }
    if (limits.cpusetCpus) write('cpuset', 'cpuset.cpus', limits.cpusetCpus);
    if (limits.cpusetMems) write('cpuset', 'cpuset.mems', limits.cpusetMems);
    // the period first: the kernel refuses a runtime above the period in force
    if (limits.cpuRtPeriodUs) write('cpu', 'cpu.rt_period_us', String(limits.cpuRtPeriodUs));
    if (limits.cpuRtRuntimeUs) write('cpu', 'cpu.rt_runtime_us', String(limits.cpuRtRuntimeUs));
  }

  /** How many times the kernel's OOM killer killed a process of this cgroup. */
  oomKills(): number {
    if (this.version === 2) return Number(/^oom_kill (\d+)/m.exec(readTrim(join(this.dirs[0]!, 'memory.events')) ?? '')?.[1] ?? 0);
    const mem = this.#dir('memory');
    return mem ? Number(/^oom_kill (\d+)/m.exec(readTrim(join(mem, 'memory.oom_control')) ?? '')?.[1] ?? 0) : 0;
  }

  /** Every figure `docker stats` shows; counters the layout lacks read as 0. */
  usage(): CgroupUsage {
    return this.version === 2 ? this.#usageV2() : this.#usageV1();
  }

  #usageV2(): CgroupUsage {
    const d = this.dirs[0]!;
    const cpu = keyValues(readTrim(join(d, 'cpu.stat')));
    const memStats = keyValues(readTrim(join(d, 'memory.stat')));
    const max = readTrim(join(d, 'memory.max'));
    const pidsMax = readTrim(join(d, 'pids.max'));
    const io: CgroupUsage['io'] = [];
    for (const line of (readTrim(join(d, 'io.stat')) ?? '').split('\n')) {
      const [dev, ...pairs] = line.split(' ');
      const [major, minor] = (dev ?? '').split(':').map(Number);
      if (major === undefined || minor === undefined || Number.isNaN(minor)) continue;
      const kv = keyValues(pairs.join('\n').replace(/=/g, ' '));
      io.push({ major, minor, op: 'read', value: kv.rbytes ?? 0 }, { major, minor, op: 'write', value: kv.wbytes ?? 0 });
    }
    return {
      cpu: {
        totalNanos: (cpu.usage_usec ?? 0) * 1000,
        userNanos: (cpu.user_usec ?? 0) * 1000,
        systemNanos: (cpu.system_usec ?? 0) * 1000,
        periods: cpu.nr_periods ?? 0,
        throttledPeriods: cpu.nr_throttled ?? 0,
        throttledNanos: (cpu.throttled_usec ?? 0) * 1000,
      },
      memory: { usage: readNumber(join(d, 'memory.current')) ?? 0, ...(max && max !== 'max' ? { limit: Number(max) } : {}), stats: memStats },
      pids: { current: readNumber(join(d, 'pids.current')) ?? 0, ...(pidsMax && pidsMax !== 'max' ? { limit: Number(pidsMax) } : {}) },
      io,
    };
  }

  #usageV1(): CgroupUsage {
    const cpuacct = this.#dir('cpuacct');
    const cpuDir = this.#dir('cpu');
    const mem = this.#dir('memory');
    const pids = this.#dir('pids');
    const blkio = this.#dir('blkio');
    const ticks = keyValues(cpuacct ? readTrim(join(cpuacct, 'cpuacct.stat')) : undefined);
    const throttle = keyValues(cpuDir ? readTrim(join(cpuDir, 'cpu.stat')) : undefined);
    const NS_PER_TICK = 10_000_000; // USER_HZ is 100
    const limit = mem ? readNumber(join(mem, 'memory.limit_in_bytes')) : undefined;
    const pidsMax = pids ? readTrim(join(pids, 'pids.max')) : undefined;
    const io: CgroupUsage['io'] = [];
    for (const line of (blkio ? (readTrim(join(blkio, 'blkio.throttle.io_service_bytes_recursive')) ?? '') : '').split('\n')) {
      const m = /^(\d+):(\d+) (\w+) (\d+)$/.exec(line);
      if (m) io.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3]!, value: Number(m[4]) });
    }
    return {
      cpu: {
        totalNanos: cpuacct ? (readNumber(join(cpuacct, 'cpuacct.usage')) ?? 0) : 0,
        userNanos: (ticks.user ?? 0) * NS_PER_TICK,
        systemNanos: (ticks.system ?? 0) * NS_PER_TICK,
        perCpuNanos: (cpuacct ? (readTrim(join(cpuacct, 'cpuacct.usage_percpu')) ?? '') : '').split(' ').filter(Boolean).map(Number),
        periods: throttle.nr_periods ?? 0,
        throttledPeriods: throttle.nr_throttled ?? 0,
        throttledNanos: throttle.throttled_time ?? 0,
      },
      memory: {
        usage: mem ? (readNumber(join(mem, 'memory.usage_in_bytes')) ?? 0) : 0,
        maxUsage: mem ? readNumber(join(mem, 'memory.max_usage_in_bytes')) : undefined,
        failcnt: mem ? readNumber(join(mem, 'memory.failcnt')) : undefined,
        // An unlimited v1 cgroup reports a huge page-rounded number: leave it to the caller.
        ...(limit !== undefined && limit < 2 ** 62 ? { limit } : {}),
        stats: keyValues(mem ? readTrim(join(mem, 'memory.stat')) : undefined),
      },
      pids: { current: pids ? (readNumber(join(pids, 'pids.current')) ?? 0) : 0, ...(pidsMax && pidsMax !== 'max' ? { limit: Number(pidsMax) } : {}) },
      io,
    };
  }

  /**
   * SIGKILLs every process in the cgroup and waits (up to 5 s) until none is
   * left, thawing it if it is frozen. For a cgroup whose owner is gone: an agent
   * killed while starting a container leaves its process running in it, with
   * no record of its pid (or, killed mid-commit, frozen).
   */
  async killAll(): Promise<void> {
    for (let attempt = 0; attempt < 500; attempt++) {
      const pids = new Set(this.dirs.flatMap((d) => (readTrim(join(d, 'cgroup.procs')) ?? '').split('\n').filter(Boolean).map(Number)));
      if (!pids.size) return;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      // A frozen process (paused, or an agent killed mid-commit) takes its SIGKILL only once thawed.
      if (attempt === 0) await this.thaw().catch(() => undefined);
      await sleep(10);
    }
    throw new Error(`processes in cgroup ${this.dirs[0]} did not die after SIGKILL`);
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

/**
 * runc's default device rules (libcontainer/specconv AllowedDevices): any
 * node may be made (mknod), but only these may be opened. Without them a
 * container, which keeps CAP_MKNOD as in Docker, could make a node for the
 * machine's disk or console and read or write it (the overlay rootfs is
 * nodev, see engine/rootfs.ts, but the container's /dev tmpfs and bind
 * mounts are not). v1 writes them to devices.allow; v2 has no devices files
 * and gets them compiled to a BPF program (native/src/devices_bpf.c).
 */
export const DEFAULT_DEVICE_RULES: readonly DeviceRule[] = [
  { type: 'c', major: '*', minor: '*', access: 'm' },
  { type: 'b', major: '*', minor: '*', access: 'm' },
  ...[3, 5, 7, 8, 9].map((minor) => ({ type: 'c' as const, major: 1, minor, access: 'rwm' })), // null zero full random urandom
  ...[0, 1, 2].map((minor) => ({ type: 'c' as const, major: 5, minor, access: 'rwm' })), // tty console ptmx
  { type: 'c', major: 136, minor: '*', access: 'rwm' }, // pts/*
  { type: 'c', major: 10, minor: 200, access: 'rwm' }, // net/tun
];

function allowDefaultDevices(dir: string): void {
  writeFileSync(join(dir, 'devices.deny'), 'a');
  for (const r of DEFAULT_DEVICE_RULES) writeFileSync(join(dir, 'devices.allow'), `${r.type} ${r.major}:${r.minor} ${r.access}`);
}

/** A dev_t holds a 12-bit major and a 20-bit minor: a rule for larger numbers can match no node. */
const canMatch = (r: DeviceRule) => (r.major === '*' || r.major <= 0xfff) && (r.minor === '*' || r.minor <= 0xfffff);

/**
 * v1 reads any line of type `a` as "allow everything", whatever numbers and
 * access follow; the v2 filter reads `a 1:3 r` or `a *:* m` as both types
 * with those numbers and that access only. So on v1 such a rule is written
 * as its `b` and `c` lines; only `a *:* rwm` means everything on both.
 */
function v1Lines(r: DeviceRule): string[] {
  const everything = r.major === '*' && r.minor === '*' && ['r', 'w', 'm'].every((c) => r.access.includes(c));
  if (r.type === 'a' && !everything) return (['b', 'c'] as const).map((t) => `${t} ${r.major}:${r.minor} ${r.access}`);
  return [`${r.type} ${r.major}:${r.minor} ${r.access}`];
}

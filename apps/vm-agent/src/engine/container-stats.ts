/**
 * One sample of a container's resource use in dockerd's StatsJSON shape
 * (GET /containers/{id}/stats): CPU and memory from its cgroup, network
 * counters of the container's own namespace (runtime/proc-stat.ts), block
 * I/O from the cgroup's io/blkio files. The caller pairs samples: each one
 * carries the previous one's cpu_stats as precpu_stats.
 */
import { cpus, totalmem } from 'node:os';
import type { Cgroup } from '../runtime/cgroups.js';
import { netDev, systemCpuNanos, type NetworkStats } from '../runtime/proc-stat.js';
import type { ContainerRecord } from './container-types.js';
import { ZERO_TIME } from './container-types.js';

export interface CpuStats {
  cpu_usage: { total_usage: number; percpu_usage?: number[]; usage_in_kernelmode: number; usage_in_usermode: number };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

export interface StatsSample {
  read: string;
  preread: string;
  pids_stats: { current?: number; limit?: number };
  blkio_stats: Record<string, { major: number; minor: number; op: string; value: number }[] | null>;
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: { usage?: number; max_usage?: number; stats?: Record<string, number>; failcnt?: number; limit?: number };
  name: string;
  id: string;
  networks?: Record<string, NetworkStats>;
}

const EMPTY_CPU: CpuStats = {
  cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
  throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
};

/** A sample of a running container (`cgroup` set), or dockerd's zeroed one for a stopped container. */
export function statsSample(rec: ContainerRecord, cgroup: Cgroup | undefined, previous?: StatsSample): StatsSample {
  const base = { name: rec.Name, id: rec.Id, num_procs: 0, storage_stats: {} as Record<string, never> };
  if (!cgroup || !rec.State.Pid) {
    return {
      ...base,
      read: ZERO_TIME,
      preread: ZERO_TIME,
      pids_stats: {},
      blkio_stats: blkio([]),
      cpu_stats: EMPTY_CPU,
      precpu_stats: EMPTY_CPU,
      memory_stats: {},
    };
  }
  const u = cgroup.usage();
  const cpu: CpuStats = {
    cpu_usage: {
      total_usage: u.cpu.totalNanos,
      ...(u.cpu.perCpuNanos?.length ? { percpu_usage: u.cpu.perCpuNanos } : {}),
      usage_in_kernelmode: u.cpu.systemNanos,
      usage_in_usermode: u.cpu.userNanos,
    },
    system_cpu_usage: systemCpuNanos(),
    online_cpus: cpus().length,
    throttling_data: { periods: u.cpu.periods, throttled_periods: u.cpu.throttledPeriods, throttled_time: u.cpu.throttledNanos },
  };
  return {
    ...base,
    read: new Date().toISOString(),
    preread: previous?.read ?? ZERO_TIME,
    pids_stats: { current: u.pids.current, ...(u.pids.limit !== undefined ? { limit: u.pids.limit } : {}) },
    blkio_stats: blkio(u.io),
    cpu_stats: cpu,
    precpu_stats: previous?.cpu_stats ?? EMPTY_CPU,
    memory_stats: {
      usage: u.memory.usage,
      ...(u.memory.maxUsage !== undefined ? { max_usage: u.memory.maxUsage } : {}),
      stats: u.memory.stats,
      ...(u.memory.failcnt !== undefined ? { failcnt: u.memory.failcnt } : {}),
      limit: u.memory.limit ?? totalmem(),
    },
    // A container on the host's network has no counters of its own (dockerd shows none).
    ...(rec.HostConfig.NetworkMode === 'host' ? {} : { networks: netDev(rec.State.Pid) }),
  };
}

function blkio(io: { major: number; minor: number; op: string; value: number }[]): StatsSample['blkio_stats'] {
  return {
    io_service_bytes_recursive: io.length ? io : null,
    io_serviced_recursive: null,
    io_queue_recursive: null,
    io_service_time_recursive: null,
    io_wait_time_recursive: null,
    io_merged_recursive: null,
    io_time_recursive: null,
    sectors_recursive: null,
  };
}

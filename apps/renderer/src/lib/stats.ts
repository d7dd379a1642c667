/**
 * One sample of `GET /containers/{id}/stats` reduced to what the charts
 * show, computed as the docker CLI does for `docker stats`.
 */

/** The fields of the Engine API's stats object that are read here. */
export interface StatsJson {
  read?: string;
  cpu_stats?: { cpu_usage?: { total_usage?: number; percpu_usage?: number[] }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
}

export interface StatsSample {
  /** Percent of one CPU: 200 is two CPUs busy (as `docker stats`). */
  cpuPercent: number;
  /** Bytes used, without the page cache the kernel can drop. */
  memoryBytes: number;
  memoryLimit: number;
}

export function sampleOf(s: StatsJson): StatsSample {
  const cpu = s.cpu_stats;
  const pre = s.precpu_stats;
  const cpuDelta = (cpu?.cpu_usage?.total_usage ?? 0) - (pre?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (cpu?.system_cpu_usage ?? 0) - (pre?.system_cpu_usage ?? 0);
  const cpus = cpu?.online_cpus || cpu?.cpu_usage?.percpu_usage?.length || 1;
  const cpuPercent = cpuDelta > 0 && systemDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;
  const mem = s.memory_stats;
  // cgroup v2 reports inactive_file, v1 total_inactive_file: both are cache, not the container's own memory.
  const cache = mem?.stats?.inactive_file ?? mem?.stats?.total_inactive_file ?? 0;
  const usage = mem?.usage ?? 0;
  return { cpuPercent, memoryBytes: usage > cache ? usage - cache : usage, memoryLimit: mem?.limit ?? 0 };
}

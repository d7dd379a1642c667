/**
 * Resource limits of a container (HostConfig Memory, MemorySwap, NanoCpus,
 * CpuQuota/CpuPeriod, CpuShares, PidsLimit, Ulimits): dockerd's checks at
 * create and update (daemon/daemon_unix.go verifyPlatformContainerResources),
 * and their translation to cgroup limits and rlimits. Pure.
 */
import { cpus } from 'node:os';
import { invalidParameter } from '../errors.js';
import type { CgroupLimits } from '../runtime/cgroups.js';
import { RLIMITS, type Ulimit } from '../runtime/spawn.js';
import type { HostConfig } from './container-types.js';

/** The HostConfig fields `docker update` may change. */
export const LIMIT_FIELDS = ['Memory', 'MemorySwap', 'MemoryReservation', 'NanoCpus', 'CpuShares', 'CpuQuota', 'CpuPeriod', 'PidsLimit'] as const;

const MIN_MEMORY = 6 * 1024 * 1024;

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Refuses what dockerd refuses, with its wording. */
export function validateLimits(hc: Partial<HostConfig>, ncpu = cpus().length): void {
  const memory = num(hc.Memory);
  const swap = num(hc.MemorySwap);
  if (memory < 0) throw invalidParameter('invalid memory limit: it must be 0 (unlimited) or more');
  if (memory > 0 && memory < MIN_MEMORY) throw invalidParameter('Minimum memory limit allowed is 6MB');
  if (memory > 0 && swap > 0 && swap < memory) throw invalidParameter('Minimum memoryswap limit should be larger than memory limit, see usage');
  if (memory === 0 && swap > 0) throw invalidParameter('You should always set the Memory limit when using Memoryswap limit, see usage');
  const nano = num(hc.NanoCpus);
  if (nano < 0 || nano > ncpu * 1e9) throw invalidParameter(`Range of CPUs is from 0.01 to ${ncpu}.00, as there are only ${ncpu} CPUs available`);
  if (nano > 0 && (num(hc.CpuQuota) > 0 || num(hc.CpuPeriod) > 0)) throw invalidParameter('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  const shares = num(hc.CpuShares);
  if (shares < 0) throw invalidParameter('invalid CPU shares: it must be 0 (default) or more');
  const quota = num(hc.CpuQuota);
  if (quota > 0 && quota < 1000) throw invalidParameter('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  const period = num(hc.CpuPeriod);
  if (period !== 0 && (period < 1000 || period > 1_000_000)) throw invalidParameter('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  for (const u of (hc.Ulimits as { Name: string; Soft: number; Hard: number }[] | null | undefined) ?? []) {
    if (RLIMITS[u.Name] === undefined) throw invalidParameter(`invalid ulimit type: ${u.Name}`);
    if (u.Soft > u.Hard && u.Hard >= 0) throw invalidParameter(`ulimit soft limit must be less than or equal to hard limit: ${u.Soft} > ${u.Hard}`);
  }
}

/** The cgroup limits for a HostConfig; MemorySwap 0 with a memory limit means twice the memory, as dockerd sets it. */
export function cgroupLimits(hc: Partial<HostConfig>): CgroupLimits {
  const memory = num(hc.Memory);
  const swap = num(hc.MemorySwap);
  const quota = num(hc.CpuQuota);
  const period = num(hc.CpuPeriod) || 100_000;
  const nanoCpus = num(hc.NanoCpus) || (quota > 0 ? Math.round((quota / period) * 1e9) : 0);
  return {
    memoryBytes: memory,
    memorySwapBytes: memory > 0 ? (swap === 0 ? memory * 2 : swap) : -1,
    nanoCpus,
    cpuShares: num(hc.CpuShares),
    pidsLimit: num(hc.PidsLimit),
  };
}

export function ulimitsOf(hc: Partial<HostConfig>): Ulimit[] {
  return ((hc.Ulimits as { Name: string; Soft: number; Hard: number }[] | null | undefined) ?? []).map((u) => ({ name: u.Name, soft: u.Soft, hard: u.Hard }));
}

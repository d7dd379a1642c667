/**
 * Resource limits of a container (HostConfig Memory, MemorySwap,
 * MemoryReservation, MemorySwappiness, NanoCpus, CpuQuota/CpuPeriod,
 * CpuShares, CpusetCpus/Mems, CpuRealtime*, BlkioWeight, OomKillDisable,
 * PidsLimit, Ulimits): dockerd's checks at create and update
 * (daemon/daemon_unix.go verifyPlatformContainerResources), what this
 * machine's cgroups cannot apply discarded with dockerd's warning (as
 * dockerd does; inspect then shows it unset), and the translation to cgroup
 * limits and rlimits. Pure but for reading the CPU count and the layout.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { invalidParameter } from '../errors.js';
import { cgroupSupport, type CgroupSupport } from '../runtime/cgroup-layout.js';
import type { CgroupLimits } from '../runtime/cgroups.js';
import { RLIMITS, type Ulimit } from '../runtime/spawn.js';
import type { HostConfig } from './container-types.js';
import { isSet, refuseFields } from './field-refusals.js';

/**
 * The HostConfig fields `docker update` may change. As dockerd's
 * UpdateContainer, a zero value means "not given" (the CLI sends every field
 * of Resources, unset ones as 0 or ""), except PidsLimit, which is given
 * unless null.
 */
export const LIMIT_FIELDS = [
  'Memory',
  'MemorySwap',
  'MemoryReservation',
  'KernelMemory',
  'NanoCpus',
  'CpuShares',
  'CpuQuota',
  'CpuPeriod',
  'CpusetCpus',
  'CpusetMems',
  'CpuRealtimePeriod',
  'CpuRealtimeRuntime',
  'BlkioWeight',
  'PidsLimit',
] as const;

/**
 * The HostConfig after `docker update`'s body: the limits given, the restart
 * policy; any other field set to a non-zero value is a 400 naming it, since
 * update would otherwise accept and ignore it.
 */
export function mergeUpdate<T extends Partial<HostConfig>>(current: T, body: Record<string, unknown>): T {
  const fixed = Object.keys(body).filter((k) => k !== 'RestartPolicy' && !(LIMIT_FIELDS as readonly string[]).includes(k));
  refuseFields(
    body,
    fixed.map((k) => ({ field: k, unset: UNSET, message: () => `${k} cannot be changed by docker update: recreate the container with it` })),
  );
  const next: Record<string, unknown> = { ...current };
  for (const [k, v] of Object.entries(body)) {
    if (k === 'RestartPolicy') {
      if (v) next.RestartPolicy = v;
    } else if (k === 'PidsLimit' ? v !== null && v !== undefined : isSet(v, UNSET)) {
      next[k] = v;
    }
  }
  // A new memory limit without a swap limit keeps dockerd's default (twice the memory).
  if (isSet(body.Memory, UNSET) && !isSet(body.MemorySwap, UNSET) && (current.MemorySwap ?? 0) !== -1) next.MemorySwap = 0;
  return next as T;
}

/** Besides the zero values, what a limit field holds when not given: -1 (swappiness, swap unlimited). */
const UNSET = [-1];

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
  if (period !== 0 && (period < 1000 || period > 1_000_000))
    throw invalidParameter('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  const reservation = num(hc.MemoryReservation);
  if (reservation > 0 && reservation < MIN_MEMORY) throw invalidParameter('Minimum memory reservation allowed is 6MB');
  if (memory > 0 && reservation > 0 && memory < reservation)
    throw invalidParameter('Minimum memory limit can not be less than memory reservation limit, see usage');
  const swappiness = hc.MemorySwappiness;
  if (typeof swappiness === 'number' && swappiness !== -1 && (swappiness < 0 || swappiness > 100))
    throw invalidParameter(`Invalid value: ${swappiness}, valid memory swappiness range is 0-100`);
  const blkio = num(hc.BlkioWeight);
  if (blkio !== 0 && (blkio < 10 || blkio > 1000)) throw invalidParameter('Range of blkio weight is from 10 to 1000');
  checkCpuset(hc.CpusetCpus, 'cpus', `0-${ncpu - 1}`);
  checkCpuset(hc.CpusetMems, 'mems', onlineNodes());
  const rtPeriod = num(hc.CpuRealtimePeriod);
  const rtRuntime = num(hc.CpuRealtimeRuntime);
  if (rtPeriod !== 0 && rtRuntime !== 0 && rtRuntime > rtPeriod) throw invalidParameter('cpu-rt-runtime cannot be higher than cpu-rt-period');
  for (const u of (hc.Ulimits as { Name: string; Soft: number; Hard: number }[] | null | undefined) ?? []) {
    if (RLIMITS[u.Name] === undefined) throw invalidParameter(`invalid ulimit type: ${u.Name}`);
    if (u.Soft > u.Hard && u.Hard >= 0) throw invalidParameter(`ulimit soft limit must be less than or equal to hard limit: ${u.Soft} > ${u.Hard}`);
  }
}

/** "0-2,4" to its numbers; undefined when malformed (as moby's parsers.ParseUintList). */
function parseList(text: string): Set<number> | undefined {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return undefined;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) return undefined;
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return out;
}

/** CpusetCpus / CpusetMems: well formed and within what the machine has, in dockerd's words. */
function checkCpuset(value: unknown, what: 'cpus' | 'mems', available: string): void {
  if (typeof value !== 'string' || value === '') return;
  const wanted = parseList(value);
  if (!wanted) throw invalidParameter(`Invalid value ${value} for cpuset ${what}`);
  const have = parseList(available) ?? new Set([0]);
  if ([...wanted].some((n) => !have.has(n))) {
    throw invalidParameter(
      what === 'cpus'
        ? `Requested CPUs are not available - requested ${value}, available: ${available}`
        : `Requested memory nodes are not available - requested ${value}, available: ${available}`,
    );
  }
}

function onlineNodes(): string {
  try {
    return readFileSync('/sys/devices/system/node/online', 'utf8').trim() || '0';
  } catch {
    return '0';
  }
}

/**
 * What this machine's cgroups cannot apply, dropped from the HostConfig with
 * dockerd's warning (the create and update responses carry them, the CLI
 * prints them); real-time scheduling where the kernel has none is refused,
 * as dockerd refuses it.
 */
export function planResources<T extends Partial<HostConfig>>(hc: T, support: CgroupSupport = cgroupSupport()): { hostConfig: T; warnings: string[] } {
  const out: Record<string, unknown> = { ...hc };
  const warnings: string[] = [];
  const discard = (fields: string[], unset: unknown, warning: string) => {
    if (!fields.some((f) => isSet(out[f], UNSET))) return;
    for (const f of fields) out[f] = unset;
    warnings.push(warning);
  };
  if (!support.memoryReservation)
    discard(['MemoryReservation'], 0, 'Your kernel does not support memory soft limit capabilities or the cgroup is not mounted. Limitation discarded.');
  if (!support.memorySwappiness)
    discard(
      ['MemorySwappiness'],
      null,
      'Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.',
    );
  if (!support.oomKillDisable) discard(['OomKillDisable'], false, 'Your kernel does not support OomKillDisable. OomKillDisable discarded.');
  if (!support.blkioWeight) discard(['BlkioWeight'], 0, 'Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.');
  if (!support.cpuset) discard(['CpusetCpus', 'CpusetMems'], '', 'Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.');
  // kernel memory accounting is deprecated in the kernel; Berth never sets it
  discard(['KernelMemory'], 0, 'Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded.');
  if (!support.cpuRealtime && (num(out.CpuRealtimePeriod) !== 0 || num(out.CpuRealtimeRuntime) !== 0))
    throw invalidParameter('Your kernel does not support CPU real-time scheduler');
  if (out.OomKillDisable === true && num(out.Memory) === 0)
    warnings.push('OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.');
  return { hostConfig: out as T, warnings };
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
    memoryReservationBytes: num(hc.MemoryReservation),
    ...(typeof hc.MemorySwappiness === 'number' && hc.MemorySwappiness >= 0 ? { memorySwappiness: hc.MemorySwappiness } : {}),
    ...(hc.OomKillDisable === true ? { oomKillDisable: true } : {}),
    blkioWeight: num(hc.BlkioWeight),
    cpusetCpus: typeof hc.CpusetCpus === 'string' ? hc.CpusetCpus : '',
    cpusetMems: typeof hc.CpusetMems === 'string' ? hc.CpusetMems : '',
    cpuRtPeriodUs: num(hc.CpuRealtimePeriod),
    cpuRtRuntimeUs: num(hc.CpuRealtimeRuntime),
  };
}

export function ulimitsOf(hc: Partial<HostConfig>): Ulimit[] {
  return ((hc.Ulimits as { Name: string; Soft: number; Hard: number }[] | null | undefined) ?? []).map((u) => ({ name: u.Name, soft: u.Soft, hard: u.Hard }));
}

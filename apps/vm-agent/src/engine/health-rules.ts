/**
 * Health checks as dockerd defines them (daemon/health.go, merge.go): the
 * config merged from the image and the create request, its checks, the
 * probe command, the timings with their defaults, and how one probe result
 * moves the status. Pure, so the rules are unit-tested directly; the
 * scheduling lives in health-monitor.ts.
 */
import { invalidParameter } from '../errors.js';

/** Config.Healthcheck: durations in nanoseconds, 0 meaning "inherit or default". */
export interface HealthConfig {
  /** [] inherit; ["NONE"] off; ["CMD", args...]; ["CMD-SHELL", command]. */
  Test?: string[] | null;
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface HealthResult {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

/** State.Health in inspect. */
export interface Health {
  Status: HealthStatus;
  FailingStreak: number;
  Log: HealthResult[];
}

export interface HealthTimings {
  intervalMs: number;
  timeoutMs: number;
  startPeriodMs: number;
  startIntervalMs: number;
  retries: number;
}

const NS_PER_MS = 1_000_000;
const DEFAULT_INTERVAL_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_START_INTERVAL_MS = 5_000;
const DEFAULT_RETRIES = 3;
/** dockerd keeps the last five results, each output cut at 4 KiB. */
export const MAX_LOG_ENTRIES = 5;
export const MAX_OUTPUT_BYTES = 4096;

/** The request's healthcheck over the image's: an empty Test and zero fields inherit (dockerd merge.go). */
export function mergeHealthcheck(image: HealthConfig | null | undefined, req: HealthConfig | null | undefined): HealthConfig | undefined {
  if (!req) return image ?? undefined;
  if (!image) return req;
  return {
    Test: req.Test && req.Test.length ? req.Test : image.Test,
    Interval: req.Interval || image.Interval,
    Timeout: req.Timeout || image.Timeout,
    StartPeriod: req.StartPeriod || image.StartPeriod,
    StartInterval: req.StartInterval || image.StartInterval,
    Retries: req.Retries || image.Retries,
  };
}

/** Refuses what dockerd refuses at create, with its wording. */
export function validateHealthcheck(hc: HealthConfig | undefined): void {
  if (!hc) return;
  for (const key of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval'] as const) {
    const v = hc[key] ?? 0;
    if (v !== 0 && v < NS_PER_MS) throw invalidParameter(`${key} in Healthcheck cannot be less than 1ms`);
  }
  if ((hc.Retries ?? 0) < 0) throw invalidParameter('Retries in Healthcheck cannot be negative');
  const kind = hc.Test?.[0];
  if (kind !== undefined && !['NONE', 'CMD', 'CMD-SHELL'].includes(kind)) {
    throw invalidParameter(`unknown Healthcheck type '${kind}': use CMD, CMD-SHELL or NONE`);
  }
}

/** The probe's argv, or undefined when there is no check (none configured, or NONE). */
export function probeCommand(hc: HealthConfig | undefined, shell: string[] = ['/bin/sh', '-c']): string[] | undefined {
  const test = hc?.Test;
  if (!test || test.length === 0 || test[0] === 'NONE') return undefined;
  if (test[0] === 'CMD-SHELL') return test.length > 1 ? [...shell, test.slice(1).join(' ')] : undefined;
  if (test[0] === 'CMD') return test.length > 1 ? test.slice(1) : undefined;
  return undefined;
}

export function healthTimings(hc: HealthConfig | undefined): HealthTimings {
  const ms = (ns: number | undefined, dflt: number) => (ns ? Math.max(1, Math.round(ns / NS_PER_MS)) : dflt);
  return {
    intervalMs: ms(hc?.Interval, DEFAULT_INTERVAL_MS),
    timeoutMs: ms(hc?.Timeout, DEFAULT_TIMEOUT_MS),
    startPeriodMs: ms(hc?.StartPeriod, 0),
    startIntervalMs: ms(hc?.StartInterval, DEFAULT_START_INTERVAL_MS),
    retries: hc?.Retries || DEFAULT_RETRIES,
  };
}

/**
 * The health after one probe. Success makes it healthy and clears the
 * streak. A failure during the start period does not count while the
 * container has never been healthy; otherwise it extends the streak, and
 * `retries` failures in a row make it unhealthy.
 */
export function applyResult(h: Health, r: HealthResult, retries: number, inStartPeriod: boolean): Health {
  const log = [...h.Log, { ...r, Output: truncate(r.Output) }].slice(-MAX_LOG_ENTRIES);
  if (r.ExitCode === 0) return { Status: 'healthy', FailingStreak: 0, Log: log };
  if (inStartPeriod && h.Status === 'starting') return { ...h, Log: log };
  const streak = h.FailingStreak + 1;
  return { Status: streak >= retries ? 'unhealthy' : h.Status, FailingStreak: streak, Log: log };
}

function truncate(s: string): string {
  const b = Buffer.from(s);
  return b.length <= MAX_OUTPUT_BYTES ? s : b.subarray(0, MAX_OUTPUT_BYTES).toString();
}

/** `docker ps` status suffix: " (health: starting)", " (healthy)", " (unhealthy)". */
export function healthSuffix(h: Health | undefined): string {
  if (!h) return '';
  return h.Status === 'starting' ? ' (health: starting)' : ` (${h.Status})`;
}

/**
 * Restart policies as dockerd applies them (restartmanager): which exits
 * restart, how long to wait first, and the validation messages.
 */
import { invalidParameter } from '../errors.js';
import type { RestartPolicy } from './container-types.js';

const NAMES = ['', 'no', 'always', 'unless-stopped', 'on-failure'];

/** Back-off: 100 ms doubling per quick failure, capped at one minute; reset after 10 s of running. */
export const BACKOFF_START_MS = 100;
export const BACKOFF_MAX_MS = 60_000;
export const BACKOFF_RESET_AFTER_MS = 10_000;

export function validateRestartPolicy(p: RestartPolicy, autoRemove: boolean): void {
  if (!NAMES.includes(p.Name)) {
    throw invalidParameter(`invalid restart policy: unknown policy '${p.Name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
  if (p.MaximumRetryCount < 0) throw invalidParameter('invalid restart policy: maximum retry count cannot be negative');
  if (p.MaximumRetryCount > 0 && p.Name !== 'on-failure') {
    throw invalidParameter("invalid restart policy: maximum retry count can only be used with 'on-failure'");
  }
  if (autoRemove && p.Name !== '' && p.Name !== 'no') {
    throw invalidParameter("can't create 'AutoRemove' container with restart policy");
  }
}

export interface RestartInput {
  policy: RestartPolicy;
  exitCode: number;
  /** Restarts so far (the record's RestartCount). */
  restartCount: number;
  /** docker stop/kill since the last start. */
  manuallyStopped: boolean;
}

/** Whether an exit leads to a restart. */
export function shouldRestart(i: RestartInput): boolean {
  if (i.manuallyStopped) return false;
  switch (i.policy.Name) {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure':
      return i.exitCode !== 0 && (i.policy.MaximumRetryCount === 0 || i.restartCount < i.policy.MaximumRetryCount);
    default:
      return false;
  }
}

/** The next delay: doubles while runs stay short, starts over after a long one. */
export function nextBackoff(previousMs: number, ranForMs: number): number {
  if (ranForMs >= BACKOFF_RESET_AFTER_MS || previousMs === 0) return BACKOFF_START_MS;
  return Math.min(previousMs * 2, BACKOFF_MAX_MS);
}

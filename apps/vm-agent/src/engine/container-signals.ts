/** Signals as the API names them ("SIGTERM", "TERM", "15"), and which ones count as stopping a container. */
import { constants } from 'node:os';
import { invalidParameter } from '../errors.js';
import { signalNumber } from '../runtime/process.js';

const SIGNALS = constants.signals as Record<string, number>;

/** Signals after which `docker kill` keeps restart policies off, as a stop would. */
const STOPPING_SIGNALS = ['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGQUIT'];

/** "SIGTERM", "TERM", "term", "15" to a number; a 400 for anything else. */
export function parseSignal(s: string | number): number {
  if (typeof s === 'number') return s;
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n < 1 || n > 64) throw invalidParameter(`invalid signal: ${s}`);
    return n;
  }
  try {
    return signalNumber(s.toUpperCase());
  } catch {
    throw invalidParameter(`invalid signal: ${s}`);
  }
}

/** True when signal `n` stops the container as `docker stop` would: SIGKILL, SIGTERM, SIGINT, SIGQUIT or its own StopSignal. */
export function isStoppingSignal(n: number, stopSignal: string | undefined): boolean {
  const name = Object.entries(SIGNALS).find(([, v]) => v === n)?.[0];
  return !!name && (STOPPING_SIGNALS.includes(name) || (!!stopSignal && parseSignal(stopSignal) === n));
}

export const SIGKILL = SIGNALS.SIGKILL!;

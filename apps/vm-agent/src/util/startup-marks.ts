/**
 * The agent's start-up phases on the VM's console. In the guest, agent-run
 * sets BERTH_BOOT_MARKS=1 and `startupMark(phase)` prints the line the
 * guest's init prints, `berth-init: [UPTIME] agent: PHASE`, UPTIME being the
 * seconds since the guest's kernel started: one clock for the whole boot,
 * which the host turns into its phase table (apps/main/src/vm/boot-phases.ts).
 * Elsewhere (the native agent) it does nothing.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const enabled = process.env.BERTH_BOOT_MARKS === '1';

/** Seconds since the kernel started, or undefined without /proc. */
function uptime(): number | undefined {
  try {
    return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  } catch {
    return undefined;
  }
}

function print(at: number, phase: string): void {
  process.stderr.write(`berth-init: [${at.toFixed(2)}] agent: ${phase}\n`);
}

/** Prints `phase` with the guest's uptime now. */
export function startupMark(phase: string): void {
  if (!enabled) return;
  const now = uptime();
  if (now !== undefined) print(now, phase);
}

/**
 * Marks node's own start (its process began performance.now() ago), then
 * `phase`: what came between is node's start-up and the bundle's loading.
 */
export function startupMarkSinceProcessStart(phase: string): void {
  if (!enabled) return;
  const now = uptime();
  if (now === undefined) return;
  print(now - performance.now() / 1000, 'node started');
  print(now, phase);
}

/**
 * Phase timestamps for performance work. With BERTH_TRACE=1 in the agent's
 * environment, `trace(id, phase)` prints `berth-trace <ms since start> <id>
 * <phase>` to stderr; without it, it does nothing (one boolean test), so
 * trace points can stay in hot paths. bench/run.mjs --trace reads them.
 */
import { performance } from 'node:perf_hooks';

const enabled = process.env.BERTH_TRACE === '1';

export function trace(id: string, phase: string): void {
  if (enabled) process.stderr.write(`berth-trace ${performance.now().toFixed(1)} ${id.slice(0, 12)} ${phase}\n`);
}

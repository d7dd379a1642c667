/**
 * Phase timestamps for performance work. With BERTH_TRACE=1 in the agent's
 * environment, `trace(id, phase)` prints `berth-trace <ms since start> <id>
 * <phase>` to stderr; without it, it does nothing (one boolean test), so
 * trace points can stay in hot paths. bench/run.mjs --trace and
 * bench/pull.mjs --trace read them.
 */
import { performance } from 'node:perf_hooks';

const enabled = process.env.BERTH_TRACE === '1';

export function trace(id: string, phase: string): void {
  if (enabled) process.stderr.write(`berth-trace ${performance.now().toFixed(1)} ${id.slice(0, 12)} ${phase}\n`);
}

/**
 * Milliseconds spent in work that is spread over many calls (hashing each
 * chunk, each file write), summed and reported once by `report`. Free when
 * tracing is off: `time` then only runs `fn`.
 */
export class TraceTotals {
  readonly #ms = new Map<string, number>();

  time<T>(what: string, fn: () => T): T {
    if (!enabled) return fn();
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      this.add(what, performance.now() - t0);
    }
  }

  async timeAsync<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (!enabled) return fn();
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.add(what, performance.now() - t0);
    }
  }

  add(what: string, ms: number): void {
    if (enabled) this.#ms.set(what, (this.#ms.get(what) ?? 0) + ms);
  }

  /** One trace line: `totals hash=12.3ms write=45.6ms`. */
  report(id: string): void {
    if (!enabled || this.#ms.size === 0) return;
    trace(id, `totals ${[...this.#ms].map(([k, v]) => `${k}=${v.toFixed(1)}ms`).join(' ')}`);
  }
}

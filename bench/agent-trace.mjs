// The agent's trace lines (BERTH_TRACE=1, apps/vm-agent/src/util/trace.ts),
// as the benchmarks print them: milliseconds since the first line and since
// the previous one, then the id (a container, a layer's short digest, `pull`)
// and the phase.
import { median } from './stats.mjs';

/** The `berth-trace` lines of a log, each as [ms, id, ...phase words]. */
function traceLines(log) {
  return log
    .split('\n')
    .filter((l) => l.startsWith('berth-trace '))
    .map((l) => l.split(' ').slice(1));
}

/** Prints the `berth-trace` lines of `log` under `title`. */
export function printTrace(log, title) {
  const lines = traceLines(log);
  if (!lines.length) return console.log('no trace lines: is the agent built with util/trace.ts?');
  const t0 = Number(lines[0][0]);
  let prev = t0;
  console.log(`\n${title} (ms since the first line, +since the previous line):`);
  for (const [t, id, ...phase] of lines) {
    console.log(`${(Number(t) - t0).toFixed(1).padStart(8)} ${`+${(Number(t) - prev).toFixed(1)}`.padStart(8)}  ${id.padEnd(12)} ${phase.join(' ')}`);
    prev = Number(t);
  }
  console.log('');
}

/**
 * Each phase's median time since the line before it, over several traced
 * runs (one run's trace is noise on a busy machine); phases keyed by their
 * words, a container id made "container" and a 64-hex id in a path "ID".
 */
export function printPhaseMedians(logs, what) {
  const deltas = new Map();
  for (const log of logs) {
    const lines = traceLines(log);
    for (let i = 1; i < lines.length; i++) {
      const [t, id, ...phase] = lines[i];
      const key = `${id.length === 12 && id !== 'api' ? 'container' : id} ${phase.join(' ').replace(/[0-9a-f]{64}/g, 'ID')}`;
      if (!deltas.has(key)) deltas.set(key, []);
      deltas.get(key).push(Number(t) - Number(lines[i - 1][0]));
    }
  }
  if (!deltas.size) return;
  console.log(`${what}, each phase's median over ${logs.length} runs (ms since the line before it):`);
  let total = 0;
  for (const [key, list] of deltas) {
    const m = median(list);
    total += m;
    console.log(`${m.toFixed(1).padStart(8)}  ${key}`);
  }
  console.log(`${total.toFixed(1).padStart(8)}  sum of the medians\n`);
}

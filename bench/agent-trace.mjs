// The agent's trace lines (BERTH_TRACE=1, apps/vm-agent/src/util/trace.ts),
// as the benchmarks print them: milliseconds since the first line and since
// the previous one, then the id (a container, a layer's short digest, `pull`)
// and the phase.

/** Prints the `berth-trace` lines of `log` under `title`. */
export function printTrace(log, title) {
  const lines = log
    .split('\n')
    .filter((l) => l.startsWith('berth-trace '))
    .map((l) => l.split(' '));
  if (!lines.length) return console.log('no trace lines: is the agent built with util/trace.ts?');
  const t0 = Number(lines[0][1]);
  let prev = t0;
  console.log(`\n${title} (ms since the first line, +since the previous line):`);
  for (const [, t, id, ...phase] of lines) {
    console.log(`${(Number(t) - t0).toFixed(1).padStart(8)} ${`+${(Number(t) - prev).toFixed(1)}`.padStart(8)}  ${id.padEnd(12)} ${phase.join(' ')}`);
    prev = Number(t);
  }
  console.log('');
}

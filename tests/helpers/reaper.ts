/**
 * Kills the processes the helpers start (registries, agents) when the test
 * process ends without stopping them: normal exit, a thrown error, or
 * SIGINT/SIGTERM (the test runner's timeout, Ctrl-C). After a signal the
 * process still dies of that signal, as it would have without us.
 */
import type { ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();

function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

let installed = false;
function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killAll();
      process.kill(process.pid, sig);
    });
  }
}

/** Tracks `child` until it exits. */
export function reap(child: ChildProcess): void {
  install();
  live.add(child);
  child.once('exit', () => live.delete(child));
}

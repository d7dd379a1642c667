/**
 * The static syscall-probe program (syscall-probe.c), compiled once per test
 * run with the build machine's gcc, for images that test seccomp filters.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

let binary: Buffer | undefined;

export function syscallProbeBinary(): Buffer {
  if (binary) return binary;
  const out = join(mkdtempSync(join(tmpdir(), 'berth-probe-')), 'syscall-probe');
  const source = fileURLToPath(new URL('./syscall-probe.c', import.meta.url));
  execFileSync('gcc', ['-static', '-O2', '-Wall', '-o', out, source], { stdio: ['ignore', 'ignore', 'pipe'] });
  binary = readFileSync(out);
  return binary;
}

/** Parses the probe's "NAME RESULT" lines. */
export function probeResults(stdout: string): Record<string, string> {
  return Object.fromEntries(stdout.trim().split('\n').map((l) => l.split(' ') as [string, string]));
}

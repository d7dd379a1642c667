/**
 * Static test programs (syscall-probe.c, exe-watcher.c), compiled once per
 * test run with the build machine's gcc, for images that test confinement.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const binaries = new Map<string, Buffer>();

/** A static program from tests/helpers/NAME.c, compiled once per test run. */
export function staticTestBinary(name: string): Buffer {
  let binary = binaries.get(name);
  if (binary) return binary;
  const out = join(mkdtempSync(join(tmpdir(), 'berth-probe-')), name);
  const source = fileURLToPath(new URL(`./${name}.c`, import.meta.url));
  execFileSync('gcc', ['-static', '-O2', '-Wall', '-o', out, source], { stdio: ['ignore', 'ignore', 'pipe'] });
  binary = readFileSync(out);
  binaries.set(name, binary);
  return binary;
}

export function syscallProbeBinary(): Buffer {
  return staticTestBinary('syscall-probe');
}

/** Parses the probe's "NAME RESULT" lines. */
export function probeResults(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' ') as [string, string]),
  );
}

// Finds the shared libraries an ELF file loads, with the build machine's
// dynamic loader (`ldd`). Library directories from unpacked packages come
// first, so a tool's own libraries are taken from its Debian package and only
// what the C runtime provides comes from the build machine.
import { execFileSync } from 'node:child_process';

/**
 * @param {string[]} files the ELF files to inspect (one ldd run for all)
 * @param {string[]} libDirs searched before the system's own
 * @returns {string[]} absolute paths of the libraries (and the loader), as resolved, sorted
 */
export function sharedLibs(files, libDirs) {
  let out;
  try {
    out = execFileSync('ldd', files, {
      encoding: 'utf8',
      env: { ...process.env, LD_LIBRARY_PATH: libDirs.join(':') },
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 << 20,
    });
  } catch (err) {
    if (err.code === 'ENOENT') throw new Error('ldd is not installed (package libc-bin); it finds the libraries the guest tools need');
    throw new Error(`ldd failed: ${`${err.stdout ?? ''}${err.stderr ?? ''}`.trim()}`);
  }
  const libs = new Set();
  let current = files[0];
  for (const line of out.split('\n')) {
    if (!line.startsWith('\t')) {
      if (line.endsWith(':')) current = line.slice(0, -1);
      continue;
    }
    const t = line.trim();
    if (t.startsWith('linux-vdso')) continue;
    if (/=> not found/.test(t)) {
      throw new Error(`${current} needs ${t.split(' ')[0]}, which is neither in its packages nor on this machine`);
    }
    const m = t.match(/=> (\/\S+) \(/) ?? t.match(/^(\/\S+) \(/);
    if (m) libs.add(m[1]);
  }
  return [...libs].sort();
}

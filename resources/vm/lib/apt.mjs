// Fetches Debian packages with the ordinary apt client (`apt-get download`,
// no root needed, no install) and unpacks them with `dpkg-deb -x`. Both are
// on every Debian and Ubuntu machine; nothing here depends on a shell.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** `pkg:ARCH` for a foreign architecture; the plain name for the machine's own (arch undefined). */
const qualify = (name, arch) => (arch ? `${name}:${arch}` : name);
const unqualify = (name, arch) => (arch && name.endsWith(`:${arch}`) ? name.slice(0, -arch.length - 1) : name);

function run(cmd, args, opts = {}) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20, ...opts });
  } catch (err) {
    const stderr = err.stderr ? String(err.stderr).trim() : '';
    if (err.code === 'ENOENT') throw new Error(`${cmd} is not installed; the VM image is built from Debian packages on a Debian or Ubuntu machine`);
    throw new Error(`${cmd} ${args.join(' ')} failed${stderr ? `: ${stderr}` : ''}`);
  }
}

/**
 * The versions apt would install now, and the file names `apt-get download`
 * gives them (an epoch's ':' is written as %3a). One apt-cache run for all.
 * @param {string[]} names
 * @param {string} [arch] a foreign Debian architecture (dpkg --add-architecture)
 * @returns {Map<string, { name: string, version: string, arch: string, file: string }>}
 */
export function candidates(names, arch) {
  const out = run('apt-cache', ['show', '--no-all-versions', ...names.map((n) => qualify(n, arch))]);
  const found = new Map();
  for (const stanza of out.split(/\n\s*\n/)) {
    const field = (f) => stanza.match(new RegExp(`^${f}: (.+)$`, 'm'))?.[1]?.trim();
    const name = field('Package');
    const version = field('Version');
    const arch = field('Architecture');
    if (name && version && arch && !found.has(name)) {
      found.set(name, { name, version, arch, file: `${name}_${version.replace(/:/g, '%3a')}_${arch}.deb` });
    }
  }
  for (const n of names) {
    if (!found.has(n)) {
      const hint = arch
        ? `; for ${arch} packages run 'dpkg --add-architecture ${arch} && apt-get update'`
        : "; run 'apt-get update', or check the package name for this distribution";
      throw new Error(`apt knows no package ${qualify(n, arch)}${hint}`);
    }
  }
  return found;
}

/** Direct Depends and Pre-Depends of each package (of a choice "a | b", a). */
export function depends(names, arch) {
  const out = run('apt-cache', [
    'depends',
    '--no-recommends',
    '--no-suggests',
    '--no-conflicts',
    '--no-breaks',
    '--no-replaces',
    '--no-enhances',
    ...names.map((n) => qualify(n, arch)),
  ]);
  const result = new Map();
  let current = [];
  let alternative = false; // a line after one starting with '|' is the rest of an "a | b" choice
  for (const line of out.split('\n')) {
    if (line && !/^\s/.test(line)) {
      current = [];
      result.set(unqualify(line.trim(), arch), current);
      alternative = false;
      continue;
    }
    const m = line.match(/^\s+(\|)?(?:Pre)?Depends: (\S+)$/);
    if (!m) continue;
    if (!alternative && !m[2].startsWith('<')) current.push(unqualify(m[2].replace(/:any$/, ''), arch));
    alternative = Boolean(m[1]);
  }
  return result;
}

/**
 * Downloads (unless cached) and unpacks a package.
 * @returns {{ name: string, version: string, deb: string, root: string }}
 */
export function fetchPackage(c, cacheDir, arch) {
  const name = c.name;
  const debDir = join(cacheDir, 'debs');
  mkdirSync(debDir, { recursive: true });
  const deb = join(debDir, c.file);
  if (!existsSync(deb)) {
    process.stdout.write(`  downloading ${name} ${c.version}\n`);
    run('apt-get', ['download', '-q', `${qualify(name, arch)}=${c.version}`], { cwd: debDir });
    if (!existsSync(deb)) throw new Error(`apt-get download ${name} did not produce ${c.file}`);
  }
  const root = join(cacheDir, 'unpacked', c.file.replace(/\.deb$/, ''));
  if (!existsSync(root)) {
    const tmp = `${root}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    run('dpkg-deb', ['-x', deb, tmp]);
    renameSync(tmp, root);
  }
  return { name, version: c.version, deb, root };
}

/**
 * The library packages some packages need, recursively, leaving out the ones
 * the C runtime brings (node's libc comes from the build machine, and these
 * must match it). For a foreign architecture (arch given) hostProvided is
 * empty: node is the official build and takes its C runtime from packages.
 */
export function libraryClosure(names, hostProvided, arch) {
  const seen = new Set();
  let level = names;
  while (level.length) {
    const next = [];
    for (const deps of depends(level, arch).values()) {
      for (const d of deps) {
        // zlib1g: the one library package here whose name does not start with lib
        if (!(d.startsWith('lib') || d === 'zlib1g') || hostProvided.has(d) || seen.has(d)) continue;
        seen.add(d);
        next.push(d);
      }
    }
    level = next;
  }
  return [...seen].sort();
}

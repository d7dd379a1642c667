// The pieces of a guest image for an architecture the build machine does not
// run: node's official binary from npm, the agent's addon cross-compiled, and
// the libraries an ELF file loads, read from its dynamic section (ldd would
// have to run the binary).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

function run(cmd, args, opts = {}) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20, ...opts });
  } catch (err) {
    if (err.code === 'ENOENT') throw new Error(`${cmd} is not installed`);
    throw new Error(`${cmd} ${args.join(' ')} failed: ${String(err.stderr ?? '').trim()}`);
  }
}

/**
 * node's official build for the guest (npm package node-linux-ARCH, the same
 * version as the build machine's node, so the addon built against these
 * headers loads), fetched with `npm pack` and unpacked once into the cache.
 * @returns {{ package: string, bin: string, include: string, tarball: string }}
 */
export function fetchNode(arch, version, cacheDir) {
  const spec = `${arch.nodePackage}@${version.replace(/^v/, '')}`;
  const dir = join(cacheDir, 'npm');
  mkdirSync(dir, { recursive: true });
  const tarball = join(dir, `${arch.nodePackage}-${version.replace(/^v/, '')}.tgz`);
  if (!existsSync(tarball)) {
    process.stdout.write(`  downloading ${spec} (npm)\n`);
    try {
      run('npm', ['pack', '--silent', '--pack-destination', dir, spec]);
    } catch (err) {
      throw new Error(`cannot fetch node for ${arch.debian} (${spec}): ${err.message}`);
    }
    if (!existsSync(tarball)) throw new Error(`npm pack ${spec} did not produce ${tarball}`);
  }
  const root = join(cacheDir, 'unpacked', `${arch.nodePackage}-${version.replace(/^v/, '')}`);
  if (!existsSync(root)) {
    const tmp = `${root}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    run('tar', ['-xzf', tarball, '-C', tmp, 'package/bin/node', 'package/include/node']);
    renameSync(tmp, root);
  }
  return { package: spec, bin: join(root, 'package/bin/node'), include: join(root, 'package/include/node'), tarball };
}

/**
 * A library of binding.gyp's `libraries` (`-lNAME`) for the cross link: the
 * guest package's libNAME.so.N itself (runtime packages have no libNAME.so
 * symlink, and the soname is what the addon then asks the guest's loader
 * for). Its headers are the build machine's (NAME-dev): the same release, and
 * what they declare does not depend on the architecture.
 */
function crossLibrary(flag, libDirs) {
  const name = `lib${flag.slice(2)}.so`;
  for (const d of libDirs) {
    const versioned = (f) => f.startsWith(`${name}.`) && /^\d+(\.\d+)*$/.test(f.slice(name.length + 1));
    const so = existsSync(d)
      ? readdirSync(d)
          .filter((f) => f === name || versioned(f))
          .sort()[0]
      : undefined;
    if (so) return join(d, so);
  }
  throw new Error(`the addon links ${flag}, but no guest package has ${name}.N (add its runtime package to the image's libraries)`);
}

/**
 * Compiles native/ (the sources, flags, defines and libraries of its
 * binding.gyp) with the cross compiler TRIPLET-gcc into `out`, linking the
 * libraries found in `libDirs` (the guest packages' library directories).
 * Paths are written relative to the repository, so the bytes do not depend
 * on where the checkout is.
 */
export function crossCompileAddon(arch, repo, nodeInclude, out, libDirs) {
  const gyp = JSON.parse(readFileSync(join(repo, 'native/binding.gyp'), 'utf8'));
  const target = gyp.targets.find((t) => t.target_name === 'berth_native');
  if (!target) throw new Error('native/binding.gyp has no berth_native target');
  const gcc = `${arch.triplet}-gcc`;
  // the libraries' headers, alone in a directory: the cross compiler must not see the rest of /usr/include
  const headers = mkdtempSync(join(tmpdir(), 'berth-cross-include-'));
  for (const h of ['seccomp.h', 'seccomp-syscalls.h']) {
    if (!existsSync(join('/usr/include', h)))
      throw new Error(`/usr/include/${h} is missing (Debian: apt-get install libseccomp-dev); the addon's seccomp code needs it`);
    copyFileSync(join('/usr/include', h), join(headers, h));
  }
  const args = [
    '-shared',
    '-fPIC',
    '-pthread',
    '-O3',
    '-fno-omit-frame-pointer',
    ...target.cflags,
    ...target.defines.map((d) => `-D${d}`),
    '-DBUILDING_NODE_EXTENSION',
    '-I',
    relative(repo, nodeInclude) || '.',
    '-idirafter',
    headers,
    `-ffile-prefix-map=${repo}=.`,
    `-ffile-prefix-map=${headers}=include`,
    '-o',
    out,
    ...target.sources.map((s) => join('native', s)),
    ...(target.libraries ?? []).map((l) => crossLibrary(l, libDirs)),
  ];
  try {
    execFileSync(gcc, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    if (err.code === 'ENOENT')
      throw new Error(
        `${gcc} is not installed (Debian: apt-get install gcc-${arch.triplet.replace(/_/g, '-')}); it compiles the agent's addon for ${arch.debian}`,
      );
    throw new Error(`${gcc} failed compiling native/: ${String(err.stderr ?? '').trim()}`);
  } finally {
    rmSync(headers, { recursive: true, force: true });
  }
}

/**
 * Compiles the addon's exec shim (binding.gyp's berth-shim target: static,
 * so it needs no library of the guest) with TRIPLET-gcc into `out`.
 */
export function crossCompileShim(arch, repo, out) {
  const gyp = JSON.parse(readFileSync(join(repo, 'native/binding.gyp'), 'utf8'));
  const target = gyp.targets.find((t) => t.target_name === 'berth-shim');
  if (!target) throw new Error('native/binding.gyp has no berth-shim target');
  const gcc = `${arch.triplet}-gcc`;
  const args = [
    ...target.cflags,
    ...target.defines.map((d) => `-D${d}`),
    ...target.ldflags,
    `-ffile-prefix-map=${repo}=.`,
    '-o',
    out,
    ...target.sources.map((s) => join('native', s)),
  ];
  try {
    execFileSync(gcc, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    if (err.code === 'ENOENT')
      throw new Error(
        `${gcc} is not installed (Debian: apt-get install gcc-${arch.triplet.replace(/_/g, '-')}); it compiles the agent's exec shim for ${arch.debian}`,
      );
    throw new Error(`${gcc} failed compiling native/shim/: ${String(err.stderr ?? '').trim()}`);
  }
}

/** Strips debug symbols with TRIPLET-strip (false if it is not installed). */
export function crossStrip(arch, from, to) {
  try {
    execFileSync(`${arch.triplet}-strip`, ['-o', to, from], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** DT_NEEDED entries and the program interpreter of an ELF file (readelf reads any architecture). */
function elfDeps(file) {
  const out = run('readelf', ['-d', '-l', '-W', file]);
  const needed = [...out.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  const interp = out.match(/Requesting program interpreter: ([^\]]+)\]/)?.[1];
  return { needed, interp };
}

/**
 * The shared libraries (and loader) some ELF files need, recursively, found
 * in the unpacked packages' library directories: what ldd would list.
 * @param {string[]} files
 * @param {string[]} libDirs multiarch library directories inside package roots
 * @param {string[]} roots package roots (where the loader's absolute path is looked up)
 * @returns {string[]} absolute paths inside the package roots, sorted
 */
export function foreignSharedLibs(files, libDirs, roots) {
  const libs = new Set();
  const find = (name, from) => {
    for (const d of libDirs) {
      const p = join(d, name);
      if (existsSync(p)) return p;
    }
    throw new Error(`${from} needs ${name}, which none of its packages' library directories has`);
  };
  const pending = [...files];
  const seen = new Set();
  while (pending.length) {
    const f = pending.pop();
    if (seen.has(f)) continue;
    seen.add(f);
    const { needed, interp } = elfDeps(f);
    if (interp) {
      const path = roots.flatMap((r) => [join(r, interp), join(r, 'usr', interp)]).find(existsSync);
      if (!path) throw new Error(`${f} is loaded by ${interp}, which none of its packages has`);
      libs.add(path);
    }
    for (const n of needed) {
      const lib = find(n, f);
      if (!libs.has(lib)) {
        libs.add(lib);
        pending.push(lib);
      }
    }
  }
  return [...libs].sort();
}

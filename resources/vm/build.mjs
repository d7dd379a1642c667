#!/usr/bin/env node
// Builds the guest image the VM boots: out/vmlinuz, out/root.erofs (the
// root file system: compressed, read-only, attached as a virtio disk),
// out/initramfs.cpio.gz (stage 1 only: busybox and the modules that mount
// the root) and out/manifest.json (what went in, with versions and hashes).
//
//   node resources/vm/build.mjs [--arch amd64|arm64] [--agent DIR] [--out DIR] [--cache DIR]
//
// Everything comes from Debian packages (`apt-get download`, cached in
// cache/), except node, which is the build machine's own: the agent's native
// addon is compiled against it, so the guest must run that very binary.
// --arch arm64 builds the image for Apple silicon (and arm64 Linux) into
// out-arm64/ instead: arm64 packages (dpkg --add-architecture arm64), node's
// official arm64 build of the same version from npm, the addon
// cross-compiled; lib/arch.mjs holds what differs.
// Same inputs give the same bytes: entries are sorted, owners are 0:0, every
// mtime is SOURCE_DATE_EPOCH (default 0), gzip writes no name or time, and
// the EROFS image has a fixed UUID (lib/erofs.mjs).
//
// --agent DIR (or BERTH_VM_AGENT_DIR) takes main.cjs (the agent's loader,
// with its bundle agent.cjs, and berth_native.node with its berth-shim, when
// present) from DIR instead of apps/vm-agent/dist; tests use it for a
// stand-in agent. The bundle's V8 code cache is made here, with the guest's
// node (lib/code-cache.mjs).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { candidates, depends, fetchPackage, libraryClosure } from './lib/apt.mjs';
import { guestArch, isNative } from './lib/arch.mjs';
import { makeCpio, gzipReproducible } from './lib/cpio.mjs';
import { makeCodeCache } from './lib/code-cache.mjs';
import { makeErofs, stageTree } from './lib/erofs.mjs';
import { BOOT_MODULES, LATER_MODULES, STAGE1_MODULES } from './lib/boot-modules.mjs';
import { depmod, readModule, resolveModules } from './lib/kernel-modules.mjs';
import { crossCompileAddon, crossCompileShim, crossStrip, fetchNode, foreignSharedLibs } from './lib/foreign.mjs';
import { sharedLibs } from './lib/shared-libs.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '../..');

/** Library packages the build machine's C runtime provides (node needs its own). Not for a foreign architecture. */
const HOST_PROVIDED = new Set(['libc6', 'libgcc-s1', 'libstdc++6', 'libcrypt1']);

function fail(msg) {
  console.error(`build-vm: ${msg}`);
  process.exit(1);
}

function sha256(buf) {
  return createHash('sha256').update(buf).digest('hex');
}

function agentFiles(dirArg) {
  const explicit = Boolean(dirArg);
  const dir = dirArg ?? join(repo, 'apps/vm-agent/dist');
  const main = join(dir, 'main.cjs');
  const bundle = join(dir, 'agent.cjs'); // the loader's (a stand-in agent is main.cjs alone)
  const native = join(dir, 'berth_native.node');
  const shim = join(dir, 'berth-shim'); // the addon's exec shim, loaded from beside it
  if (!existsSync(main)) {
    fail(
      explicit
        ? `no main.cjs in ${dir} (given with --agent or BERTH_VM_AGENT_DIR)`
        : `the agent is not built: ${relative(repo, main)} is missing; run 'npm run build' first`,
    );
  }
  if (!existsSync(native) && !explicit) {
    fail(`the agent's native addon is not built: ${relative(repo, native)} is missing; run 'npm run build' first`);
  }
  if (existsSync(native) && !existsSync(shim)) {
    fail(`the addon's exec shim is missing beside it: ${shim}; run 'npm run build' (the agent cannot start containers without it)`);
  }
  return {
    main,
    bundle: existsSync(bundle) ? bundle : null,
    native: existsSync(native) ? native : null,
    shim: existsSync(shim) ? shim : null,
  };
}

/** A package file that may live under / or /usr depending on the release. */
function pkgPath(root, path) {
  for (const p of [path, `usr/${path}`, path.replace(/^usr\//, '')]) {
    if (existsSync(join(root, p))) return p;
  }
  throw new Error(`${path} not found in ${root}`);
}

function multiarchDirs(root) {
  const out = [];
  for (const base of ['lib', 'usr/lib']) {
    const d = join(root, base);
    if (!existsSync(d)) continue;
    for (const n of readdirSync(d)) if (n.endsWith('-linux-gnu')) out.push(join(d, n));
  }
  return out;
}

/**
 * The kernel ELF inside a bzImage (its xz payload, unpacked), which QEMU
 * boots through the kernel's PVH entry: under TCG the decompressor is
 * seconds of emulated work before the kernel's first line, this a copy.
 */
function uncompressedKernel(bzImage) {
  const at = bzImage.indexOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
  if (at < 0) throw new Error('the kernel has no xz payload to unpack for PVH boot');
  // the payload's end is followed by its size: one stream, the rest ignored
  const elf = execFileSync('xz', ['-dc', '--single-stream'], { input: bzImage.subarray(at), maxBuffer: 1 << 30 });
  if (!elf.subarray(0, 4).equals(Buffer.from('\x7fELF', 'latin1'))) throw new Error('the kernel payload is not an ELF image');
  return elf;
}

function tryStrip(from, to) {
  try {
    execFileSync('strip', ['-o', to, from], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function main() {
  const { values: opts } = parseArgs({
    options: { arch: { type: 'string' }, agent: { type: 'string' }, out: { type: 'string' }, cache: { type: 'string' } },
  });
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    fail(`the guest image is built on x86_64 Linux (Debian or Ubuntu); this is ${process.platform}/${process.arch}`);
  }
  const arch = guestArch(opts.arch);
  // apt's package qualifier: none for the build machine's own architecture
  const foreign = isNative(arch) ? undefined : arch.debian;
  const outDir = opts.out ?? join(here, arch.outDir);
  const cacheDir = opts.cache ?? join(here, 'cache');
  const epochText = process.env.SOURCE_DATE_EPOCH ?? '0';
  const epoch = Number(epochText);
  if (!Number.isInteger(epoch) || epoch < 0) fail(`SOURCE_DATE_EPOCH must be whole seconds, not "${epochText}"`);
  const agent = agentFiles(opts.agent ?? process.env.BERTH_VM_AGENT_DIR);
  const started = Date.now();

  // --- packages
  console.log(`build-vm: fetching ${arch.debian} packages`);
  const kernelPkgName =
    process.env.BERTH_VM_KERNEL_PACKAGE ??
    depends([arch.kernelPackage], foreign)
      .get(arch.kernelPackage)
      ?.find((d) => d.startsWith('linux-image-'));
  if (!kernelPkgName) fail(`cannot tell which kernel ${arch.kernelPackage} stands for; set BERTH_VM_KERNEL_PACKAGE`);
  const tools = ['e2fsprogs', 'iproute2', 'iptables'];
  // a foreign node takes its C runtime from packages too
  const nodeLibs = foreign ? ['libc6', 'libgcc-s1', 'libstdc++6'] : [];
  // libseccomp2: the agent's addon compiles containers' seccomp filters with it
  const addonLibs = ['libseccomp2'];
  const libNames = [...new Set([...libraryClosure(tools, foreign ? new Set() : HOST_PROVIDED, foreign), ...nodeLibs, ...addonLibs])].sort();
  const wanted = candidates([kernelPkgName, 'busybox-static', ...tools, ...libNames], foreign);
  const fetch = (n) => fetchPackage(/** @type {any} */ (wanted.get(n)), cacheDir, foreign);
  const kernel = fetch(kernelPkgName);
  const busybox = fetch('busybox-static');
  const toolPkgs = Object.fromEntries(tools.map((t) => [t, fetch(t)]));
  const libPkgs = libNames.map(fetch);
  const libDirs = libPkgs.flatMap((p) => multiarchDirs(p.root));

  /** @type {Map<string, import('./lib/cpio.mjs').Entry>} */
  const entries = new Map();
  const addDir = (path, mode = 0o755) => {
    const parts = path.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      if (!entries.has(p)) entries.set(p, { path: p, type: 'dir', mode: i === parts.length ? mode : 0o755 });
    }
  };
  const add = (entry) => {
    if (entry.path.includes('/')) addDir(dirname(entry.path));
    entries.set(entry.path, entry);
  };
  const addFile = (path, data, executable) => add({ path, type: 'file', data, mode: executable ? 0o755 : 0o644 });
  /** Copies a file (following symlinks) or a symlink, as found on disk. */
  const addFrom = (guestPath, source) => {
    const st = lstatSync(source);
    if (st.isSymbolicLink()) add({ path: guestPath, type: 'symlink', target: readlinkSync(source) });
    else addFile(guestPath, readFileSync(source), (statSync(source).mode & 0o111) !== 0);
  };

  /** Copies a directory tree as found on disk. */
  const addTree = (guestBase, source) => {
    addDir(guestBase);
    for (const n of readdirSync(source).sort()) {
      const src = join(source, n);
      if (lstatSync(src).isDirectory()) addTree(`${guestBase}/${n}`, src);
      else addFrom(`${guestBase}/${n}`, src);
    }
  };

  // --- ELF files and the libraries they load
  const elfs = [];
  const addElf = (guestPath, source) => {
    addFrom(guestPath, source);
    elfs.push(source);
  };

  // busybox: the shell, init, mount, ip, insmod, acpid and the rest
  const bbPath = pkgPath(busybox.root, 'bin/busybox');
  addFrom('bin/busybox', join(busybox.root, bbPath));
  // (a foreign static busybox runs under QEMU's user-mode emulator)
  const listApplets = arch.userEmulator ? [arch.userEmulator, [join(busybox.root, bbPath), '--list-full']] : [join(busybox.root, bbPath), ['--list-full']];
  const applets = execFileSync(listApplets[0], listApplets[1], { encoding: 'utf8' }).split('\n').filter(Boolean);

  // node: the build machine's (or its official build for a foreign
  // architecture), stripped of debug symbols when strip is there
  const foreignNode = foreign ? fetchNode(arch, process.version, cacheDir) : null;
  const nodeBin = foreignNode?.bin ?? '/usr/bin/node';
  let nodeSource = nodeBin;
  const work = mkdtempSync(join(tmpdir(), 'berth-vm-build-'));
  try {
    const stripped = join(work, 'node');
    if (foreign ? crossStrip(arch, nodeBin, stripped) : tryStrip(nodeBin, stripped)) nodeSource = stripped;
    else console.log('build-vm: strip not found; copying node with its symbols');
    addFile('usr/bin/node', readFileSync(nodeSource), true);
    elfs.push(nodeBin);
    const nodeVersion = foreign ? process.version : execFileSync(nodeBin, ['--version'], { encoding: 'utf8' }).trim();

    // mke2fs with its config (it holds the ext4 feature defaults)
    const e2 = toolPkgs.e2fsprogs.root;
    addElf('usr/sbin/mke2fs', join(e2, pkgPath(e2, 'sbin/mke2fs')));
    add({ path: 'usr/sbin/mkfs.ext4', type: 'symlink', target: 'mke2fs' });
    addFrom('etc/mke2fs.conf', join(e2, 'etc/mke2fs.conf'));

    // iproute2: the agent's network layer uses `ip -batch` and `ip -n NETNS`,
    // which busybox's ip lacks
    const ipr = toolPkgs.iproute2.root;
    addElf('usr/sbin/ip', join(ipr, pkgPath(ipr, 'bin/ip')));
    for (const base of ['etc/iproute2', 'usr/share/iproute2']) {
      if (!existsSync(join(ipr, base))) continue;
      addTree(base, join(ipr, base));
    }

    // iptables: nft backend as `iptables` (Debian's default), legacy beside it
    const ipt = toolPkgs.iptables.root;
    const sbin = pkgPath(ipt, 'usr/sbin/xtables-nft-multi').replace(/\/xtables-nft-multi$/, '');
    for (const n of readdirSync(join(ipt, sbin)).sort()) {
      const src = join(ipt, sbin, n);
      if (n.startsWith('xtables-') && n.endsWith('-multi')) addElf(`usr/sbin/${n}`, src);
      else if (/^(ip6?tables|arptables|ebtables)(-nft|-legacy)?(-save|-restore)?$/.test(n)) addFrom(`usr/sbin/${n}`, src);
    }
    for (const n of ['iptables', 'iptables-save', 'iptables-restore', 'ip6tables', 'ip6tables-save', 'ip6tables-restore']) {
      const [base, suffix = ''] = n.split(/(?=-save|-restore)/);
      add({ path: `usr/sbin/${n}`, type: 'symlink', target: `${base}-nft${suffix}` });
    }
    const xtDir = multiarchDirs(ipt)
      .map((d) => join(d, 'xtables'))
      .find(existsSync);
    if (!xtDir) fail(`no xtables extension directory in ${ipt}`);
    for (const n of readdirSync(xtDir).sort()) addElf(relative(ipt, join(xtDir, n)), join(xtDir, n));

    // the agent's addon, built for the guest's architecture; its libraries are found with the tools' below
    let nativeAddon = agent.native;
    let shim = agent.shim; // static: no libraries to find
    if (nativeAddon && foreign && foreignNode) {
      nativeAddon = join(work, 'berth_native.node');
      crossCompileAddon(arch, repo, foreignNode.include, nativeAddon, libDirs);
      shim = join(work, 'berth-shim');
      crossCompileShim(arch, repo, shim);
    }
    if (nativeAddon) elfs.push(nativeAddon);

    const usedLibPkgs = new Set();
    const hostLibs = new Set();
    const libs = foreign
      ? foreignSharedLibs(
          elfs,
          libDirs,
          libPkgs.map((p) => p.root),
        )
      : sharedLibs(elfs, libDirs);
    for (const lib of libs) {
      const pkg = libPkgs.find((p) => lib.startsWith(p.root + '/'));
      if (pkg) usedLibPkgs.add(pkg);
      const guestPath = pkg ? relative(pkg.root, lib) : lib.slice(1);
      if (!pkg) hostLibs.add(guestPath);
      if (!entries.has(guestPath)) addFile(guestPath, readFileSync(lib), true);
    }

    // busybox applets, where no real tool took the name (anywhere on PATH:
    // the real one must win whatever the order)
    const realTools = new Set([...entries.keys()].filter((p) => /^(usr\/)?s?bin\//.test(p)).map((p) => p.replace(/^.*\//, '')));
    for (const a of applets) {
      if (a !== 'bin/busybox' && !realTools.has(a.replace(/^.*\//, ''))) add({ path: a, type: 'symlink', target: '/bin/busybox' });
    }

    // kernel and modules
    const release = readdirSync(join(kernel.root, 'lib/modules'))[0];
    if (!release) fail(`no lib/modules in ${kernel.deb}`);
    const vmlinuz = readFileSync(join(kernel.root, 'boot', `vmlinuz-${release}`));
    const vmlinux = arch.pvhKernel ? uncompressedKernel(vmlinuz) : null;
    const { order, builtin } = resolveModules(kernel.root, release, [...BOOT_MODULES, ...arch.modules, ...LATER_MODULES]);
    const modRoot = join(work, 'modroot');
    const modDir = join(modRoot, 'lib/modules', release);
    for (const m of order) {
      const data = readModule(kernel.root, release, m);
      mkdirSync(dirname(join(modDir, m)), { recursive: true });
      writeFileSync(join(modDir, m), data);
      addFile(`lib/modules/${release}/${m}`, data, false);
    }
    for (const f of ['modules.builtin', 'modules.builtin.modinfo', 'modules.order']) {
      writeFileSync(join(modDir, f), readFileSync(join(kernel.root, 'lib/modules', release, f)));
    }
    depmod(modRoot, release); // so busybox modprobe (the kernel's request_module) finds them too
    for (const f of readdirSync(modDir)
      .filter((n) => n.startsWith('modules.'))
      .sort()) {
      addFile(`lib/modules/${release}/${f}`, readFileSync(join(modDir, f)), false);
    }
    const bootOrder = resolveModules(kernel.root, release, [...BOOT_MODULES, ...arch.modules]).order;
    addFile('etc/berth/modules', Buffer.from(bootOrder.join('\n') + '\n'), false);
    addFile('etc/berth/modules.later', Buffer.from(order.filter((m) => !bootOrder.includes(m)).join('\n') + '\n'), false);

    // the agent (its loader and bundle are plain JS, their code cache is made
    // below; the addon is built for the guest's architecture)
    addFile('opt/berth/main.cjs', readFileSync(agent.main), false);
    if (agent.bundle) addFile('opt/berth/agent.cjs', readFileSync(agent.bundle), false);
    if (nativeAddon) addFile('opt/berth/berth_native.node', readFileSync(nativeAddon), false);
    if (shim) addFile('opt/berth/berth-shim', readFileSync(shim), true);

    // init and configuration (stage 1, guest/init, is in the initramfs below)
    const guest = (n) => readFileSync(join(here, 'guest', n));
    addFile('etc/inittab', guest('inittab'), false);
    for (const n of ['rc.init', 'rc.shutdown', 'agent-run', 'common.sh']) addFile(`etc/berth/${n}`, guest(n), true);
    addFile('etc/acpi/PWRF/00000080', guest('power-button'), true);
    addFile('etc/passwd', Buffer.from('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n'), false);
    addFile('etc/group', Buffer.from('root:x:0:\nnogroup:x:65534:\n'), false);
    addFile('etc/hosts', Buffer.from('127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.1.1\tberth\n'), false);
    add({ path: 'etc/mtab', type: 'symlink', target: '/proc/self/mounts' }); // mke2fs checks it
    addFile('etc/hostname', Buffer.from('berth\n'), false);
    addFile('etc/protocols', Buffer.from('ip\t0\tIP\nicmp\t1\tICMP\ntcp\t6\tTCP\nudp\t17\tUDP\nipv6-icmp\t58\tIPv6-ICMP\n'), false);
    addFile('etc/os-release', Buffer.from(`NAME="Berth VM"\nID=berth\nPRETTY_NAME="Berth VM (Linux ${release})"\n`), false);
    for (const d of ['proc', 'sys', 'dev', 'run', 'root', 'mnt', 'var/lib/berth', 'var/log']) addDir(d);
    addDir('tmp', 0o1777);

    // --- stage 1: the initramfs mounts the root image and switch_roots
    const stage1 = resolveModules(kernel.root, release, STAGE1_MODULES);
    /** @type {import('./lib/cpio.mjs').Entry[]} */
    const initEntries = [
      { path: 'init', type: 'file', data: guest('init'), mode: 0o755 },
      { path: 'bin', type: 'dir' },
      { path: 'bin/busybox', type: 'file', data: readFileSync(join(busybox.root, bbPath)), mode: 0o755 },
      { path: 'etc', type: 'dir' },
      { path: 'etc/modules', type: 'file', data: Buffer.from(stage1.order.join('\n') + '\n'), mode: 0o644 },
      ...['dev', 'proc', 'sys', 'ro', 'rw', 'newroot', 'lib', 'lib/modules', `lib/modules/${release}`].map((d) => ({
        path: d,
        type: /** @type {const} */ ('dir'),
      })),
    ];
    const modDirs = new Set();
    for (const m of stage1.order) {
      for (let d = dirname(m); d !== '.' && !modDirs.has(d); d = dirname(d)) modDirs.add(d);
      initEntries.push({ path: `lib/modules/${release}/${m}`, type: 'file', data: readModule(kernel.root, release, m), mode: 0o644 });
    }
    for (const d of modDirs) initEntries.push({ path: `lib/modules/${release}/${d}`, type: 'dir' });
    const cpio = makeCpio(initEntries, epoch);
    const initramfs = gzipReproducible(cpio);

    // --- write
    const rootTree = join(work, 'root');
    mkdirSync(rootTree);
    stageTree(entries.values(), rootTree);
    if (agent.bundle) {
      const cache = makeCodeCache({
        node: join(rootTree, 'usr/bin/node'), // the very binary the guest runs
        emulator: foreign ? arch.userEmulator : null,
        sysroot: rootTree,
        agentDir: join(rootTree, 'opt/berth'),
        guestBundle: '/opt/berth/agent.cjs',
      });
      addFile('opt/berth/agent.cjs.cache', cache, false);
      stageTree([entries.get('opt/berth/agent.cjs.cache')], rootTree);
    }
    const rootImagePath = join(work, 'root.erofs');
    makeErofs(rootTree, rootImagePath, epoch);
    const rootImage = readFileSync(rootImagePath);
    const rootBytes = [...entries.values()].reduce((n, e) => n + (e.type === 'file' ? e.data.length : 0), 0);
    const manifest = {
      arch: arch.debian,
      kernel: { package: kernel.name, version: kernel.version, release },
      // the library packages a file was taken from (more were looked at)
      packages: [kernel, busybox, ...Object.values(toolPkgs), ...usedLibPkgs]
        .map((p) => ({ name: p.name, version: p.version }))
        .sort((a, b) => a.name.localeCompare(b.name)),
      node: { version: nodeVersion, source: foreignNode ? `npm:${foreignNode.package}` : nodeBin, sha256: sha256(readFileSync(nodeBin)) },
      // libraries taken from the build machine rather than a package (the C runtime node was linked against)
      hostLibraries: [...entries.keys()].filter((p) => hostLibs.has(p)).sort(),
      agent: {
        'main.cjs': sha256(readFileSync(agent.main)),
        'agent.cjs': agent.bundle ? sha256(readFileSync(agent.bundle)) : null,
        'agent.cjs.cache': entries.has('opt/berth/agent.cjs.cache') ? sha256(entries.get('opt/berth/agent.cjs.cache').data) : null,
        'berth_native.node': nativeAddon ? sha256(readFileSync(nativeAddon)) : null,
        'berth-shim': shim ? sha256(readFileSync(shim)) : null,
      },
      modules: order.map((m) => m.replace(/^.*\//, '').replace(/\.ko$/, '')),
      builtinModules: builtin,
      sourceDateEpoch: epoch,
      files: {
        vmlinuz: { bytes: vmlinuz.length, sha256: sha256(vmlinuz) },
        ...(vmlinux ? { vmlinux: { bytes: vmlinux.length, sha256: sha256(vmlinux) } } : {}),
        'initramfs.cpio.gz': { bytes: initramfs.length, sha256: sha256(initramfs), uncompressedBytes: cpio.length, entries: initEntries.length },
        'root.erofs': { bytes: rootImage.length, sha256: sha256(rootImage), fileBytes: rootBytes, entries: entries.size },
      },
    };
    const staging = `${outDir}.tmp`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    writeFileSync(join(staging, 'vmlinuz'), vmlinuz);
    if (vmlinux) writeFileSync(join(staging, 'vmlinux'), vmlinux);
    writeFileSync(join(staging, 'initramfs.cpio.gz'), initramfs);
    writeFileSync(join(staging, 'root.erofs'), rootImage);
    writeFileSync(join(staging, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    rmSync(outDir, { recursive: true, force: true });
    renameSync(staging, outDir);

    const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;
    const shown = (p) => (relative(process.cwd(), p).startsWith('..') ? p : relative(process.cwd(), p));
    console.log(`build-vm: ${arch.debian}, kernel ${release} (${kernel.name} ${kernel.version}), node ${nodeVersion}, ${order.length} modules`);
    console.log(`build-vm: ${shown(join(outDir, 'vmlinuz'))}  ${mib(vmlinuz.length)}`);
    console.log(
      `build-vm: ${shown(join(outDir, 'initramfs.cpio.gz'))}  ${mib(initramfs.length)} (${mib(cpio.length)} unpacked, ${initEntries.length} entries)`,
    );
    console.log(`build-vm: ${shown(join(outDir, 'root.erofs'))}  ${mib(rootImage.length)} (${mib(rootBytes)} of files, ${entries.size} entries)`);
    console.log(
      `build-vm: sha256 ${manifest.files['root.erofs'].sha256} root, ${manifest.files['initramfs.cpio.gz'].sha256} initramfs  (${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

try {
  main();
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}

// Picks kernel modules and their dependencies out of an unpacked
// linux-image package. Debian's package ships no modules.dep, so `depmod`
// (kmod) computes it; the load order is a depth-first walk of it.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const norm = (name) => name.replace(/-/g, '_');
const moduleName = (path) => norm(basename(path).replace(/\.ko(\.[a-z]+)?$/, ''));

export function depmod(baseDir, version) {
  try {
    execFileSync('depmod', ['-b', baseDir, version], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    if (err.code === 'ENOENT') throw new Error("depmod is not installed (package kmod); it computes the kernel modules' load order");
    throw new Error(`depmod -b ${baseDir} ${version} failed: ${String(err.stderr ?? '').trim()}`);
  }
}

/**
 * @param {string} kernelRoot unpacked linux-image package (has lib/modules/VERSION)
 * @param {string} version kernel release, e.g. 6.1.0-56-amd64
 * @param {string[]} wanted module names; ones built into the kernel are skipped
 * @returns {{ order: string[], builtin: string[] }} module paths relative to
 *   lib/modules/VERSION, each after everything it depends on
 */
export function resolveModules(kernelRoot, version, wanted) {
  const dir = join(kernelRoot, 'lib/modules', version);
  if (!existsSync(join(dir, 'modules.dep'))) depmod(kernelRoot, version);
  const deps = new Map();
  for (const line of readFileSync(join(dir, 'modules.dep'), 'utf8').split('\n')) {
    const [mod, rest] = line.split(':');
    if (!mod) continue;
    deps.set(moduleName(mod), { path: mod, deps: (rest ?? '').trim().split(/\s+/).filter(Boolean) });
  }
  const builtinNames = new Set(readFileSync(join(dir, 'modules.builtin'), 'utf8').split('\n').filter(Boolean).map(moduleName));
  const order = [];
  const done = new Set();
  const visit = (path) => {
    if (done.has(path)) return;
    done.add(path);
    const entry = deps.get(moduleName(path));
    // modules.dep lists every transitive dependency; visiting them in reverse
    // loads the deepest first, as modprobe does.
    for (const d of [...(entry?.deps ?? [])].reverse()) visit(d);
    order.push(path);
  };
  const builtin = [];
  for (const name of wanted) {
    const entry = deps.get(norm(name));
    if (entry) visit(entry.path);
    else if (builtinNames.has(norm(name))) builtin.push(name);
    else throw new Error(`kernel ${version} has no module ${name}`);
  }
  return { order, builtin };
}

const SIGNATURE_MAGIC = Buffer.from('~Module signature appended~\n');

/**
 * The module without the signature Debian appends to it. The guest kernel
 * does not enforce signatures (no Secure Boot lockdown in the VM, and
 * module.sig_enforce is off), so checking one only costs: the kernel hashes
 * the whole file with SHA-512 before it loads it, which under TCG is about
 * as long as the load itself (ext4: 0.50 s signed, 0.21 s without). The
 * modules come from the same read-only image as the kernel, checked as one
 * (the manifest's sha256). Loading one unsigned taints the kernel with E,
 * which only marks its reports.
 * @param {Buffer} ko
 * @returns {Buffer}
 */
export function withoutSignature(ko) {
  if (ko.length < SIGNATURE_MAGIC.length + 12 || !ko.subarray(ko.length - SIGNATURE_MAGIC.length).equals(SIGNATURE_MAGIC)) return ko;
  // struct module_signature, just before the magic: 5 bytes of kinds and
  // lengths (signer_len at 3, key_id_len at 4), 3 of padding, then the
  // signature's length (big-endian); the signer and key id come before it.
  const info = ko.length - SIGNATURE_MAGIC.length - 12;
  const total = SIGNATURE_MAGIC.length + 12 + ko.readUInt32BE(info + 8) + ko[info + 3] + ko[info + 4];
  if (total > ko.length) throw new Error('a kernel module has a signature longer than itself');
  return ko.subarray(0, ko.length - total);
}

/** A module of the unpacked package (path relative to lib/modules/VERSION), as the guest loads it: without its signature. */
export function readModule(kernelRoot, version, path) {
  return withoutSignature(readFileSync(join(kernelRoot, 'lib/modules', version, path)));
}

/**
 * The single loader of the C addon (native/, built by `npm run build:native`)
 * and its typed surface. Nothing else in the agent loads native code.
 *
 * Where the addon is looked for, first found wins:
 *   1. `BERTH_NATIVE_ADDON` (a path to the .node file);
 *   2. `berth_native.node` beside the running module (the esbuild bundle
 *      apps/vm-agent/dist/agent.cjs has it copied beside it);
 *   3. `native/build/Release/berth_native.node` in the repository, found by
 *      walking up from this module (running from source under tsx).
 * The addon is loaded on first use, so importing this module never fails.
 * Its exec shim, `berth-shim`, is the file beside it (binding.gyp builds
 * both; the bundle and the guest carry both): loaded into a sealed memfd
 * with the addon, and bound at /sbin/docker-init for --init.
 *
 * Errors thrown by the addon are Node-style system errors: `code` ("ENOENT"),
 * `errno` (negative), `syscall` ("mount"), and a message naming the step and
 * its argument: "mount `overlay` (type overlay) on `/x`: No such device".
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Addon, NativeDeviceRule, NativeSeccompFilter } from './native-addon.js';

export type { NativeSeccompAction, NativeSeccompArg, NativeSeccompFilter as SeccompFilter } from './native-addon.js';

const ADDON_FILE = 'berth_native.node';
const SHIM_FILE = 'berth-shim';

/** Names accepted by `mount` for its flags (MS_*); a number is also accepted. */
export type MountFlag =
  | 'ro'
  | 'rdonly'
  | 'nosuid'
  | 'nodev'
  | 'noexec'
  | 'sync'
  | 'remount'
  | 'mandlock'
  | 'dirsync'
  | 'noatime'
  | 'nodiratime'
  | 'bind'
  | 'move'
  | 'rec'
  | 'silent'
  | 'unbindable'
  | 'private'
  | 'slave'
  | 'shared'
  | 'relatime'
  | 'strictatime'
  | 'lazytime';
/** Names accepted by `umount` (MNT_*, UMOUNT_NOFOLLOW). */
export type UmountFlag = 'force' | 'detach' | 'expire' | 'nofollow';

/** A system error thrown by the addon (same fields as Node's own). */
export interface NativeError extends Error {
  code: string;
  errno?: number;
  syscall: string;
}

export function isNativeError(err: unknown): err is NativeError {
  return err instanceof Error && typeof (err as { syscall?: unknown }).syscall === 'string';
}

let addon: Addon | undefined;
let shim: string | undefined;

function candidates(): string[] {
  const out: string[] = [];
  const env = process.env.BERTH_NATIVE_ADDON;
  if (env) out.push(env);
  const here = dirname(fileURLToPath(import.meta.url));
  out.push(join(here, ADDON_FILE));
  for (let dir = here, i = 0; i < 8; i++, dir = dirname(dir)) {
    out.push(join(dir, 'native', 'build', 'Release', ADDON_FILE));
    if (dirname(dir) === dir) break;
  }
  return out;
}

/** Loads the addon once; throws with the searched paths when it is absent. */
export function loadAddon(): Addon {
  if (addon) return addon;
  const tried = candidates();
  const found = tried.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `native addon ${ADDON_FILE} not found (looked in: ${tried.join(', ')}); ` + 'run `npm run build:native`, or set BERTH_NATIVE_ADDON to its path',
    );
  }
  const loaded = createRequire(import.meta.url)(found) as Addon;
  const shimFile = join(dirname(found), SHIM_FILE);
  if (!existsSync(shimFile)) {
    throw new Error(`the exec shim ${shimFile} is missing beside the addon ${found}; run \`npm run build:native\` (it builds both)`);
  }
  loaded.shimLoad(shimFile);
  shim = shimFile;
  addon = loaded;
  return addon;
}

/** The exec shim's path (berth-shim beside the addon), which --init binds at /sbin/docker-init. */
export function shimPath(): string {
  loadAddon();
  return shim!;
}

/**
 * mknod(2): `mode` includes the type bits (fs.constants.S_IFCHR | 0o644).
 * An overlayfs whiteout is a character device 0/0. The umask applies.
 */
export function mknod(path: string, mode: number, major: number, minor: number): void {
  loadAddon().mknod(path, mode, major, minor);
}

/** lsetxattr(2): sets an extended attribute on the path itself (no symlink following). */
export function lsetxattr(path: string, name: string, value: Buffer): void {
  loadAddon().lsetxattr(path, name, value);
}

/** lgetxattr(2): the attribute's value, or undefined when it is not set (ENODATA). */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  return loadAddon().lgetxattr(path, name);
}

/**
 * mount(2). `flags` are MS_* names (['bind', 'rec']) or their numeric sum;
 * `source`, `fstype` and `data` may be null where mount(2) allows it.
 */
export function mount(
  source: string | null,
  target: string,
  fstype: string | null,
  flags: readonly MountFlag[] | number = 0,
  data: string | null = null,
): void {
  loadAddon().mount(source, target, fstype, flags, data);
}

/** umount2(2) with MNT_* flags by name (['detach']) or number. */
export function umount(target: string, flags: readonly UmountFlag[] | number = 0): void {
  loadAddon().umount(target, flags);
}

/**
 * Kernel-side TCP port relay (native/src/relay.h and relay_*.c): listens on
 * host:port (IP literals; port 0 lets the kernel pick; "::" also takes IPv4) and
 * relays every connection to targetHost:targetPort. The addon's worker
 * threads accept and move the bytes with splice(2); nothing runs in
 * JavaScript per connection. Half-closes are passed on; a pair closes when
 * both directions have ended or either fails (a refused connect closes the
 * client). Returns the bound port; throws a system error when it cannot
 * listen (`code` EADDRINUSE, `syscall` "bind", ...). `group` names the
 * listener for `relayCloseGroup`, which closes it and its connections.
 */
export function relayTcpListen(host: string, port: number, targetHost: string, targetPort: number, group: number): number {
  return loadAddon().relayListen(host, port, targetHost, targetPort, group);
}

/** Closes the listener of `group` and every connection it accepted; returns how many connections. */
export function relayCloseGroup(group: number): number {
  return loadAddon().relayCloseGroup(group);
}

/** Connections the relay has open now (for leak checks). */
export function relayCount(): number {
  return loadAddon().relayCount();
}

/**
 * A device rule as runc writes them ("c 1:3 rwm"): a node type ('a' is
 * both), major and minor ('*': any), and the access it allows: any of
 * r(ead), w(rite), m(knod).
 */
export interface DeviceRule {
  type: 'a' | 'b' | 'c';
  major: number | '*';
  minor: number | '*';
  access: string;
}

const DEVCG_TYPE = { a: 0, b: 1, c: 2 } as const; // BPF_DEVCG_DEV_BLOCK, _CHAR
const DEVCG_ACCESS: Record<string, number> = { m: 1, r: 2, w: 4 }; // BPF_DEVCG_ACC_*

/**
 * cgroup v2's device controller: attaches a BPF program to the cgroup
 * directory that lets its processes make (mknod) or open only the device
 * nodes `rules` allow; anything else fails with EPERM. It replaces the
 * device programs attached there before (so a reused cgroup keeps one) and
 * returns how many. Programs attached to parent cgroups still apply.
 */
export function attachDeviceFilter(cgroupDir: string, rules: readonly DeviceRule[]): number {
  const native: NativeDeviceRule[] = rules.map((r) => {
    let access = 0;
    for (const c of r.access) {
      const bit = DEVCG_ACCESS[c];
      if (bit === undefined) throw new TypeError(`device rule access "${r.access}": only r, w and m are allowed`);
      access |= bit;
    }
    return { type: DEVCG_TYPE[r.type], major: r.major === '*' ? -1 : r.major, minor: r.minor === '*' ? -1 : r.minor, access };
  });
  return loadAddon().attachDeviceFilter(cgroupDir, native);
}

/** Compiled filters by their rules: containers with the same profile and capabilities share one. */
const seccompCache = new Map<string, Buffer>();

/**
 * A seccomp filter as classic BPF, compiled by libseccomp
 * (native/src/seccomp.c), for ProcessSpec.seccomp. Throws a TypeError for
 * a malformed filter and a system error when libseccomp refuses a rule.
 */
export function compileSeccomp(filter: NativeSeccompFilter): Buffer {
  const key = JSON.stringify(filter, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  let bpf = seccompCache.get(key);
  if (!bpf) {
    bpf = loadAddon().seccompCompile(filter);
    if (seccompCache.size >= 64) seccompCache.clear();
    seccompCache.set(key, bpf);
  }
  return bpf;
}

/** A container's end of a veth pair, for `vethAttach`. */
export interface VethPeer {
  /** The container's init: the peer is made in /proc/<pid>/ns/net. */
  pid: number;
  /** Its name there (eth0...), MAC and IPv4 address. */
  ifName: string;
  mac: string;
  address: string;
  prefix: number;
  /** The default route's gateway; absent: no default route. */
  gateway?: string;
}

/**
 * Plugs a network namespace into a bridge by rtnetlink (native/src/veth.c):
 * makes the veth pair `hostIf` (enslaved to `bridge`, up) and its peer
 * inside the namespace of `peer.pid` (named, addressed, up, with the
 * default route when a gateway is given). On failure nothing is left, and
 * the error ends with the kernel's errno text ("File exists" for a taken
 * name; `code` EEXIST).
 */
export function vethAttach(hostIf: string, bridge: string, mtu: number, peer: VethPeer): Promise<void> {
  return loadAddon().vethAttach(hostIf, bridge, mtu, peer.pid, peer.ifName, peer.mac, peer.address, peer.prefix, peer.gateway ?? null);
}

/** Deletes a link of the agent's namespace by name (a veth takes its peer with it); false when there was none. */
export function linkDelete(name: string): Promise<boolean> {
  return loadAddon().linkDelete(name);
}

/**
 * Bridges and veth pairs: the links between a container's network
 * namespace and its network's bridge.
 *
 * A container's end is created directly inside its namespace (so no
 * interface named eth0 ever appears on the host) and configured there
 * through a temporary name under /run/netns that is removed at once.
 *
 * Each `ip` run is a process (a few ms, more on a busy machine): plugging a
 * container takes two, one batch on each side.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { mount, umount } from '../runtime/native.js';
import { deleteLink, ip, ipBatch, linkExists, ToolError } from './host-tools.js';

/** Creates the bridge when missing, gives it the gateway address, brings it up. Idempotent. */
export async function ensureBridge(name: string, gatewayCidr: string, mtu = 1500): Promise<void> {
  if (!(await linkExists(name))) {
    try {
      await ip(['link', 'add', 'name', name, 'mtu', String(mtu), 'type', 'bridge']);
    } catch (err) {
      if (!(err instanceof ToolError && /File exists/.test(err.stderr))) throw err;
    }
  }
  await ipBatch([`addr replace ${gatewayCidr} dev ${name}`, `link set dev ${name} up`]);
}

export async function removeBridge(name: string): Promise<void> {
  await deleteLink(name);
}

/** A host-side veth name as dockerd makes them: "veth" + 7 hex digits. */
export function newVethName(): string {
  return `veth${randomBytes(4).toString('hex').slice(0, 7)}`;
}

export interface VethSpec {
  /** The container's init; its network namespace is /proc/<pid>/ns/net. */
  pid: number;
  bridge: string;
  hostIf: string;
  /** The name inside the container: eth0, eth1, ... */
  ifName: string;
  /** "172.17.0.2/16". */
  addressCidr: string;
  mac: string;
  /** The default route's gateway; absent for a second network (the first keeps the default route). */
  defaultGateway?: string;
  mtu?: number;
}

/**
 * Plugs a container into a bridge. On failure nothing is left: the pair is
 * deleted (which removes both ends).
 */
export async function attachVeth(spec: VethSpec): Promise<void> {
  const mtu = String(spec.mtu ?? 1500);
  try {
    await ipBatch([
      `link add name ${spec.hostIf} mtu ${mtu} type veth peer name ${spec.ifName} address ${spec.mac} netns ${spec.pid}`,
      `link set dev ${spec.hostIf} master ${spec.bridge}`,
      `link set dev ${spec.hostIf} up`,
    ]);
  } catch (err) {
    // The first line failing made nothing (and the name may be another's); a later one leaves the pair.
    if (!(err instanceof ToolError && /Command failed -:1\b/.test(err.stderr))) await deleteLink(spec.hostIf).catch(() => {});
    throw err;
  }
  try {
    await inNamespace(spec.pid, [
      `addr add ${spec.addressCidr} dev ${spec.ifName}`,
      `link set dev ${spec.ifName} up`,
      ...(spec.defaultGateway ? [`route replace default via ${spec.defaultGateway} dev ${spec.ifName}`] : []),
    ]);
  } catch (err) {
    await deleteLink(spec.hostIf).catch(() => {});
    throw err;
  }
}

/** Unplugs: deleting the host end removes the container's end with it. */
export async function detachVeth(hostIf: string): Promise<void> {
  await deleteLink(hostIf);
}

/**
 * Runs `ip` commands inside the network namespace of `pid`. `ip -n` takes
 * a name under /run/netns; the namespace is bound there for the one run,
 * as `ip netns attach` / `ip netns delete` would, without their processes.
 */
async function inNamespace(pid: number, lines: string[]): Promise<void> {
  const name = `berth-${pid}-${randomBytes(3).toString('hex')}`;
  const path = `${NETNS_DIR}/${name}`;
  mkdirSync(NETNS_DIR, { recursive: true, mode: 0o755 });
  closeSync(openSync(path, 'wx', 0o444));
  try {
    mount(`/proc/${pid}/ns/net`, path, null, ['bind']);
    try {
      await ipBatch(lines, name);
    } finally {
      umount(path, ['detach']);
    }
  } finally {
    rmSync(path, { force: true });
  }
}

/** Where iproute2 looks up `ip -n NAME`. */
const NETNS_DIR = '/run/netns';

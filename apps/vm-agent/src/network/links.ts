/**
 * Bridges and veth pairs: the links between a container's network
 * namespace and its network's bridge.
 *
 * A container's end is created directly inside its namespace (so no
 * interface named eth0 ever appears on the host) and configured there
 * through a temporary `ip netns attach` name that is removed at once.
 */
import { randomBytes } from 'node:crypto';
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
  await ip(['link', 'add', 'name', spec.hostIf, 'mtu', mtu, 'type', 'veth', 'peer', 'name', spec.ifName, 'address', spec.mac, 'netns', String(spec.pid)]);
  try {
    await ipBatch([`link set dev ${spec.hostIf} master ${spec.bridge}`, `link set dev ${spec.hostIf} up`]);
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

/** Runs `ip` commands inside the network namespace of `pid`. */
async function inNamespace(pid: number, lines: string[]): Promise<void> {
  const name = `berth-${pid}-${randomBytes(3).toString('hex')}`;
  await ip(['netns', 'attach', name, String(pid)]);
  try {
    await ipBatch(lines, name);
  } finally {
    await ip(['netns', 'delete', name]).catch(() => {});
  }
}

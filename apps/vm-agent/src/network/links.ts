/**
 * Bridges and veth pairs: the links between a container's network
 * namespace and its network's bridge.
 *
 * A container's veth is made and configured by rtnetlink from the addon
 * (runtime/native.ts, native/src/veth.c): its end is created directly
 * inside its namespace, so no interface named eth0 ever appears on the
 * host. `ip` ran as two processes per container (~15 ms on the 2-core
 * machine); the netlink requests take well under a millisecond. Bridges,
 * made once per network, stay on `ip`.
 */
import { randomBytes } from 'node:crypto';
import { linkDelete, vethAttach } from '../runtime/native.js';
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
  /** "172.17.0.2", with its prefix length (16). */
  address: string;
  prefix: number;
  mac: string;
  /** The default route's gateway; absent for a second network (the first keeps the default route). */
  defaultGateway?: string;
  mtu?: number;
}

/**
 * Plugs a container into a bridge. On failure nothing is left (the addon
 * deletes the pair, which removes both ends), and the message ends with the
 * kernel's words ("File exists" when the name is taken).
 */
export function attachVeth(spec: VethSpec): Promise<void> {
  return vethAttach(spec.hostIf, spec.bridge, spec.mtu ?? 1500, {
    pid: spec.pid,
    ifName: spec.ifName,
    mac: spec.mac,
    address: spec.address,
    prefix: spec.prefix,
    gateway: spec.defaultGateway,
  });
}

/** Unplugs: deleting the host end removes the container's end with it. Gone already is fine. */
export async function detachVeth(hostIf: string): Promise<void> {
  await linkDelete(hostIf);
}

/**
 * The rules of a container's endpoints, without state: the networks it
 * joins and the settings each accepts, the containers `--link` names, a new endpoint (its id,
 * its MAC as dockerd makes it, the host end of its veth).
 */
import { createHash, randomBytes } from 'node:crypto';
import { invalidParameter, notFound } from '../errors.js';
import { parseSubnet, tryParseIp } from './cidr.js';
import { newVethName } from './links.js';
import type { ActiveEndpoint, ContainerNetworking, EndpointSettingsRequest, LinkTarget, NetworkRecord } from './network-types.js';

/**
 * The networks a container joins (NetworkMode, then EndpointsConfig), by
 * id, with what it asks for on each, and its mode as stored (the network's
 * name); `resolve` finds a network by reference or says 404.
 */
export function configuredNetworks(
  mode: string,
  endpoints: Record<string, EndpointSettingsRequest | null> | null | undefined,
  resolve: (ref: string) => NetworkRecord,
): { mode: string; configured: Record<string, EndpointSettingsRequest> } {
  const netMode = mode === '' || mode === 'default' ? 'bridge' : mode;
  const configured: Record<string, EndpointSettingsRequest> = {};
  if (netMode.startsWith('container:')) throw invalidParameter('--network container:NAME is not supported by berth yet');
  const main = resolve(netMode);
  configured[main.Id] = {};
  for (const [ref, settings] of Object.entries(endpoints ?? {})) {
    const n = resolve(ref === 'default' ? 'bridge' : ref);
    if (n.Driver !== 'bridge' && n.Id !== main.Id) {
      throw invalidParameter('container sharing network namespace with another container or host cannot join any other network');
    }
    validateEndpoint(n, settings ?? {});
    configured[n.Id] = settings ?? {};
  }
  return { mode: main.Name === netMode ? netMode : main.Name, configured };
}

/** An endpoint's settings on network `n`, refused as dockerd refuses them (400). */
export function validateEndpoint(n: NetworkRecord, s: EndpointSettingsRequest): void {
  // a unicast Ethernet address (the kernel refuses a multicast one for a veth)
  if (s.MacAddress && (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(s.MacAddress) || parseInt(s.MacAddress.slice(0, 2), 16) & 1)) {
    throw invalidParameter(`${s.MacAddress} is not a valid mac address`);
  }
  const ip = s.IPAMConfig?.IPv4Address;
  if (s.Aliases?.length && n.predefined) throw invalidParameter('network-scoped alias is supported only for containers in user defined networks');
  if (!ip) return;
  if (n.predefined) throw invalidParameter('user specified IP address is supported on user defined networks only');
  if (!n.userSubnet) throw invalidParameter('user specified IP address is supported only when connecting to networks with user configured subnets');
  const ipNum = tryParseIp(ip);
  if (ipNum === undefined) throw invalidParameter(`invalid IPv4 address: ${ip}`);
  const subnet = parseSubnet(n.IPAM.Config[0]!.Subnet);
  if ((ipNum & (0xffffffff << (32 - subnet.prefix))) >>> 0 !== subnet.base) {
    throw invalidParameter(`invalid config for network ${n.Name}: invalid endpoint settings:\nno configured subnet or ip-range contain the IP address ${ip}`);
  }
}

/** The containers `--link name:alias` points at, running on `net`, with their address there. */
export function linkTargets(links: string[], net: NetworkRecord | undefined, containers: Record<string, ContainerNetworking>): LinkTarget[] {
  return links.map((link) => {
    const [rawName, rawAlias] = link.split(':');
    const name = stripSlash(rawName ?? '');
    const alias = (rawAlias ?? name).split('/').pop()!;
    const found = Object.entries(containers).find(([id, c]) => c.name === name || id === name || id.startsWith(name));
    if (!found) throw notFound(`could not get container for ${name}: No such container: ${name}`);
    const ep = net ? found[1].active[net.Id] : undefined;
    if (!ep) throw invalidParameter(`cannot link to ${name}: it is not running on this container's network; start it first`);
    return { alias, id: found[0], name: found[1].name, address: ep.address };
  });
}

export function stripSlash(name: string): string {
  return name.startsWith('/') ? name.slice(1) : name;
}

/** dockerd's classic MAC: 02:42 and the four address bytes. */
export function macFor(address: string): string {
  return ['02', '42', ...address.split('.').map((b) => Number(b).toString(16).padStart(2, '0'))].join(':');
}

/** A new endpoint of a container on network `n` at `address`, its interface `ifName` in the container (ethN). */
export function newEndpoint(n: NetworkRecord, containerId: string, address: string, mac: string | undefined, ifName: string): ActiveEndpoint {
  return {
    networkId: n.Id,
    endpointId: createHash('sha256')
      .update(`${n.Id}/${containerId}/${randomBytes(8).toString('hex')}`)
      .digest('hex'),
    address,
    prefix: parseSubnet(n.IPAM.Config[0]!.Subnet).prefix,
    gateway: n.IPAM.Config[0]!.Gateway,
    mac: mac || macFor(address),
    hostIf: newVethName(),
    ifName,
  };
}

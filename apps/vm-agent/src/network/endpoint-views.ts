/** A container's networking as inspect (NetworkSettings), `docker ps` (Ports) and `network inspect` (Containers) show it. */
import type { PublishedPort } from './port-proxy.js';
import type { ContainerNetworking, EndpointSettings, NetworkRecord, PortMap } from './network-types.js';

/** NetworkSettings.Networks: every configured network, with addresses while running. */
export function endpointSettings(
  containerId: string,
  c: ContainerNetworking | undefined,
  network: (id: string) => NetworkRecord | undefined,
): Record<string, EndpointSettings> {
  const out: Record<string, EndpointSettings> = {};
  if (!c) return out;
  for (const [nid, s] of Object.entries(c.configured)) {
    const n = network(nid);
    if (!n) continue;
    const ep = c.active[nid];
    out[n.Name] = {
      IPAMConfig: s.IPAMConfig ?? null,
      Links: s.Links ?? null,
      Aliases: s.Aliases ?? null,
      MacAddress: ep?.mac ?? '',
      DriverOpts: s.DriverOpts ?? null,
      GwPriority: 0,
      NetworkID: nid,
      EndpointID: ep?.endpointId ?? '',
      Gateway: ep?.gateway ?? '',
      IPAddress: ep?.address ?? '',
      IPPrefixLen: ep?.prefix ?? 0,
      IPv6Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      DNSNames: n.predefined ? null : [c.name, ...(s.Aliases ?? []), containerId.slice(0, 12)],
    };
  }
  return out;
}

/** NetworkSettings.Ports: published bindings while running, exposed ports as null. */
export function portMap(exposed: Record<string, object> | undefined, published: readonly PublishedPort[]): PortMap {
  const out: PortMap = {};
  for (const key of Object.keys(exposed ?? {})) out[key.includes('/') ? key : `${key}/tcp`] = null;
  for (const p of published) {
    const key = `${p.containerPort}/${p.proto}`;
    (out[key] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
  }
  return out;
}

/** Ports as `docker ps` lists them. */
export function portSummary(ports: PortMap): { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[] {
  const out: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[] = [];
  for (const [key, list] of Object.entries(ports)) {
    const [port, type = 'tcp'] = key.split('/');
    if (!list) out.push({ PrivatePort: Number(port), Type: type });
    else for (const b of list) out.push({ IP: b.HostIp, PrivatePort: Number(port), PublicPort: Number(b.HostPort), Type: type });
  }
  return out;
}

export interface NetworkMember {
  Name: string;
  EndpointID: string;
  MacAddress: string;
  IPv4Address: string;
  IPv6Address: string;
}

/** Running containers on a network, as `network inspect` shows them (Containers). */
export function networkMembers(networkId: string, containers: Record<string, ContainerNetworking>): Record<string, NetworkMember> {
  const out: Record<string, NetworkMember> = {};
  for (const [cid, c] of Object.entries(containers)) {
    const ep = c.active[networkId];
    if (ep) out[cid] = { Name: c.name, EndpointID: ep.endpointId, MacAddress: ep.mac, IPv4Address: `${ep.address}/${ep.prefix}`, IPv6Address: '' };
  }
  return out;
}

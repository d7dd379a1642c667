/**
 * What a user network's embedded DNS server answers (dns-server.ts
 * DnsRecords): the containers running on it by name, alias and id prefix,
 * with or without the network's name as a suffix; their names for PTR; and
 * the upstream servers of the asking container.
 */
import type { DnsRecords } from './dns-server.js';
import type { ContainerNetworking, NetworkRecord } from './network-types.js';

/**
 * `running()`: the containers with an endpoint on `n` now; `upstreams(id)`:
 * the servers to forward to for container `id` (undefined: not one of ours).
 */
export function networkDnsRecords(
  n: NetworkRecord,
  running: () => [string, ContainerNetworking][],
  upstreams: (containerId: string | undefined) => string[],
): DnsRecords {
  const suffix = `.${n.Name.toLowerCase()}`;
  const byAddress = (address: string) => running().find(([, c]) => c.active[n.Id]?.address === address);
  return {
    lookup: (name: string): string[] | undefined => {
      const bare = name.endsWith(suffix) ? name.slice(0, -suffix.length) : name;
      const found: string[] = [];
      for (const [cid, c] of running()) {
        const names = [c.name, ...(c.configured[n.Id]?.Aliases ?? [])].map((x) => x.toLowerCase());
        if (names.includes(bare) || (bare.length >= 12 && cid.startsWith(bare))) found.push(c.active[n.Id]!.address);
      }
      return found.length ? found : undefined;
    },
    reverse: (address: string): string | undefined => {
      const hit = byAddress(address);
      return hit ? `${hit[1].name}${suffix}` : undefined;
    },
    upstreams: (client: string): string[] => upstreams(byAddress(client)?.[0]),
  };
}

/**
 * A bridge network's kernel state: the bridge, its firewall rules and (user
 * networks) its DNS server. They exist while at least one container is
 * attached and are removed `idleTeardownMs` after the last one leaves, at
 * once when the network is removed, and at agent shutdown (so an idle agent
 * leaves nothing on the host). The grace period keeps a run of short
 * containers (`docker run --rm` in a loop) from building and tearing down
 * the bridge and a dozen firewall rules each time.
 */
import { existsSync } from 'node:fs';
import { withHostLock } from '../util/host-lock.js';
import { overlaps, parseSubnet } from './cidr.js';
import { EmbeddedDns, type DnsRecords } from './dns-server.js';
import type { HostControls } from './host-controls.js';
import { enableIpForward, hostRoutedSubnets } from './host-tools.js';
import type { Ipam } from './ipam.js';
import { BridgeFirewall } from './iptables.js';
import { ensureBridge, removeBridge } from './links.js';
import type { NetworkStore } from './network-store.js';
import type { NetworkRecord } from './network-types.js';

export interface BridgeLifecycleOptions {
  /** Names the firewall chains (unique per agent). */
  tag: string;
  store: NetworkStore;
  ipam: () => Ipam;
  /** How many containers have an endpoint on the network now. */
  endpointCount: (networkId: string) => number;
  /** Runs with the network service's other mutations, one at a time. */
  serial: (fn: () => Promise<void>) => Promise<void>;
  dnsRecords: (n: NetworkRecord) => DnsRecords;
  log: (msg: string) => void;
  idleTeardownMs?: number;
  hostControls?: HostControls;
}

interface Live {
  dns?: EmbeddedDns;
  /** The bridge and its firewall rules are in place: up() ran since the last down(). */
  up?: boolean;
  /** The down() scheduled when the last container left; cancelled when one joins. */
  idle?: NodeJS.Timeout;
}

export class BridgeLifecycle {
  private readonly firewall: BridgeFirewall;
  private readonly live = new Map<string, Live>();

  constructor(private readonly opts: BridgeLifecycleOptions) {
    this.firewall = new BridgeFirewall(opts.tag);
  }

  /**
   * Bridge, firewall rules and (user networks) the DNS server. Idempotent;
   * cheap while the network is up. True when it built the bridge and rules.
   */
  async up(n: NetworkRecord): Promise<boolean> {
    if (n.Driver !== 'bridge') return false;
    const live = this.live.get(n.Id) ?? {};
    this.live.set(n.Id, live);
    let built = false;
    clearTimeout(live.idle);
    live.idle = undefined;
    // Deleted behind our back (`ip link del`): build it all again.
    if (live.up && !existsSync(`/sys/class/net/${n.bridge}`)) live.up = false;
    if (!live.up) {
      // Under the host-wide lock, so two engines bringing bridges up at once see each other's routes.
      await withHostLock('bridges', async () => {
        if (!n.userSubnet && !this.opts.endpointCount(n.Id)) await this.leaveTakenSubnet(n);
        const { prefix } = parseSubnet(n.IPAM.Config[0]!.Subnet);
        await ensureBridge(n.bridge, `${n.IPAM.Config[0]!.Gateway}/${prefix}`);
      });
      await this.firewallUp(n);
      if (!n.Internal) await enableIpForward();
      live.up = true;
      built = true;
    }
    if (!n.predefined && !live.dns) {
      const gateway = n.IPAM.Config[0]!.Gateway;
      const dns = new EmbeddedDns(gateway, this.opts.dnsRecords(n), this.opts.log);
      try {
        await dns.start();
        live.dns = dns;
      } catch (err) {
        this.opts.log(
          `the DNS server of network ${n.Name} could not listen on ${gateway}:53 (${(err as Error).message}); its containers cannot resolve each other by name`,
        );
      }
    }
    return built;
  }

  /**
   * For a network that stayed up: puts its rules back if the host's
   * firewall was reloaded or flushed meanwhile (that drops our jump from
   * FORWARD too, which is what is checked). Runs beside the veth plumbing.
   */
  async repairFirewall(n: NetworkRecord): Promise<void> {
    if (await this.firewall.hooked()) return;
    this.opts.log(`the firewall rules of network ${n.Name} were removed by someone else: adding them again`);
    await this.firewallUp(n);
  }

  /** A network's rules; then the host controls' jump back in front of them (host-controls.ts). */
  private async firewallUp(n: NetworkRecord): Promise<void> {
    await this.firewall.addNetwork(n.bridge, n.IPAM.Config[0]!.Subnet, { masquerade: !n.Internal });
    await this.opts.hostControls?.jumpFirst();
  }

  /**
   * A subnet picked at create time (no --subnet) is free then, but bridges
   * come up only with their first container: meanwhile another engine on
   * this host, or a VPN, may have taken it, and the host would route our
   * containers' traffic there. Such a network, still empty, moves to a free
   * subnet, as dockerd would have picked at create.
   */
  private async leaveTakenSubnet(n: NetworkRecord): Promise<void> {
    const routed = await hostRoutedSubnets(new Set([n.bridge]));
    const current = n.IPAM.Config[0]!.Subnet;
    if (!routed.some((r) => overlaps(r, parseSubnet(current)))) return;
    const pool = await this.opts.ipam().repickPool(n.Id, routed);
    n.IPAM.Config = [{ Subnet: pool.subnet, Gateway: pool.gateway }];
    await this.opts.store.save(n);
    this.opts.log(`network ${n.Name}: ${current} is now routed elsewhere on this host (another engine or a VPN); it moves to ${pool.subnet}`);
  }

  /** Schedules down() for a network its last container left; up() cancels it. */
  downWhenIdle(n: NetworkRecord): void {
    const live = this.live.get(n.Id) ?? {};
    this.live.set(n.Id, live);
    if (live.idle) return;
    live.idle = setTimeout(() => {
      live.idle = undefined;
      void this.opts
        .serial(async () => {
          if (this.live.get(n.Id) === live && !live.idle && !this.opts.endpointCount(n.Id)) await this.down(n);
        })
        .catch((e) => this.opts.log((e as Error).message));
    }, this.opts.idleTeardownMs ?? 30_000);
    live.idle.unref();
  }

  /** Removes the network's kernel state now (a network removed, the agent stopping, a crash's leftovers). */
  async down(n: NetworkRecord): Promise<void> {
    if (n.Driver !== 'bridge') return;
    const live = this.live.get(n.Id);
    clearTimeout(live?.idle);
    this.live.delete(n.Id);
    await live?.dns?.close();
    await this.firewall.removeNetwork(n.bridge, n.IPAM.Config[0]!.Subnet);
    await removeBridge(n.bridge);
  }
}

/**
 * Networks: the records (`docker network create|ls|inspect|rm|prune`) and
 * the containers' side (addresses, veths, names, /etc/hosts and
 * resolv.conf, published ports).
 *
 * Lifecycle of a bridge network's kernel state: the bridge, its firewall
 * rules and its DNS server exist while at least one container is attached,
 * and are removed `idleTeardownMs` after the last one leaves, at once when
 * the network is removed, and at agent shutdown (so an idle agent leaves
 * nothing on the host). The grace period keeps a run of short containers
 * (`docker run --rm` in a loop) from building and tearing down the bridge
 * and a dozen firewall rules each time. Addresses are held from attach to
 * detach, in the IPAM file.
 *
 * The engine calls, per container:
 *   configure(id, name, NetworkMode, EndpointsConfig)   at create (validates)
 *   attach(spec, pid) -> files                           in spawn's beforeStart
 *   detach(id)                                           when the process is gone
 *   forget(id)                                           at rm
 *   settings(id, exposed)                                for inspect and ps
 * All mutations run one at a time.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { conflict, forbidden, invalidParameter, isEngineError, notFound } from '../errors.js';
import { readJsonIfExists, writeJsonAtomic } from '../util/atomic-file.js';
import { withHostLock } from '../util/host-lock.js';
import { trace } from '../util/trace.js';
import { overlaps, parseSubnet, tryParseIp } from './cidr.js';
import {
  buildHostsFile,
  buildResolvConf,
  containerExtraHosts,
  type DnsSettings,
  type HostsEntry,
  parseResolvConf,
  type ResolvConf,
  upstreamServers,
} from './container-files.js';
import { EmbeddedDns } from './dns-server.js';
import { enableIpForward, hostRoutedSubnets } from './host-tools.js';
import type { HostControls } from './host-controls.js';
import { BridgeFirewall } from './iptables.js';
import { Ipam } from './ipam.js';
import { attachVeth, detachVeth, ensureBridge, newVethName, removeBridge } from './links.js';
import { NetworkStore } from './network-store.js';
import type { ActiveEndpoint, ContainerNetworking, EndpointSettings, EndpointSettingsRequest, NetworkRecord, PortMap } from './network-types.js';
import { type Proxy, publishPorts } from './port-proxy.js';
import { type PortBindings, portRequests } from './port-spec.js';

export interface NetworkServiceOptions {
  /** `<data-root>/network`. */
  root: string;
  /** Up to 8 characters unique to this agent: names its default bridge and firewall chains. */
  tag: string;
  log?: (msg: string) => void;
  /** The host's resolv.conf (tests may point elsewhere). */
  resolvConfPath?: string;
  /** How long a network's kernel state outlives its last container (default 30 s). */
  idleTeardownMs?: number;
  /**
   * In a VM: the address reaching the host's loopback (QEMU's 10.0.2.2).
   * Containers get it as host.docker.internal, and `--add-host NAME:host-gateway`
   * means it, as on Docker Desktop; natively host-gateway is the bridge's gateway.
   */
  hostGateway?: string;
  /** In a VM: the chain that keeps containers off the host's own controls; its jump must stay first in FORWARD. */
  hostControls?: HostControls;
}

export interface CreateNetworkRequest {
  Name?: string;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  EnableIPv6?: boolean;
  IPAM?: { Driver?: string; Config?: { Subnet?: string; Gateway?: string; IPRange?: string }[] | null; Options?: Record<string, string> | null } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

/** What attach needs to know about a container (from its record). */
export interface AttachSpec {
  id: string;
  hostname: string;
  domainname?: string;
  extraHosts?: string[] | null;
  /** HostConfig.Links: "name:alias" or dockerd's "/name:/container/alias". */
  links?: string[] | null;
  dns?: DnsSettings;
  portBindings?: PortBindings | null;
  publishAllPorts?: boolean;
  exposedPorts?: Record<string, object>;
}

export interface AttachResult {
  /** The content of the container's /etc/hosts, /etc/resolv.conf and /etc/hostname. */
  hosts: string;
  resolvConf: string;
  hostname: string;
}

const PREDEFINED = ['bridge', 'host', 'none'] as const;

interface Live {
  dns?: EmbeddedDns;
  /** The bridge and its firewall rules are in place: up() ran since the last down(). */
  up?: boolean;
  /** The down() scheduled when the last container left; cancelled when one joins. */
  idle?: NodeJS.Timeout;
}

/** A container `--link` points at. */
export interface LinkTarget {
  alias: string;
  id: string;
  name: string;
  /** Its address on the linking container's network. */
  address: string;
}

export class NetworkService {
  private readonly store: NetworkStore;
  private ipam!: Ipam;
  private readonly firewall: BridgeFirewall;
  private containers: Record<string, ContainerNetworking> = {};
  private readonly proxies = new Map<string, Proxy>();
  private readonly live = new Map<string, Live>();
  private readonly containersFile: string;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly log: (msg: string) => void;

  constructor(private readonly opts: NetworkServiceOptions) {
    this.store = new NetworkStore(opts.root);
    this.firewall = new BridgeFirewall(opts.tag);
    this.containersFile = join(opts.root, 'containers.json');
    this.log = opts.log ?? ((m) => console.error(`berth-agent: network: ${m}`));
  }

  static rootFor(dataRoot: string): string {
    return join(dataRoot, 'network');
  }

  /** The default bridge's interface name (unique per agent, so agents on one host do not collide). */
  get defaultBridgeName(): string {
    return `berth-${this.opts.tag}`;
  }

  /**
   * Loads the records, makes the predefined networks on first start, and
   * takes back addresses of containers `isRunning` does not know (they died
   * while the agent was away).
   */
  async init(isRunning: (containerId: string) => boolean = () => false): Promise<void> {
    await this.store.load();
    this.ipam = await Ipam.open(join(this.opts.root, 'ipam.json'));
    this.containers = (await readJsonIfExists<Record<string, ContainerNetworking>>(this.containersFile)) ?? {};
    for (const name of PREDEFINED) if (!this.store.byName(name)) await this.createPredefined(name);
    for (const [id, c] of Object.entries(this.containers)) {
      if (isRunning(id)) continue;
      for (const ep of Object.values(c.active)) await detachVeth(ep.hostIf).catch(() => {});
      c.active = {};
    }
    await this.ipam.releaseUnless((nid, owner) => !!this.containers[owner]?.active[nid]);
    await this.saveContainers();
    for (const n of this.store.all()) {
      if (this.endpointsOn(n.Id).length) await this.up(n);
      else if (n.Driver === 'bridge') await this.down(n); // a crash may have left it
    }
  }

  /**
   * Drops what is kept for containers that do not exist: a create the
   * agent did not live to finish (killed between configure and the record
   * being written) left its endpoint config. Called once the container
   * records are loaded.
   */
  forgetUnless(exists: (containerId: string) => boolean): Promise<void> {
    return this.serial(async () => {
      const gone = Object.keys(this.containers).filter((id) => !exists(id));
      if (!gone.length) return;
      for (const id of gone) {
        await this.detachNow(id);
        delete this.containers[id];
      }
      await this.saveContainers();
    });
  }

  /**
   * At agent shutdown: detaches every container and tears the networks
   * down, leaving nothing on the host. (A restarted agent does not take
   * over containers of the previous one, so their plumbing has no use.)
   */
  async close(): Promise<void> {
    await this.serial(async () => {
      for (const id of Object.keys(this.containers)) await this.detachNow(id).catch((e) => this.log((e as Error).message));
      for (const n of this.store.all()) await this.down(n).catch((e) => this.log((e as Error).message));
    });
  }

  // ---- records ----------------------------------------------------------

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.catch(() => {}).then(fn);
    this.queue = run;
    return run;
  }

  private async createPredefined(name: (typeof PREDEFINED)[number]): Promise<void> {
    const id = randomBytes(32).toString('hex');
    const rec = baseRecord(id, name, name === 'bridge' ? 'bridge' : name === 'host' ? 'host' : 'null', true);
    if (name === 'bridge') {
      const avoid = await hostRoutedSubnets(new Set([this.defaultBridgeName]));
      const pool = await this.ipam.requestPool(id, { avoid });
      rec.IPAM.Config = [{ Subnet: pool.subnet, Gateway: pool.gateway }];
      rec.bridge = this.defaultBridgeName;
      rec.Options = {
        'com.docker.network.bridge.default_bridge': 'true',
        'com.docker.network.bridge.enable_icc': 'true',
        'com.docker.network.bridge.enable_ip_masquerade': 'true',
        'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
        'com.docker.network.bridge.name': rec.bridge,
        'com.docker.network.driver.mtu': '1500',
      };
    }
    await this.store.save(rec);
  }

  create(req: CreateNetworkRequest): Promise<{ Id: string; Warning: string }> {
    return this.serial(async () => {
      const name = req.Name ?? '';
      if (!name) throw invalidParameter('network name is required: docker network create NAME');
      if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw invalidParameter(`invalid network name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      const driver = req.Driver || 'bridge';
      if (driver === 'host' || driver === 'null') throw forbidden(`only one instance of "${driver}" network is allowed`);
      if (driver !== 'bridge') throw notFound(`plugin "${driver}" not found: berth networks use the bridge driver`);
      if (this.store.byName(name)) throw conflict(`network with name ${name} already exists`);
      if (req.EnableIPv6) throw invalidParameter('IPv6 networks are not supported by berth yet: leave out --ipv6');
      const configs = req.IPAM?.Config ?? [];
      if (configs.length > 1) throw invalidParameter('berth networks have one IPv4 subnet: pass --subnet once');
      const cfg = configs[0] ?? {};
      if (cfg.Subnet && cfg.Subnet.includes(':')) throw invalidParameter('IPv6 subnets are not supported by berth yet');
      if (cfg.Gateway && !cfg.Subnet) throw invalidParameter('a gateway needs a subnet: pass --subnet with --gateway');
      if (cfg.IPRange) throw invalidParameter('--ip-range is not supported by berth yet: leave it out');
      const id = randomBytes(32).toString('hex');
      const avoid = cfg.Subnet ? [] : await hostRoutedSubnets(new Set(this.store.all().map((n) => n.bridge)));
      const pool = await this.ipam.requestPool(id, { subnet: cfg.Subnet, gateway: cfg.Gateway, avoid });
      const rec = baseRecord(id, name, 'bridge', false);
      rec.IPAM.Config = [{ Subnet: pool.subnet, Gateway: pool.gateway }];
      rec.IPAM.Options = req.IPAM?.Options ?? null;
      rec.Internal = req.Internal ?? false;
      rec.Attachable = req.Attachable ?? false;
      rec.Options = req.Options ?? {};
      rec.Labels = req.Labels ?? {};
      rec.bridge = rec.Options['com.docker.network.bridge.name'] || `br-${id.slice(0, 12)}`;
      rec.userSubnet = !!cfg.Subnet;
      try {
        await this.store.save(rec);
      } catch (err) {
        await this.ipam.releasePool(id);
        throw err;
      }
      return { Id: id, Warning: '' };
    });
  }

  resolve(ref: string): NetworkRecord {
    return this.store.resolve(ref);
  }

  list(): NetworkRecord[] {
    return this.store.all();
  }

  /** Running containers on a network, as `network inspect` shows them (Containers). */
  containersOn(networkId: string): Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }> {
    const out: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }> = {};
    for (const [cid, c] of Object.entries(this.containers)) {
      const ep = c.active[networkId];
      if (ep) out[cid] = { Name: c.name, EndpointID: ep.endpointId, MacAddress: ep.mac, IPv4Address: `${ep.address}/${ep.prefix}`, IPv6Address: '' };
    }
    return out;
  }

  remove(ref: string): Promise<void> {
    return this.serial(async () => {
      const rec = this.store.resolve(ref);
      if (rec.predefined) throw forbidden(`${rec.Name} is a pre-defined network and cannot be removed`);
      const users = this.endpointsOn(rec.Id);
      if (users.length) {
        const [cid, c] = users[0]!;
        throw forbidden(
          `error while removing network: network ${rec.Name} has active endpoints (name:${JSON.stringify(c.name)} id:${JSON.stringify(cid.slice(0, 12))})`,
        );
      }
      await this.down(rec);
      await this.store.remove(rec);
      await this.ipam.releasePool(rec.Id);
    });
  }

  /** Removes user networks without running containers; returns their names. */
  async prune(keep: (n: NetworkRecord) => boolean = () => false): Promise<string[]> {
    const deleted: string[] = [];
    for (const n of this.store.all()) {
      if (n.predefined || keep(n) || this.endpointsOn(n.Id).length) continue;
      try {
        await this.remove(n.Id);
        deleted.push(n.Name);
      } catch (err) {
        if (!isEngineError(err, 'forbidden')) throw err;
      }
    }
    return deleted;
  }

  // ---- containers: configuration ------------------------------------------

  /**
   * Records which networks a container joins (NetworkMode plus
   * EndpointsConfig), refusing what dockerd refuses: unknown networks (404),
   * `--ip` on a network without a user-given subnet (400), an `--ip` outside it.
   */
  configure(containerId: string, name: string, mode: string, endpoints: Record<string, EndpointSettingsRequest> | null | undefined): Promise<void> {
    return this.serial(async () => {
      const netMode = mode === '' || mode === 'default' ? 'bridge' : mode;
      const configured: Record<string, EndpointSettingsRequest> = {};
      if (netMode.startsWith('container:')) throw invalidParameter('--network container:NAME is not supported by berth yet');
      const main = this.store.resolve(netMode);
      configured[main.Id] = {};
      for (const [ref, settings] of Object.entries(endpoints ?? {})) {
        const n = this.store.resolve(ref === 'default' ? 'bridge' : ref);
        if (n.Driver !== 'bridge' && n.Id !== main.Id) {
          throw invalidParameter('container sharing network namespace with another container or host cannot join any other network');
        }
        this.validateEndpoint(n, settings ?? {});
        configured[n.Id] = settings ?? {};
      }
      this.containers[containerId] = {
        name: stripSlash(name),
        mode: main.Name === netMode ? netMode : main.Name,
        configured,
        active: this.containers[containerId]?.active ?? {},
      };
      await this.saveContainers();
    });
  }

  private validateEndpoint(n: NetworkRecord, s: EndpointSettingsRequest): void {
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

  /** Drops what the network layer knows of a removed container (detach first if it ran). */
  forget(containerId: string): Promise<void> {
    return this.serial(async () => {
      if (!this.containers[containerId]) return;
      await this.detachNow(containerId);
      delete this.containers[containerId];
      await this.saveContainers();
    });
  }

  /** The container's network mode as configured ("bridge", "host", "none", a name). */
  modeOf(containerId: string): string | undefined {
    return this.containers[containerId]?.mode;
  }

  /** True when the container shares the host's network namespace (`--network host`). */
  usesHostNetwork(containerId: string): boolean {
    return this.containers[containerId]?.mode === 'host';
  }

  // ---- containers: running ----------------------------------------------

  /**
   * Connects a starting container (its init waits at the start gate, `pid`)
   * to its networks and publishes its ports. All or nothing: on a failure
   * every step done is undone and the error says what failed (a busy port:
   * `Ports are not available: ...`).
   */
  attach(spec: AttachSpec, pid: number): Promise<AttachResult> {
    return this.serial(async () => {
      const c = this.containers[spec.id];
      if (!c) throw invalidParameter(`container ${spec.id.slice(0, 12)} has no network configuration: it was created before networking; recreate it`);
      try {
        return await this.attachNow(spec, c, pid);
      } catch (err) {
        await this.detachNow(spec.id).catch((e) => this.log(`undoing a failed attach of ${spec.id.slice(0, 12)}: ${(e as Error).message}`));
        throw err;
      }
    });
  }

  private async attachNow(spec: AttachSpec, c: ContainerNetworking, pid: number): Promise<AttachResult> {
    const host = await this.hostResolvConf();
    const dns = spec.dns ?? {};
    if (c.mode === 'host') {
      // The host's own files (dockerd copies them).
      const hosts = await readFile('/etc/hosts', 'utf8').catch(() => buildHostsFile({}));
      const extra = containerExtraHosts(spec.extraHosts ?? [], '127.0.0.1', this.opts.hostGateway);
      return { hosts: hosts + buildHostsFile({ extra }).split('\n').slice(6).join('\n'), resolvConf: buildResolvConf(host, dns), hostname: osHostname() };
    }
    const nets = Object.keys(c.configured)
      .map((id) => this.store.get(id))
      .filter((n): n is NetworkRecord => !!n);
    const missing = Object.keys(c.configured).find((id) => !this.store.get(id));
    if (missing) throw notFound(`network ${missing} not found: it was removed; connect the container to another network`);
    const bridges = nets.filter((n) => n.Driver === 'bridge');
    // The network named in NetworkMode first: it carries the default route.
    bridges.sort((a, b) => (a.Name === c.mode ? -1 : b.Name === c.mode ? 1 : 0));
    let index = 0;
    for (const n of bridges) await this.plug(spec.id, c, n, c.configured[n.Id] ?? {}, pid, index++ === 0, dns);
    trace(spec.id, 'veths plugged');
    await this.saveContainers();
    trace(spec.id, 'endpoints saved');

    const first = bridges[0] ? c.active[bridges[0].Id] : undefined;
    const requests = portRequests(spec.portBindings, spec.exposedPorts, spec.publishAllPorts ?? false);
    if (requests.length && !first) {
      // dockerd ignores published ports without a bridge network (host, none).
    } else if (requests.length && first) {
      this.proxies.set(spec.id, await publishPorts(requests, first.address));
    }

    const own: HostsEntry[] = first
      ? [{ address: first.address, names: [spec.domainname ? `${spec.hostname}.${spec.domainname} ${spec.hostname}` : spec.hostname] }]
      : [];
    const gateway = first?.gateway ?? '127.0.0.1';
    const userNet = bridges[0] && !bridges[0].predefined ? bridges[0] : undefined;
    return {
      hosts: buildHostsFile({
        extra: containerExtraHosts(spec.extraHosts ?? [], gateway, this.opts.hostGateway),
        links: this.linkEntries(spec.links ?? [], bridges[0]),
        own,
      }),
      resolvConf: buildResolvConf(host, dns, userNet ? first!.gateway : undefined),
      hostname: spec.hostname,
    };
  }

  /** `--link name:alias`: "ip alias id12 name" lines for running containers on the same network. */
  private linkEntries(links: string[], net: NetworkRecord | undefined): HostsEntry[] {
    return this.linkTargets(links, net).map((t) => ({ address: t.address, names: [...new Set([t.alias, t.id.slice(0, 12), t.name])] }));
  }

  /** The containers `--link name:alias` points at, running on `net`, with their address there. */
  private linkTargets(links: string[], net: NetworkRecord | undefined): LinkTarget[] {
    return links.map((link) => {
      const [rawName, rawAlias] = link.split(':');
      const name = stripSlash(rawName ?? '');
      const alias = (rawAlias ?? name).split('/').pop()!;
      const found = Object.entries(this.containers).find(([id, c]) => c.name === name || id === name || id.startsWith(name));
      if (!found) throw notFound(`could not get container for ${name}: No such container: ${name}`);
      const ep = net ? found[1].active[net.Id] : undefined;
      if (!ep) throw invalidParameter(`cannot link to ${name}: it is not running on this container's network; start it first`);
      return { alias, id: found[0], name: found[1].name, address: ep.address };
    });
  }

  /** Before a start: the link targets on the container's own network, for the legacy link environment variables. */
  linkedContainers(containerId: string, links: string[]): LinkTarget[] {
    const c = this.containers[containerId];
    if (!links.length || !c) return [];
    const main = Object.keys(c.configured)
      .map((id) => this.store.get(id))
      .find((n) => n?.Name === c.mode && n.Driver === 'bridge');
    return this.linkTargets(links, main);
  }

  /** One veth into network `n`; starts the network's kernel state if it is the first. */
  private async plug(
    containerId: string,
    c: ContainerNetworking,
    n: NetworkRecord,
    s: EndpointSettingsRequest,
    pid: number,
    defaultRoute: boolean,
    dns: DnsSettings,
  ): Promise<void> {
    this.validateEndpoint(n, s);
    // Up first: a network's first container may move it to another subnet (see up()).
    const built = await this.up(n);
    trace(containerId, `network ${n.Name} up`);
    // The address file is written while the veth is made; both are awaited below.
    const { address, saved } = this.ipam.reserveAddress(n.Id, containerId, s.IPAMConfig?.IPv4Address || undefined);
    const { prefix } = parseSubnet(n.IPAM.Config[0]!.Subnet);
    const ep: ActiveEndpoint = {
      networkId: n.Id,
      endpointId: createHash('sha256')
        .update(`${n.Id}/${containerId}/${randomBytes(8).toString('hex')}`)
        .digest('hex'),
      address,
      prefix,
      gateway: n.IPAM.Config[0]!.Gateway,
      mac: s.MacAddress || macFor(address),
      hostIf: newVethName(),
      ifName: `eth${Object.keys(c.active).length}`,
    };
    c.active[n.Id] = ep;
    this.dnsSettings.set(containerId, dns);
    trace(containerId, 'address');
    await Promise.all([
      saved,
      attachVeth({
        pid,
        bridge: n.bridge,
        hostIf: ep.hostIf,
        ifName: ep.ifName,
        addressCidr: `${address}/${prefix}`,
        mac: ep.mac,
        defaultGateway: defaultRoute ? ep.gateway : undefined,
      }),
      built ? undefined : this.repairFirewall(n),
    ]);
  }

  /**
   * For a network that stayed up: puts its rules back if the host's
   * firewall was reloaded or flushed meanwhile (that drops our jump from
   * FORWARD too, which is what is checked). Runs beside the veth plumbing.
   */
  private async repairFirewall(n: NetworkRecord): Promise<void> {
    if (await this.firewall.hooked()) return;
    this.log(`the firewall rules of network ${n.Name} were removed by someone else: adding them again`);
    await this.firewallUp(n);
  }

  /** A network's rules; then the host controls' jump back in front of them (host-controls.ts). */
  private async firewallUp(n: NetworkRecord): Promise<void> {
    await this.firewall.addNetwork(n.bridge, n.IPAM.Config[0]!.Subnet, { masquerade: !n.Internal });
    await this.opts.hostControls?.jumpFirst();
  }

  private readonly dnsSettings = new Map<string, DnsSettings>();

  /** Undoes attach: closes the proxies, removes the veths, gives the addresses back. */
  detach(containerId: string): Promise<void> {
    return this.serial(() => this.detachNow(containerId));
  }

  private async detachNow(containerId: string): Promise<void> {
    const proxy = this.proxies.get(containerId);
    this.proxies.delete(containerId);
    await proxy?.close();
    const c = this.containers[containerId];
    if (!c) return;
    for (const [nid, ep] of Object.entries(c.active)) {
      await detachVeth(ep.hostIf).catch((e) => this.log(`removing ${ep.hostIf}: ${(e as Error).message}`));
      trace(containerId, 'veth removed');
      await this.ipam.releaseAddress(nid, ep.address);
      trace(containerId, 'address released');
      delete c.active[nid];
      const n = this.store.get(nid);
      if (n && !this.endpointsOn(nid).length) this.downWhenIdle(n);
    }
    this.dnsSettings.delete(containerId);
    await this.saveContainers();
  }

  /**
   * `docker network connect`: adds a network to the container's config and,
   * when it runs (`pid`), plugs it in now.
   */
  connect(ref: string, containerId: string, settings: EndpointSettingsRequest, pid?: number): Promise<void> {
    return this.serial(async () => {
      const n = this.store.resolve(ref);
      const c = this.containers[containerId];
      if (!c) throw notFound(`container ${containerId.slice(0, 12)} has no network configuration`);
      if (c.mode === 'host' || c.mode === 'none' || n.Driver !== 'bridge') {
        throw invalidParameter('container sharing network namespace with another container or host cannot be connected to any other network');
      }
      if (c.configured[n.Id]) throw forbidden(`endpoint with name ${c.name} already exists in network ${n.Name}`);
      this.validateEndpoint(n, settings);
      c.configured[n.Id] = settings;
      if (pid) {
        try {
          await this.plug(containerId, c, n, settings, pid, false, this.dnsSettings.get(containerId) ?? {});
        } catch (err) {
          delete c.configured[n.Id];
          const ep = c.active[n.Id];
          if (ep) {
            await detachVeth(ep.hostIf).catch(() => {});
            await this.ipam.releaseAddress(n.Id, ep.address);
            delete c.active[n.Id];
          }
          throw err;
        }
      }
      await this.saveContainers();
    });
  }

  /** `docker network disconnect`. */
  disconnect(ref: string, containerId: string): Promise<void> {
    return this.serial(async () => {
      const n = this.store.resolve(ref);
      const c = this.containers[containerId];
      if (!c?.configured[n.Id]) throw forbidden(`container ${containerId.slice(0, 12)} is not connected to network ${n.Name}`);
      const ep = c.active[n.Id];
      if (ep) {
        await detachVeth(ep.hostIf);
        await this.ipam.releaseAddress(n.Id, ep.address);
        delete c.active[n.Id];
        if (!this.endpointsOn(n.Id).length) this.downWhenIdle(n);
      }
      delete c.configured[n.Id];
      await this.saveContainers();
    });
  }

  // ---- containers: what inspect and ps show --------------------------------

  /** NetworkSettings.Networks: every configured network, with addresses while running. */
  endpoints(containerId: string): Record<string, EndpointSettings> {
    const c = this.containers[containerId];
    const out: Record<string, EndpointSettings> = {};
    if (!c) return out;
    for (const [nid, s] of Object.entries(c.configured)) {
      const n = this.store.get(nid);
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
  ports(containerId: string, exposed: Record<string, object> | undefined): PortMap {
    const out: PortMap = {};
    for (const key of Object.keys(exposed ?? {})) out[key.includes('/') ? key : `${key}/tcp`] = null;
    for (const p of this.proxies.get(containerId)?.ports ?? []) {
      const key = `${p.containerPort}/${p.proto}`;
      (out[key] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
    }
    return out;
  }

  /** Ports as `docker ps` lists them. */
  portSummary(containerId: string, exposed: Record<string, object> | undefined): { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[] {
    const out: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[] = [];
    for (const [key, list] of Object.entries(this.ports(containerId, exposed))) {
      const [port, type = 'tcp'] = key.split('/');
      if (!list) out.push({ PrivatePort: Number(port), Type: type });
      else for (const b of list) out.push({ IP: b.HostIp, PrivatePort: Number(port), PublicPort: Number(b.HostPort), Type: type });
    }
    return out;
  }

  // ---- kernel state -------------------------------------------------------

  private endpointsOn(networkId: string): [string, ContainerNetworking][] {
    return Object.entries(this.containers).filter(([, c]) => c.active[networkId]);
  }

  /**
   * Bridge, firewall rules and (user networks) the DNS server. Idempotent;
   * cheap while the network is up. True when it built the bridge and rules.
   */
  private async up(n: NetworkRecord): Promise<boolean> {
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
        if (!n.userSubnet && !this.endpointsOn(n.Id).length) await this.leaveTakenSubnet(n);
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
      const dns = new EmbeddedDns(gateway, this.dnsRecords(n), this.log);
      try {
        await dns.start();
        live.dns = dns;
      } catch (err) {
        this.log(
          `the DNS server of network ${n.Name} could not listen on ${gateway}:53 (${(err as Error).message}); its containers cannot resolve each other by name`,
        );
      }
    }
    return built;
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
    const pool = await this.ipam.repickPool(n.Id, routed);
    n.IPAM.Config = [{ Subnet: pool.subnet, Gateway: pool.gateway }];
    await this.store.save(n);
    this.log(`network ${n.Name}: ${current} is now routed elsewhere on this host (another engine or a VPN); it moves to ${pool.subnet}`);
  }

  /** Schedules down() for a network its last container left; up() cancels it. */
  private downWhenIdle(n: NetworkRecord): void {
    const live = this.live.get(n.Id) ?? {};
    this.live.set(n.Id, live);
    if (live.idle) return;
    live.idle = setTimeout(() => {
      live.idle = undefined;
      void this.serial(async () => {
        if (this.live.get(n.Id) === live && !live.idle && !this.endpointsOn(n.Id).length) await this.down(n);
      }).catch((e) => this.log((e as Error).message));
    }, this.opts.idleTeardownMs ?? 30_000);
    live.idle.unref();
  }

  private async down(n: NetworkRecord): Promise<void> {
    if (n.Driver !== 'bridge') return;
    const live = this.live.get(n.Id);
    clearTimeout(live?.idle);
    this.live.delete(n.Id);
    await live?.dns?.close();
    await this.firewall.removeNetwork(n.bridge, n.IPAM.Config[0]!.Subnet);
    await removeBridge(n.bridge);
  }

  private dnsRecords(n: NetworkRecord) {
    const suffix = `.${n.Name.toLowerCase()}`;
    const entries = () => this.endpointsOn(n.Id);
    return {
      lookup: (name: string): string[] | undefined => {
        const bare = name.endsWith(suffix) ? name.slice(0, -suffix.length) : name;
        const found: string[] = [];
        for (const [cid, c] of entries()) {
          const names = [c.name, ...(c.configured[n.Id]?.Aliases ?? [])].map((x) => x.toLowerCase());
          if (names.includes(bare) || (bare.length >= 12 && cid.startsWith(bare))) found.push(c.active[n.Id]!.address);
        }
        return found.length ? found : undefined;
      },
      reverse: (address: string): string | undefined => {
        const hit = entries().find(([, c]) => c.active[n.Id]?.address === address);
        return hit ? `${hit[1].name}${suffix}` : undefined;
      },
      upstreams: (client: string): string[] => {
        const hit = entries().find(([, c]) => c.active[n.Id]?.address === client);
        return upstreamServers(this.hostResolv ?? { nameservers: [], search: [], options: [] }, (hit && this.dnsSettings.get(hit[0])) || {}, true);
      },
    };
  }

  private hostResolv: ResolvConf | undefined;

  private async hostResolvConf(): Promise<ResolvConf> {
    const text = await readFile(this.opts.resolvConfPath ?? '/etc/resolv.conf', 'utf8').catch(() => '');
    this.hostResolv = parseResolvConf(text);
    return this.hostResolv;
  }

  private async saveContainers(): Promise<void> {
    await writeJsonAtomic(this.containersFile, this.containers);
  }
}

function stripSlash(name: string): string {
  return name.startsWith('/') ? name.slice(1) : name;
}

/** dockerd's classic MAC: 02:42 and the four address bytes. */
export function macFor(address: string): string {
  return ['02', '42', ...address.split('.').map((b) => Number(b).toString(16).padStart(2, '0'))].join(':');
}

function baseRecord(id: string, name: string, driver: NetworkRecord['Driver'], predefined: boolean): NetworkRecord {
  return {
    Name: name,
    Id: id,
    Created: new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z'),
    Scope: 'local',
    Driver: driver,
    EnableIPv4: true,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: [] },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Options: {},
    Labels: {},
    bridge: '',
    predefined,
    userSubnet: false,
  };
}

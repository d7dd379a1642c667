/**
 * Networks: the records (`docker network create|ls|inspect|rm|prune`) and
 * the containers' side (addresses, veths, names, /etc/hosts and
 * resolv.conf, published ports). What a record holds and how one is made
 * is network-records.ts's; a bridge's kernel state (up while containers use
 * it) bridge-lifecycle.ts's; what a user network's DNS answers
 * network-dns-records.ts's; what inspect and ps show endpoint-views.ts's.
 * Addresses are held from attach to detach, in the IPAM file.
 *
 * The engine calls, per container:
 *   configure(id, name, NetworkMode, EndpointsConfig)   at create (validates)
 *   attach(spec, pid) -> files                           in spawn's beforeStart
 *   detach(id)                                           when the process is gone
 *   forget(id)                                           at rm
 *   settings(id, exposed)                                for inspect and ps
 * All mutations run one at a time.
 */
import { readFile } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { forbidden, invalidParameter, isEngineError, notFound } from '../errors.js';
import { readJsonIfExists, writeJsonAtomic } from '../util/atomic-file.js';
import { trace } from '../util/trace.js';
import { BridgeLifecycle } from './bridge-lifecycle.js';
import {
  bridgeHostsFile,
  buildHostsFile,
  buildResolvConf,
  containerExtraHosts,
  hostsEntries,
  type DnsSettings,
  parseResolvConf,
  type ResolvConf,
  upstreamServers,
} from './container-files.js';
import { endpointSettings, type NetworkMember, networkMembers, portMap, portSummary } from './endpoint-views.js';
import type { HostControls } from './host-controls.js';
import { Ipam } from './ipam.js';
import { attachVeth, detachVeth } from './links.js';
import { networkDnsRecords } from './network-dns-records.js';
import { createPredefined, type CreateNetworkRequest, createUserNetwork, PREDEFINED } from './network-records.js';
import { NetworkStore } from './network-store.js';
import { configuredNetworks, linkTargets, newEndpoint, stripSlash, validateEndpoint } from './endpoint-rules.js';
import type {
  AttachResult,
  AttachSpec,
  ContainerNetworking,
  EndpointSettings,
  EndpointSettingsRequest,
  LinkTarget,
  NetworkRecord,
  PortMap,
} from './network-types.js';
import { type Proxy, publishPorts } from './port-proxy.js';
import { portRequests } from './port-spec.js';

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

export class NetworkService {
  private readonly store: NetworkStore;
  private ipam!: Ipam;
  private readonly bridges: BridgeLifecycle;
  private containers: Record<string, ContainerNetworking> = {};
  private readonly proxies = new Map<string, Proxy>();
  private readonly containersFile: string;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly log: (msg: string) => void;

  constructor(private readonly opts: NetworkServiceOptions) {
    this.store = new NetworkStore(opts.root);
    this.log = opts.log ?? ((m) => console.error(`berth-agent: network: ${m}`));
    this.bridges = new BridgeLifecycle({
      tag: opts.tag,
      store: this.store,
      ipam: () => this.ipam,
      endpointCount: (nid) => this.endpointsOn(nid).length,
      serial: (fn) => this.serial(fn),
      dnsRecords: (n) =>
        networkDnsRecords(
          n,
          () => this.endpointsOn(n.Id),
          (cid) => this.upstreamsOf(cid),
        ),
      log: this.log,
      idleTeardownMs: opts.idleTeardownMs,
      hostControls: opts.hostControls,
    });
    this.containersFile = join(opts.root, 'containers.json');
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
    for (const name of PREDEFINED) if (!this.store.byName(name)) await createPredefined(this.store, this.ipam, name, this.defaultBridgeName);
    for (const [id, c] of Object.entries(this.containers)) {
      if (isRunning(id)) continue;
      for (const ep of Object.values(c.active)) await detachVeth(ep.hostIf).catch(() => {});
      c.active = {};
    }
    await this.ipam.releaseUnless((nid, owner) => !!this.containers[owner]?.active[nid]);
    await this.saveContainers();
    for (const n of this.store.all()) {
      if (this.endpointsOn(n.Id).length) await this.bridges.up(n);
      else if (n.Driver === 'bridge') await this.bridges.down(n); // a crash may have left it
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
      for (const n of this.store.all()) await this.bridges.down(n).catch((e) => this.log((e as Error).message));
    });
  }

  // ---- records ----------------------------------------------------------

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.catch(() => {}).then(fn);
    this.queue = run;
    return run;
  }

  create(req: CreateNetworkRequest): Promise<{ Id: string; Warning: string }> {
    return this.serial(async () => {
      const id = await createUserNetwork(this.store, this.ipam, req);
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
  containersOn(networkId: string): Record<string, NetworkMember> {
    return networkMembers(networkId, this.containers);
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
      await this.bridges.down(rec);
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
      const { mode: netMode, configured } = configuredNetworks(mode, endpoints, (ref) => this.store.resolve(ref));
      this.containers[containerId] = { name: stripSlash(name), mode: netMode, configured, active: this.containers[containerId]?.active ?? {} };
      await this.saveContainers();
    });
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
      // The host's own files (dockerd copies them), with the container's extra entries.
      const hosts = await readFile('/etc/hosts', 'utf8').catch(() => buildHostsFile({}));
      const extra = containerExtraHosts(spec.extraHosts ?? [], '127.0.0.1', this.opts.hostGateway);
      return { hosts: hosts + hostsEntries(extra), resolvConf: buildResolvConf(host, dns), hostname: osHostname() };
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
    // dockerd ignores published ports without a bridge network (host, none).
    if (requests.length && first) this.proxies.set(spec.id, await publishPorts(requests, first.address));
    const userNet = bridges[0] && !bridges[0].predefined ? bridges[0] : undefined;
    return {
      hosts: bridgeHostsFile({
        hostname: spec.hostname,
        domainname: spec.domainname,
        extra: containerExtraHosts(spec.extraHosts ?? [], first?.gateway ?? '127.0.0.1', this.opts.hostGateway),
        links: linkTargets(spec.links ?? [], bridges[0], this.containers),
        address: first?.address,
      }),
      resolvConf: buildResolvConf(host, dns, userNet ? first!.gateway : undefined),
      hostname: spec.hostname,
    };
  }

  /** Before a start: the link targets on the container's own network, for the legacy link environment variables. */
  linkedContainers(containerId: string, links: string[]): LinkTarget[] {
    const c = this.containers[containerId];
    if (!links.length || !c) return [];
    const main = Object.keys(c.configured)
      .map((id) => this.store.get(id))
      .find((n) => n?.Name === c.mode && n.Driver === 'bridge');
    return linkTargets(links, main, this.containers);
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
    validateEndpoint(n, s);
    // Up first: a network's first container may move it to another subnet (see up()).
    const built = await this.bridges.up(n);
    trace(containerId, `network ${n.Name} up`);
    // The address file is written while the veth is made; both are awaited below.
    const { address, saved } = this.ipam.reserveAddress(n.Id, containerId, s.IPAMConfig?.IPv4Address || undefined);
    const ep = newEndpoint(n, containerId, address, s.MacAddress, `eth${Object.keys(c.active).length}`);
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
        address,
        prefix: ep.prefix,
        mac: ep.mac,
        defaultGateway: defaultRoute ? ep.gateway : undefined,
      }),
      built ? undefined : this.bridges.repairFirewall(n),
    ]);
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
    for (const nid of Object.keys(c.active)) {
      await this.unplug(containerId, c, nid, (e, hostIf) => this.log(`removing ${hostIf}: ${e.message}`));
      const n = this.store.get(nid);
      if (n && !this.endpointsOn(nid).length) this.bridges.downWhenIdle(n);
    }
    this.dnsSettings.delete(containerId);
    await this.saveContainers();
  }

  /**
   * Takes a container's endpoint on network `nid` out: its veth (a failure
   * to remove it goes to `vethFailed`, else it is thrown), then its address.
   */
  private async unplug(containerId: string, c: ContainerNetworking, nid: string, vethFailed?: (e: Error, hostIf: string) => void): Promise<void> {
    const ep = c.active[nid];
    if (!ep) return;
    await detachVeth(ep.hostIf).catch((e: Error) => {
      if (!vethFailed) throw e;
      vethFailed(e, ep.hostIf);
    });
    trace(containerId, 'veth removed');
    await this.ipam.releaseAddress(nid, ep.address);
    trace(containerId, 'address released');
    delete c.active[nid];
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
      validateEndpoint(n, settings);
      c.configured[n.Id] = settings;
      if (pid) {
        try {
          await this.plug(containerId, c, n, settings, pid, false, this.dnsSettings.get(containerId) ?? {});
        } catch (err) {
          delete c.configured[n.Id];
          await this.unplug(containerId, c, n.Id, () => {});
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
      if (c.active[n.Id]) {
        await this.unplug(containerId, c, n.Id);
        if (!this.endpointsOn(n.Id).length) this.bridges.downWhenIdle(n);
      }
      delete c.configured[n.Id];
      await this.saveContainers();
    });
  }

  // ---- containers: what inspect and ps show --------------------------------

  /** NetworkSettings.Networks: every configured network, with addresses while running. */
  endpoints(containerId: string): Record<string, EndpointSettings> {
    return endpointSettings(containerId, this.containers[containerId], (nid) => this.store.get(nid));
  }

  /** NetworkSettings.Ports: published bindings while running, exposed ports as null. */
  ports(containerId: string, exposed: Record<string, object> | undefined): PortMap {
    return portMap(exposed, this.proxies.get(containerId)?.ports ?? []);
  }

  /** Ports as `docker ps` lists them. */
  portSummary(containerId: string, exposed: Record<string, object> | undefined): ReturnType<typeof portSummary> {
    return portSummary(this.ports(containerId, exposed));
  }

  private endpointsOn(networkId: string): [string, ContainerNetworking][] {
    return Object.entries(this.containers).filter(([, c]) => c.active[networkId]);
  }

  private hostResolv: ResolvConf | undefined;

  /** The DNS servers a user network's DNS forwards container `cid`'s queries to. */
  private upstreamsOf(cid: string | undefined): string[] {
    return upstreamServers(this.hostResolv ?? { nameservers: [], search: [], options: [] }, (cid && this.dnsSettings.get(cid)) || {}, true);
  }

  private async hostResolvConf(): Promise<ResolvConf> {
    const text = await readFile(this.opts.resolvConfPath ?? '/etc/resolv.conf', 'utf8').catch(() => '');
    this.hostResolv = parseResolvConf(text);
    return this.hostResolv;
  }

  private async saveContainers(): Promise<void> {
    await writeJsonAtomic(this.containersFile, this.containers);
  }
}

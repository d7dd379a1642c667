/**
 * IP address management: one pool (subnet + gateway) per network and the
 * addresses handed out in it.
 *
 * Contract: an address is given to at most one owner at a time; `release`
 * makes it available again (lowest free address first, as dockerd). Every
 * change is written to one JSON file atomically before the call resolves,
 * so a restarted agent never hands out an address still in use.
 */
import { conflict, forbidden, invalidParameter, unavailable } from '../errors.js';
import { readJsonIfExists, writeJsonAtomic } from '../util/atomic-file.js';
import { contains, formatIp, formatSubnet, lastAddress, overlaps, parseIp, parseSubnet, size, type Subnet } from './cidr.js';

export interface PoolRecord {
  subnet: string;
  gateway: string;
  /** "a.b.c.d" -> owner (an endpoint id). The gateway is not listed. */
  addresses: Record<string, string>;
}

interface IpamFile {
  version: 1;
  pools: Record<string, PoolRecord>;
}

export interface PoolRequest {
  /** "192.168.10.0/24"; picked from the default pools when absent. */
  subnet?: string;
  /** Defaults to the first address of the subnet. */
  gateway?: string;
  /** Subnets the pick must avoid besides the other pools (the host's routes). */
  avoid?: Subnet[];
  /** Candidate subnets to pick from, in order (default: DEFAULT_POOLS). */
  candidates?: Subnet[];
}

/**
 * dockerd's default address pools: 172.17-31.0.0/16, then 192.168.0.0/16
 * cut into /20s.
 */
export const DEFAULT_POOLS: Subnet[] = [
  ...Array.from({ length: 15 }, (_, i) => parseSubnet(`172.${17 + i}.0.0/16`)),
  ...Array.from({ length: 16 }, (_, i) => parseSubnet(`192.168.${i * 16}.0/20`)),
];

export class Ipam {
  private constructor(
    private readonly file: string,
    private readonly state: IpamFile,
  ) {}

  static async open(file: string): Promise<Ipam> {
    const saved = await readJsonIfExists<IpamFile>(file);
    return new Ipam(file, saved ?? { version: 1, pools: {} });
  }

  pool(networkId: string): PoolRecord | undefined {
    return this.state.pools[networkId];
  }

  /** Reserves a subnet for a network; refuses one overlapping another network's. */
  async requestPool(networkId: string, req: PoolRequest): Promise<PoolRecord> {
    if (this.state.pools[networkId]) return this.state.pools[networkId];
    const taken = Object.values(this.state.pools).map((p) => parseSubnet(p.subnet));
    let subnet: Subnet;
    if (req.subnet) {
      subnet = parseSubnet(req.subnet);
      if (subnet.prefix > 30) throw invalidParameter(`invalid subnet ${req.subnet}: too small for a network, use a prefix of /30 or shorter`);
      if (taken.some((t) => overlaps(t, subnet))) {
        throw forbidden('invalid pool request: Pool overlaps with other one on this address space');
      }
    } else {
      const avoid = [...taken, ...(req.avoid ?? [])];
      const pick = (req.candidates ?? DEFAULT_POOLS).find((c) => !avoid.some((a) => overlaps(a, c)));
      if (!pick) {
        throw unavailable('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network; pass --subnet');
      }
      subnet = pick;
    }
    let gateway = (subnet.base + 1) >>> 0;
    if (req.gateway) {
      gateway = parseIp(req.gateway, 'gateway');
      if (!contains(subnet, gateway)) {
        throw invalidParameter(`invalid network config:\ninvalid gateway ${req.gateway}: parent subnet ${formatSubnet(subnet)} doesn't contain this address`);
      }
    }
    const pool: PoolRecord = { subnet: formatSubnet(subnet), gateway: formatIp(gateway), addresses: {} };
    this.state.pools[networkId] = pool;
    await this.save();
    return pool;
  }

  /**
   * Gives a network with no addresses handed out another default subnet,
   * away from `avoid`: its own was taken by someone else after it was picked.
   * The old pool stays if no other is free.
   */
  async repickPool(networkId: string, avoid: Subnet[]): Promise<PoolRecord> {
    const old = this.mustPool(networkId);
    if (Object.keys(old.addresses).length) throw conflict(`network ${networkId} has addresses in use: its subnet cannot change`);
    delete this.state.pools[networkId];
    try {
      return await this.requestPool(networkId, { avoid });
    } catch (err) {
      this.state.pools[networkId] = old;
      throw err;
    }
  }

  async releasePool(networkId: string): Promise<void> {
    if (!this.state.pools[networkId]) return;
    delete this.state.pools[networkId];
    await this.save();
  }

  /**
   * Gives an address of the network's pool to `owner`: `preferred` when
   * given (refused when outside the subnet or taken), else the lowest free one.
   * The same owner asking again gets its address back.
   */
  async requestAddress(networkId: string, owner: string, preferred?: string): Promise<string> {
    const { address, saved } = this.reserveAddress(networkId, owner, preferred);
    await saved;
    return address;
  }

  /**
   * requestAddress in two steps: the address is taken at once (no other
   * request can get it), and `saved` resolves when the file holds it, so a
   * caller can plumb the address meanwhile. Throws (synchronously) what
   * requestAddress rejects with.
   */
  reserveAddress(networkId: string, owner: string, preferred?: string): { address: string; saved: Promise<void> } {
    const pool = this.mustPool(networkId);
    const existing = Object.entries(pool.addresses).find(([, o]) => o === owner);
    if (existing && (!preferred || existing[0] === preferred)) return { address: existing[0], saved: Promise.resolve() };
    const subnet = parseSubnet(pool.subnet);
    let ip: number;
    if (preferred) {
      ip = parseIp(preferred);
      if (!contains(subnet, ip) || ip === subnet.base || ip === lastAddress(subnet)) {
        throw invalidParameter(`no configured subnet or ip-range contain the IP address ${preferred}`);
      }
      if (preferred === pool.gateway || pool.addresses[preferred]) {
        throw conflict(`Address already in use: ${preferred} is taken on this network; pick another --ip or leave it out`);
      }
    } else {
      const found = this.firstFree(pool, subnet);
      if (found === undefined) throw unavailable(`no available IPv4 addresses on this network's address pool (${pool.subnet})`);
      ip = found;
    }
    if (existing) delete pool.addresses[existing[0]];
    pool.addresses[formatIp(ip)] = owner;
    return { address: formatIp(ip), saved: this.save() };
  }

  async releaseAddress(networkId: string, address: string): Promise<void> {
    const pool = this.state.pools[networkId];
    if (!pool?.addresses[address]) return;
    delete pool.addresses[address];
    await this.save();
  }

  /** Takes back every address held by owners `keep` does not accept (after a restart). */
  async releaseUnless(keep: (networkId: string, owner: string) => boolean): Promise<void> {
    let changed = false;
    for (const [nid, pool] of Object.entries(this.state.pools)) {
      for (const [ip, owner] of Object.entries(pool.addresses)) {
        if (!keep(nid, owner)) {
          delete pool.addresses[ip];
          changed = true;
        }
      }
    }
    if (changed) await this.save();
  }

  private firstFree(pool: PoolRecord, subnet: Subnet): number | undefined {
    const end = subnet.base + size(subnet) - 1; // the broadcast address is never given
    for (let ip = subnet.base + 1; ip < end; ip++) {
      const text = formatIp(ip >>> 0);
      if (text !== pool.gateway && !pool.addresses[text]) return ip >>> 0;
    }
    return undefined;
  }

  private mustPool(networkId: string): PoolRecord {
    const pool = this.state.pools[networkId];
    if (!pool) throw invalidParameter(`network ${networkId} has no address pool`);
    return pool;
  }

  private saving: Promise<void> = Promise.resolve();

  /** Writes are serialized; each writes the state as it is when it runs. */
  private save(): Promise<void> {
    this.saving = this.saving.catch(() => {}).then(() => writeJsonAtomic(this.file, this.state));
    return this.saving;
  }
}

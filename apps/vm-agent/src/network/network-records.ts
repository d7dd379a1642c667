/**
 * What a network record holds and how one is made: the predefined ones
 * (bridge, host, none) and user bridges as `docker network create` makes
 * them, with dockerd's refusals of what Berth's networks do not have.
 */
import { randomBytes } from 'node:crypto';
import { conflict, forbidden, invalidParameter, notFound } from '../errors.js';
import { hostRoutedSubnets } from './host-tools.js';
import type { Ipam } from './ipam.js';
import type { NetworkStore } from './network-store.js';
import type { NetworkDriver, NetworkRecord } from './network-types.js';

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

export const PREDEFINED = ['bridge', 'host', 'none'] as const;

export type PredefinedNetwork = (typeof PREDEFINED)[number];

/** The subnet and gateway the IPAM gave a network. */
export interface Pool {
  subnet: string;
  gateway: string;
}

/**
 * A create request checked as dockerd checks it (`exists`: a network of that
 * name is there); the name and the one IPv4 subnet config asked for.
 */
function checkCreateRequest(req: CreateNetworkRequest, exists: (name: string) => boolean): { name: string; config: { Subnet?: string; Gateway?: string } } {
  const name = req.Name ?? '';
  if (!name) throw invalidParameter('network name is required: docker network create NAME');
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw invalidParameter(`invalid network name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  const driver = req.Driver || 'bridge';
  if (driver === 'host' || driver === 'null') throw forbidden(`only one instance of "${driver}" network is allowed`);
  if (driver !== 'bridge') throw notFound(`plugin "${driver}" not found: berth networks use the bridge driver`);
  if (exists(name)) throw conflict(`network with name ${name} already exists`);
  if (req.EnableIPv6) throw invalidParameter('IPv6 networks are not supported by berth yet: leave out --ipv6');
  const configs = req.IPAM?.Config ?? [];
  if (configs.length > 1) throw invalidParameter('berth networks have one IPv4 subnet: pass --subnet once');
  const cfg = configs[0] ?? {};
  if (cfg.Subnet && cfg.Subnet.includes(':')) throw invalidParameter('IPv6 subnets are not supported by berth yet');
  if (cfg.Gateway && !cfg.Subnet) throw invalidParameter('a gateway needs a subnet: pass --subnet with --gateway');
  if (cfg.IPRange) throw invalidParameter('--ip-range is not supported by berth yet: leave it out');
  return { name, config: cfg };
}

/** Makes a user bridge network (its subnet one no route on this host uses, unless given); returns its id. */
export async function createUserNetwork(store: NetworkStore, ipam: Ipam, req: CreateNetworkRequest): Promise<string> {
  const { name, config: cfg } = checkCreateRequest(req, (n) => !!store.byName(n));
  const id = randomBytes(32).toString('hex');
  const avoid = cfg.Subnet ? [] : await hostRoutedSubnets(new Set(store.all().map((n) => n.bridge)));
  const pool = await ipam.requestPool(id, { subnet: cfg.Subnet, gateway: cfg.Gateway, avoid });
  try {
    await store.save(userNetworkRecord(id, name, req, pool, !!cfg.Subnet));
  } catch (err) {
    await ipam.releasePool(id);
    throw err;
  }
  return id;
}

/** Makes a predefined network; the default bridge is `defaultBridge`, on a subnet no route on this host uses. */
export async function createPredefined(store: NetworkStore, ipam: Ipam, name: PredefinedNetwork, defaultBridge: string): Promise<void> {
  const id = randomBytes(32).toString('hex');
  let bridge: { name: string; pool: Pool } | undefined;
  if (name === 'bridge') {
    const avoid = await hostRoutedSubnets(new Set([defaultBridge]));
    bridge = { name: defaultBridge, pool: await ipam.requestPool(id, { avoid }) };
  }
  await store.save(predefinedRecord(id, name, bridge));
}

/** The record of a user bridge network from a checked request and its pool. */
function userNetworkRecord(id: string, name: string, req: CreateNetworkRequest, pool: Pool, userSubnet: boolean): NetworkRecord {
  const rec = baseRecord(id, name, 'bridge', false);
  rec.IPAM.Config = [{ Subnet: pool.subnet, Gateway: pool.gateway }];
  rec.IPAM.Options = req.IPAM?.Options ?? null;
  rec.Internal = req.Internal ?? false;
  rec.Attachable = req.Attachable ?? false;
  rec.Options = req.Options ?? {};
  rec.Labels = req.Labels ?? {};
  rec.bridge = rec.Options['com.docker.network.bridge.name'] || `br-${id.slice(0, 12)}`;
  rec.userSubnet = userSubnet;
  return rec;
}

/** The record of a predefined network; the default bridge (`bridge`, on `pool`) with dockerd's options. */
function predefinedRecord(id: string, name: PredefinedNetwork, bridge?: { name: string; pool: Pool }): NetworkRecord {
  const rec = baseRecord(id, name, name === 'bridge' ? 'bridge' : name === 'host' ? 'host' : 'null', true);
  if (bridge) {
    rec.IPAM.Config = [{ Subnet: bridge.pool.subnet, Gateway: bridge.pool.gateway }];
    rec.bridge = bridge.name;
    rec.Options = {
      'com.docker.network.bridge.default_bridge': 'true',
      'com.docker.network.bridge.enable_icc': 'true',
      'com.docker.network.bridge.enable_ip_masquerade': 'true',
      'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
      'com.docker.network.bridge.name': rec.bridge,
      'com.docker.network.driver.mtu': '1500',
    };
  }
  return rec;
}

function baseRecord(id: string, name: string, driver: NetworkDriver, predefined: boolean): NetworkRecord {
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

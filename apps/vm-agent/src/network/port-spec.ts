/**
 * What a container asks to publish, from its HostConfig.PortBindings,
 * PublishAllPorts and its Config.ExposedPorts, checked as dockerd checks
 * them. Pure, unit-tested.
 */
import { invalidParameter } from '../errors.js';
import { tryParseIp } from './cidr.js';

export type Proto = 'tcp' | 'udp';

/** One requested binding; hostPort range [from, to], 0-0 for a port the kernel picks. */
export interface PortRequest {
  containerPort: number;
  proto: Proto;
  /** "" for every address. */
  hostIp: string;
  hostPortFrom: number;
  hostPortTo: number;
}

/** Docker's PortBinding as the API carries it. */
export interface PortBinding {
  HostIp?: string;
  HostPort?: string;
}

export type PortBindings = Record<string, PortBinding[] | null>;

/** "80/tcp" -> [80, 'tcp']; "80" means tcp. */
export function parsePortKey(key: string): { port: number; proto: Proto } {
  const [num, proto = 'tcp'] = key.split('/');
  const port = Number(num);
  if (!/^\d+$/.test(num ?? '') || port < 1 || port > 65535) throw invalidParameter(`invalid port specification: "${key}"`);
  if (proto !== 'tcp' && proto !== 'udp') {
    throw invalidParameter(`invalid proto "${proto}" in port specification "${key}": berth publishes tcp and udp`);
  }
  return { port, proto };
}

function parseHostPort(text: string, key: string): [number, number] {
  if (text === '' || text === '0') return [0, 0];
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  const from = m ? Number(m[1]) : NaN;
  const to = m?.[2] ? Number(m[2]) : from;
  if (!m || from < 1 || to > 65535 || to < from)
    throw invalidParameter(`invalid host port "${text}" for ${key}: use a port from 1 to 65535 or a range like 8000-8010`);
  return [from, to];
}

/**
 * Everything to publish: each binding of PortBindings, plus, with
 * PublishAllPorts (`-P`), each exposed port not bound yet on a random port.
 */
export function portRequests(bindings: PortBindings | null | undefined, exposed: Record<string, object> | undefined, publishAll: boolean): PortRequest[] {
  const out: PortRequest[] = [];
  const seen = new Set<string>();
  for (const [key, list] of Object.entries(bindings ?? {})) {
    const { port, proto } = parsePortKey(key);
    seen.add(`${port}/${proto}`);
    for (const b of list ?? [{}]) {
      const hostIp = b.HostIp ?? '';
      if (hostIp !== '' && tryParseIp(hostIp) === undefined && hostIp !== '::') {
        throw invalidParameter(`invalid host IP "${hostIp}" for ${key}: berth publishes on IPv4 addresses (or "" for all)`);
      }
      const [from, to] = parseHostPort(b.HostPort ?? '', key);
      out.push({ containerPort: port, proto, hostIp: hostIp === '::' ? '' : hostIp, hostPortFrom: from, hostPortTo: to });
    }
  }
  if (publishAll) {
    for (const key of Object.keys(exposed ?? {})) {
      const { port, proto } = parsePortKey(key);
      if (seen.has(`${port}/${proto}`)) continue;
      out.push({ containerPort: port, proto, hostIp: '', hostPortFrom: 0, hostPortTo: 0 });
    }
  }
  return out;
}

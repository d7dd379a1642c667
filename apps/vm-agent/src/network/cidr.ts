/**
 * IPv4 addresses and subnets as unsigned 32-bit numbers: parsing with
 * dockerd's refusals, containment, overlap. Pure, unit-tested.
 */
import { invalidParameter } from '../errors.js';

export interface Subnet {
  /** The network address (host bits zero). */
  base: number;
  prefix: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The address as a number, or undefined when `text` is not a dotted-quad IPv4 address. */
export function tryParseIp(text: string): number | undefined {
  const m = IPV4.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function parseIp(text: string, what = 'IP address'): number {
  const ip = tryParseIp(text);
  if (ip === undefined) throw invalidParameter(`invalid ${what}: ${JSON.stringify(text)} is not an IPv4 address`);
  return ip;
}

export function formatIp(ip: number): string {
  return [ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].join('.');
}

export function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/**
 * "192.168.10.0/24". Host bits set ("192.168.10.7/24") are cleared, as
 * dockerd does when it stores the pool.
 */
export function parseSubnet(text: string): Subnet {
  const slash = text.indexOf('/');
  const ip = slash < 0 ? undefined : tryParseIp(text.slice(0, slash));
  const prefixText = slash < 0 ? '' : text.slice(slash + 1);
  const prefix = /^\d{1,2}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (ip === undefined || !(prefix >= 0 && prefix <= 32)) {
    throw invalidParameter(`invalid CIDR address: ${text}`);
  }
  return { base: (ip & mask(prefix)) >>> 0, prefix };
}

export function formatSubnet(s: Subnet): string {
  return `${formatIp(s.base)}/${s.prefix}`;
}

export function size(s: Subnet): number {
  return 2 ** (32 - s.prefix);
}

export function contains(s: Subnet, ip: number): boolean {
  return (ip & mask(s.prefix)) >>> 0 === s.base;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return (a.base & mask(p)) >>> 0 === (b.base & mask(p)) >>> 0;
}

/** The broadcast address (last in the subnet). */
export function lastAddress(s: Subnet): number {
  return (s.base + size(s) - 1) >>> 0;
}

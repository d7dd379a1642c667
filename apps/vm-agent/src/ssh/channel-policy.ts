/**
 * What the SSH link may connect to inside the guest.
 *
 * - `direct-streamlocal@openssh.com`: only the engine's socket, by its exact
 *   path (after normalising); nothing else on the guest's filesystem.
 * - `direct-tcpip` (port forwarding): only the guest itself: a loopback
 *   address (127.0.0.0/8, ::1, `localhost`) or an address assigned to one of
 *   the guest's interfaces. The engine publishes every port on the guest's
 *   HostIp (0.0.0.0 or a specific address), so a published port is always
 *   reachable on the guest's loopback, which is what the host's forwarder
 *   dials; container addresses (reachable only through a bridge) and the
 *   rest of the network are refused, so the link cannot be used as a proxy
 *   into the user's LAN or the containers' private addresses. Host names other
 *   than `localhost` are refused (no DNS from here).
 */
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { posix } from 'node:path';

export function allowStreamLocal(requested: string, engineSocket: string): boolean {
  if (!requested.startsWith('/')) return false;
  return posix.normalize(requested) === posix.normalize(engineSocket);
}

/** The guest's own addresses right now (interfaces come and go with container networks). */
export function localAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(a.address);
  return out;
}

/** The address to dial for an allowed destination, or undefined when refused. */
export function allowTcpDestination(host: string, port: number, local: ReadonlySet<string>): string | undefined {
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (h.toLowerCase() === 'localhost') return '127.0.0.1';
  const family = isIP(h);
  if (family === 4) return h.startsWith('127.') || local.has(h) ? h : undefined;
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(h)?.[1];
    if (mapped) return allowTcpDestination(mapped, port, local);
    return h === '::1' || local.has(h) ? h : undefined;
  }
  return undefined;
}

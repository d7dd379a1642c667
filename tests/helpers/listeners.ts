/**
 * Which sockets a process listens on: every listening TCP socket and bound,
 * unconnected UDP socket in /proc/net/{tcp,udp}{,6} whose inode is one of
 * the process's fds. The exposure tests check these are loopback.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface Listener {
  proto: 'tcp' | 'udp';
  addr: string;
  port: number;
  inode: string;
}

/** An address as /proc/net prints it (little-endian 32-bit words) in the usual notation; v4-mapped v6 as v4. */
function procAddr(hexAddr: string): string {
  const bytes = Buffer.from(hexAddr, 'hex');
  for (let i = 0; i < bytes.length; i += 4) bytes.subarray(i, i + 4).reverse();
  if (bytes.length === 4) return [...bytes].join('.');
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return [...bytes.subarray(12)].join('.');
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

/** Every listening TCP socket and bound, unconnected UDP socket of this network namespace. */
function listeners(): Listener[] {
  const out: Listener[] = [];
  for (const [file, proto, state] of [
    ['tcp', 'tcp', '0A'],
    ['tcp6', 'tcp', '0A'],
    ['udp', 'udp', '07'],
    ['udp6', 'udp', '07'],
  ] as const) {
    for (const line of readFileSync(`/proc/net/${file}`, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== state) continue;
      const [addr, port] = f[1]!.split(':');
      out.push({ proto, addr: procAddr(addr!), port: parseInt(port!, 16), inode: f[9]! });
    }
  }
  return out;
}

/** PIDs whose command line holds every one of `parts`. */
export function pidsWith(...parts: string[]): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        const cmd = readFileSync(`/proc/${n}/cmdline`, 'utf8');
        return parts.every((p) => cmd.includes(p));
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** The listeners whose socket is one of `pid`'s fds. */
export function listenersOf(pid: number): Listener[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return listeners().filter((l) => inodes.has(l.inode));
}

export const isLoopback = (addr: string) => addr.startsWith('127.') || addr === '::1';

/** `tcp 127.0.0.1:8080`, `udp [::1]:53`. */
export const showListener = (l: Listener) => `${l.proto} ${l.addr.includes(':') ? `[${l.addr}]` : l.addr}:${l.port}`;

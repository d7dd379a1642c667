/**
 * The embedded DNS server of a user network, listening on its gateway
 * address (UDP and TCP port 53) in the host's namespace: it answers the
 * names of the network's containers (name, aliases, short id) and their
 * reverse lookups, and forwards every other question, untouched, to the
 * client container's --dns servers or the host's resolvers.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect as tcpConnect, createServer, type Server, type Socket } from 'node:net';
import {
  type Answer,
  DnsFormatError,
  encodeFormatError,
  encodeResponse,
  parseQuery,
  RCODE_NOERROR,
  RCODE_NXDOMAIN,
  RCODE_SERVFAIL,
  TYPE_A,
  TYPE_PTR,
} from './dns-packet.js';

export interface DnsRecords {
  /** The addresses of a name on this network (lower-case, no trailing dot); undefined when not ours. */
  lookup(name: string): string[] | undefined;
  /** The name of a container address ("web.br1"), for PTR. */
  reverse(address: string): string | undefined;
  /** Servers to forward to for a query from `client` (an address on the network). */
  upstreams(client: string): string[];
}

const TTL = 600;
const FORWARD_TIMEOUT_MS = 2000;
const MAX_TCP_MESSAGE = 65535;

export class EmbeddedDns {
  private udp?: UdpSocket;
  private tcp?: Server;
  private readonly conns = new Set<Socket>();

  constructor(
    readonly address: string,
    private readonly records: DnsRecords,
    private readonly log: (msg: string) => void = () => {},
  ) {}

  async start(port = 53): Promise<void> {
    const udp = createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, this.address, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    udp.on('error', (err) => this.log(`dns ${this.address}: ${err.message}`));
    udp.on('message', (msg, rinfo) => {
      void this.answer(msg, rinfo.address, 'udp').then((out) => {
        if (out) udp.send(out, rinfo.port, rinfo.address);
      });
    });
    this.udp = udp;
    const tcp = createServer((sock) => this.serveTcp(sock));
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, this.address, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      udp.close();
      this.udp = undefined;
      throw err;
    }
    this.tcp = tcp;
  }

  async close(): Promise<void> {
    this.udp?.close();
    this.udp = undefined;
    for (const c of this.conns) c.destroy();
    const tcp = this.tcp;
    this.tcp = undefined;
    if (tcp) await new Promise((r) => tcp.close(r));
  }

  /** The reply to one message: local answer, forwarded answer, or an error. */
  async answer(msg: Buffer, client: string, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    let q;
    try {
      q = parseQuery(msg);
    } catch (err) {
      if (err instanceof DnsFormatError) return encodeFormatError(msg);
      throw err;
    }
    const { name, type } = q.question;
    if (q.standard && type === TYPE_PTR && name.endsWith('.in-addr.arpa')) {
      const address = name.slice(0, -'.in-addr.arpa'.length).split('.').reverse().join('.');
      const target = this.records.reverse(address);
      if (target) return encodeResponse(msg, q, RCODE_NOERROR, [{ name, type: TYPE_PTR, ttl: TTL, target }]);
    }
    const ours = q.standard ? this.records.lookup(name) : undefined;
    if (ours) {
      // A name we own: A records, and an empty NOERROR for other types (AAAA), so resolvers do not give up.
      const answers: Answer[] = type === TYPE_A ? ours.map((address) => ({ name, type: TYPE_A, ttl: TTL, address })) : [];
      return encodeResponse(msg, q, RCODE_NOERROR, answers);
    }
    for (const server of this.records.upstreams(client)) {
      try {
        return transport === 'udp' ? await forwardUdp(msg, server) : await forwardTcp(msg, server);
      } catch (err) {
        this.log(`dns ${this.address}: forwarding ${name} to ${server}: ${(err as Error).message}`);
      }
    }
    return encodeResponse(msg, q, this.records.upstreams(client).length ? RCODE_SERVFAIL : RCODE_NXDOMAIN);
  }

  private serveTcp(sock: Socket): void {
    this.conns.add(sock);
    sock.on('close', () => this.conns.delete(sock));
    sock.on('error', () => {});
    sock.setTimeout(10_000, () => sock.destroy());
    let pending = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        const msg = pending.subarray(2, 2 + len);
        pending = pending.subarray(2 + len);
        void this.answer(Buffer.from(msg), sock.remoteAddress ?? '', 'tcp').then((out) => {
          if (out && !sock.destroyed) sock.write(Buffer.concat([lengthPrefix(out.length), out]));
        });
      }
    });
  }
}

function lengthPrefix(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(Math.min(n, MAX_TCP_MESSAGE));
  return b;
}

/** One query to `server`:53 over UDP from a fresh socket (a random source port each time). */
function forwardUdp(msg: Buffer, server: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(server.includes(':') ? 'udp6' : 'udp4');
    const done = (err?: Error, reply?: Buffer) => {
      clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(() => done(new Error('no answer in time')), FORWARD_TIMEOUT_MS);
    sock.on('error', (err) => done(err));
    sock.on('message', (reply) => {
      // Only the reply to this query (same id) counts.
      if (reply.length >= 2 && reply.readUInt16BE(0) === msg.readUInt16BE(0)) done(undefined, reply);
    });
    sock.send(msg, 53, server);
  });
}

function forwardTcp(msg: Buffer, server: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = tcpConnect(53, server);
    let got = Buffer.alloc(0);
    sock.setTimeout(FORWARD_TIMEOUT_MS, () => sock.destroy(new Error('no answer in time')));
    sock.on('error', reject);
    sock.on('connect', () => sock.write(Buffer.concat([lengthPrefix(msg.length), msg])));
    sock.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) {
        sock.destroy();
        resolve(got.subarray(2, 2 + got.readUInt16BE(0)));
      }
    });
    sock.on('close', () => reject(new Error('connection closed before the answer')));
  });
}

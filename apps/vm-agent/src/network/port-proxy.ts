/**
 * Published ports as a userland proxy (docker-proxy's job, in the agent):
 * a listener on the host address relays each TCP connection, or each UDP
 * client's datagrams, to the container's address on its network.
 *
 * The same code serves the native mode and the VM, where main forwards the
 * host's ports to the guest's. A port in use fails the bind with Docker
 * Desktop's wording, and `publishPorts` either opens every listener or none.
 *
 * The container sees connections coming from its network's gateway address
 * (the proxy connects from the host's namespace), not the remote client's.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { EngineError, systemError } from '../errors.js';
import type { PortRequest, Proto } from './port-spec.js';

/** A binding as dockerd reports it (NetworkSettings.Ports, `docker port`). */
export interface PublishedPort {
  containerPort: number;
  proto: Proto;
  /** "0.0.0.0" or "::" for every address. */
  hostIp: string;
  hostPort: number;
}

export interface Proxy {
  ports: PublishedPort[];
  close(): Promise<void>;
}

const UDP_IDLE_MS = 90_000;
const UDP_MAX_CLIENTS = 4096;

let ipv6Usable: boolean | undefined;

/** Can we bind "::" (dual stack)? Kernels without IPv6 (some VM images) cannot. */
async function hasIpv6(): Promise<boolean> {
  if (ipv6Usable !== undefined) return ipv6Usable;
  const srv = createServer();
  ipv6Usable = await new Promise<boolean>((resolve) => {
    srv.once('error', () => resolve(false));
    srv.listen(0, '::', () => resolve(true));
  });
  srv.close();
  return ipv6Usable;
}

function portsNotAvailable(proto: Proto, hostIp: string, port: number, err: NodeJS.ErrnoException): EngineError {
  const why = err.code === 'EADDRINUSE' ? 'address already in use' : err.code === 'EACCES' ? 'permission denied' : err.code === 'EADDRNOTAVAIL' ? 'cannot assign requested address' : err.message;
  const addr = `${hostIp}:${port}`;
  const listen = proto === 'tcp' ? `listen tcp ${addr}` : `listen udp ${addr}`;
  return systemError(`Ports are not available: exposing port ${proto.toUpperCase()} ${addr} -> ${hostIp}:0: ${listen}: bind: ${why}`, err);
}

function listenTcp(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, ipv6Only: false, backlog: 1024 }, () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}

/** Bytes read per syscall when relaying: larger than Node's 64 KiB default, so bulk transfers cross into JS less often. */
const RELAY_READ_BYTES = 512 * 1024;

/**
 * Copies what `from` reads to `to`, pausing `from` while `to` is full.
 * Reads go into one buffer shared by every connection (the `onread`
 * option): the callback runs synchronously after each read and copies the
 * chunk out before writing, since a write may complete later.
 */
const relayBuffer = Buffer.allocUnsafe(RELAY_READ_BYTES);

function readInto(to: () => Socket | undefined) {
  return {
    buffer: relayBuffer,
    callback(this: Socket, n: number, buf: Buffer): boolean {
      const dest = to();
      if (!dest || dest.destroyed) return false;
      const ok = dest.write(Buffer.from(buf.subarray(0, n)));
      if (!ok) {
        dest.once('drain', () => this.resume());
        return false;
      }
      return true;
    },
  };
}

/** Relays one accepted connection to target:port; whichever side fails, both close. */
function relayTcp(client: Socket, target: string, port: number): void {
  const upstream = connect({ host: target, port, allowHalfOpen: true, noDelay: true, onread: readInto(() => client) });
  client.setNoDelay(true);
  client.on('data', (chunk: Buffer) => {
    if (!upstream.write(chunk)) {
      client.pause();
      upstream.once('drain', () => client.resume());
    }
  });
  // Half-closes travel: an end on one side ends the other's writing.
  client.on('end', () => upstream.end());
  upstream.on('end', () => client.end());
  const fail = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', fail);
  upstream.on('error', fail);
  client.on('close', () => upstream.destroySoon?.());
  upstream.on('close', () => client.destroySoon?.());
}

async function openTcp(req: PortRequest, target: string, bindHost: string, port: number): Promise<{ port: number; close(): Promise<void> }> {
  const conns = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    conns.add(client);
    client.on('close', () => conns.delete(client));
    relayTcp(client, target, req.containerPort);
  });
  const bound = await listenTcp(server, bindHost, port);
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of conns) c.destroy();
        server.close(() => resolve());
      }),
  };
}

async function openUdp(req: PortRequest, target: string, bindHost: string, port: number): Promise<{ port: number; close(): Promise<void> }> {
  const sock = createSocket({ type: bindHost.includes(':') ? 'udp6' : 'udp4', ipv6Only: false });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, bindHost, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  // One upstream socket per client, so replies find their way back.
  const clients = new Map<string, { up: UdpSocket; timer: NodeJS.Timeout }>();
  const drop = (key: string) => {
    const c = clients.get(key);
    if (!c) return;
    clearTimeout(c.timer);
    c.up.close();
    clients.delete(key);
  };
  sock.on('error', () => {});
  sock.on('message', (msg: Buffer, from: RemoteInfo) => {
    const key = `${from.address}|${from.port}`;
    let c = clients.get(key);
    if (!c) {
      if (clients.size >= UDP_MAX_CLIENTS) drop(clients.keys().next().value!);
      const up = createSocket('udp4');
      up.on('error', () => drop(key));
      up.on('message', (reply) => {
        sock.send(reply, from.port, from.address);
        const entry = clients.get(key);
        entry?.timer.refresh();
      });
      up.connect(req.containerPort, target);
      c = { up, timer: setTimeout(() => drop(key), UDP_IDLE_MS) };
      clients.set(key, c);
    } else c.timer.refresh();
    const { up } = c;
    // Datagrams that arrive before connect() finishes are sent once it has.
    const send = () => up.send(msg, (err) => err && drop(key));
    try {
      up.remoteAddress();
      send();
    } catch {
      up.once('connect', send);
    }
  });
  return {
    port: (sock.address() as { port: number }).port,
    close: async () => {
      for (const key of [...clients.keys()]) drop(key);
      await new Promise<void>((r) => sock.close(() => r()));
    },
  };
}

/**
 * Opens one listener per request, relaying to `target`. A request with a
 * host port range takes the first free port in it; 0-0 lets the kernel pick.
 * All or nothing: on a failure the listeners already open are closed and
 * the error says which port could not be bound.
 */
export async function publishPorts(requests: PortRequest[], target: string): Promise<Proxy> {
  const opened: { close(): Promise<void> }[] = [];
  const ports: PublishedPort[] = [];
  const dual = await hasIpv6();
  try {
    for (const req of requests) {
      const bindHost = req.hostIp || (dual ? '::' : '0.0.0.0');
      const shownIp = req.hostIp || '0.0.0.0';
      let lastErr: NodeJS.ErrnoException | undefined;
      let done = false;
      for (let p = req.hostPortFrom; p <= req.hostPortTo; p++) {
        try {
          const l = req.proto === 'tcp' ? await openTcp(req, target, bindHost, p) : await openUdp(req, target, bindHost, p);
          opened.push(l);
          ports.push({ containerPort: req.containerPort, proto: req.proto, hostIp: shownIp, hostPort: l.port });
          if (!req.hostIp && dual) ports.push({ containerPort: req.containerPort, proto: req.proto, hostIp: '::', hostPort: l.port });
          done = true;
          break;
        } catch (err) {
          lastErr = err as NodeJS.ErrnoException;
          if (lastErr.code !== 'EADDRINUSE') break;
        }
      }
      if (!done) throw portsNotAvailable(req.proto, shownIp, req.hostPortTo, lastErr!);
    }
  } catch (err) {
    await Promise.all(opened.map((l) => l.close()));
    throw err;
  }
  return { ports, close: async () => void (await Promise.all(opened.map((l) => l.close()))) };
}

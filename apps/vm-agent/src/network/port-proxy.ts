/**
 * Published ports as a userland proxy (docker-proxy's job, in the agent):
 * a listener on the host address relays each TCP connection, or each UDP
 * client's datagrams, to the container's address on its network.
 *
 * TCP is listened on, accepted and relayed by the addon's threads (splice,
 * in the kernel); UDP datagrams by Node. The same code serves the native
 * mode and the VM, where main forwards the host's ports to the guest's. A
 * port in use fails the bind with Docker Desktop's wording, and
 * `publishPorts` either opens every listener or none.
 *
 * The container sees connections coming from its network's gateway address
 * (the proxy connects from the host's namespace), not the remote client's.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { portsNotAvailable } from '@berth/protocol';
import { systemError } from '../errors.js';
import { relayCloseGroup, relayTcpListen } from '../runtime/native.js';
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

/** Names each TCP listener in the relay, so closing it closes its connections. */
let nextGroup = 1;

/**
 * TCP is served by the addon's kernel relay (runtime/native.ts
 * `relayTcpListen`): its threads listen, accept and splice(2) the bytes, so
 * they never enter JavaScript and no JavaScript runs per connection, as with
 * docker-proxy, whose Go copy loop splices too. Bind errors arrive as system
 * errors (EADDRINUSE, ...) like Node's.
 */
async function openTcp(req: PortRequest, target: string, bindHost: string, port: number): Promise<{ port: number; close(): Promise<void> }> {
  const group = nextGroup++ >>> 0;
  const bound = relayTcpListen(bindHost, port, target, req.containerPort, group);
  return { port: bound, close: async () => void relayCloseGroup(group) };
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
      if (!done) throw systemError(portsNotAvailable({ proto: req.proto, hostIp: shownIp, hostPort: req.hostPortTo }, lastErr!), lastErr!);
    }
  } catch (err) {
    await Promise.all(opened.map((l) => l.close()));
    throw err;
  }
  return { ports, close: async () => void (await Promise.all(opened.map((l) => l.close()))) };
}

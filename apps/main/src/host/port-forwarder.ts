/**
 * Keeps a host listener for every port the engine publishes and relays each
 * accepted connection over the link (`direct-tcpip`) to the same port on the
 * guest's loopback, where the agent's own port proxy listens.
 *
 * How it stays in step: it follows `GET /events` (container start, die,
 * stop, kill, destroy, pause/unpause; network connect/disconnect) and, 50 ms after the
 * last such event, lists the running containers (`GET /containers/json`,
 * whose `Ports` are the published bindings) and applies the difference
 * (port-bindings.ts). On every (re)connect of the link it follows the events
 * again and re-syncs, so nothing is missed while the link was down.
 *
 * `reserve()` is the start gate's half: the host socket calls it before
 * forwarding a container start, so a host port that is taken fails the
 * start with dockerd's `Ports are not available: ...` and nothing is left
 * bound. A reserved listener is kept for `RESERVE_MS` while its container is
 * not (yet) running; the sync after the start event adopts it.
 *
 * The host address is the one the engine reports (127.0.0.1 for
 * `-p 127.0.0.1:8080:80`, 0.0.0.0 for `-p 8080:80`), unless `hostAddress`
 * maps it (tests run the agent natively on the same machine, where the
 * agent's own listener already holds that address).
 *
 * UDP: SSH has no datagram channel, so a UDP publication gets a host UDP
 * socket and, per host peer (address and port), one `exec` channel running
 * the agent's `berth-udp-relay 127.0.0.1 PORT`, which carries length-prefixed
 * datagrams both ways (see listenUdpRelay; the command and the framing are
 * @berth/protocol's, which the agent speaks too). A peer idle for
 * UDP_IDLE_MS loses its channel; its next datagram opens a new one.
 */
import { createSocket } from 'node:dgram';
import { createServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { VmLink } from '../link/vm-link.js';
import { linkEngine } from '../link/link-http.js';
import { LineSplitter, type Port } from '@berth/api';
import { datagramDecoder, frameDatagram, portsNotAvailable, udpRelayCommand } from '@berth/protocol';
import { engineJson, engineOpen } from '../util/engine-client.js';
import { bindingKey, desiredBindings, planListeners, type HostBinding } from './port-bindings.js';

const RESERVE_MS = 15_000;
const SYNC_DELAY_MS = 50;
const UDP_IDLE_MS = 60_000;
const EVENT_ACTIONS = new Set(['start', 'die', 'stop', 'kill', 'destroy', 'pause', 'unpause', 'restart', 'connect', 'disconnect']);

export interface PortForwarderOptions {
  link: VmLink;
  /** The host address to bind for an engine HostIp (default: the same). */
  hostAddress?: (hostIp: string) => string;
  log?: (message: string) => void;
}

interface Active {
  binding: HostBinding;
  /** Stops listening and ends every relayed connection or peer. */
  close(): Promise<void>;
  reservedUntil?: number;
}

export class PortForwarder {
  readonly #link: VmLink;
  readonly #hostAddress: (ip: string) => string;
  readonly #log: (m: string) => void;
  readonly #active = new Map<string, Active>();
  /** Keys that failed to bind, so each failure is logged once. */
  readonly #failed = new Set<string>();
  #stopped = false;
  #syncTimer: NodeJS.Timeout | undefined;
  #syncing: Promise<void> | undefined;
  #again = false;
  #events: import('node:http').IncomingMessage | undefined;
  readonly #onReady = () => this.#follow();

  constructor(opts: PortForwarderOptions) {
    this.#link = opts.link;
    this.#hostAddress = opts.hostAddress ?? ((ip) => ip);
    this.#log = opts.log ?? ((m) => console.error(m));
  }

  start(): void {
    this.#link.on('ready', this.#onReady);
    if (this.#link.state === 'ready') this.#follow();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#link.off('ready', this.#onReady);
    clearTimeout(this.#syncTimer);
    this.#events?.destroy();
    await this.#syncing?.catch(() => {});
    await Promise.all([...this.#active.keys()].map((k) => this.#close(k)));
  }

  /** The host listeners now, as `proto/hostIp/hostPort` keys. */
  listening(): string[] {
    return [...this.#active.keys()];
  }

  /**
   * Binds the host listeners a container start needs (those not held yet).
   * All or nothing: on the first failure the ones bound here are closed and
   * it throws dockerd's `Ports are not available: ...` message.
   */
  async reserve(bindings: HostBinding[]): Promise<void> {
    const bound: string[] = [];
    for (const b of bindings) {
      const key = bindingKey(b);
      const held = this.#active.get(key);
      if (held && held.binding.containerId === b.containerId) continue;
      if (held) await this.#close(key); // a stopped container's leftover; the sync would drop it
      try {
        await this.#open(b, Date.now() + RESERVE_MS);
        bound.push(key);
      } catch (err) {
        await Promise.all(bound.map((k) => this.#close(k)));
        throw new Error(portsNotAvailable(b, err as NodeJS.ErrnoException));
      }
    }
    if (bound.length) setTimeout(() => this.#schedule(), RESERVE_MS + 10).unref();
  }

  /** Lists the containers and applies the difference now (also after each event burst). */
  sync(): Promise<void> {
    if (this.#syncing) {
      this.#again = true;
      return this.#syncing;
    }
    this.#syncing = (async () => {
      do {
        this.#again = false;
        await this.#syncOnce().catch((err: Error) => this.#log(`port forwarder: cannot list containers: ${err.message}`));
      } while (this.#again && !this.#stopped);
    })().finally(() => (this.#syncing = undefined));
    return this.#syncing;
  }

  async #syncOnce(): Promise<void> {
    const { body } = await engineJson<{ Id: string; Ports?: Port[] }[]>(linkEngine(this.#link), {
      method: 'GET',
      path: '/containers/json',
      timeoutMs: 30_000,
    });
    if (this.#stopped) return;
    const desired = desiredBindings(body);
    const now = Date.now();
    const current = new Map([...this.#active].map(([k, a]) => [k, a.binding]));
    const keep = new Set([...this.#active].filter(([, a]) => (a.reservedUntil ?? 0) > now).map(([k]) => k));
    const plan = planListeners(current, desired, keep);
    for (const key of plan.remove) await this.#close(key);
    for (const b of plan.add) {
      const key = bindingKey(b);
      try {
        await this.#open(b);
        this.#failed.delete(key);
      } catch (err) {
        if (!this.#failed.has(key)) this.#log(`port forwarder: ${portsNotAvailable(b, err as NodeJS.ErrnoException)}`);
        this.#failed.add(key);
      }
    }
    // A running container's reservation has been adopted.
    for (const b of desired) {
      const a = this.#active.get(bindingKey(b));
      if (a && a.binding.containerId === b.containerId) delete a.reservedUntil;
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    clearTimeout(this.#syncTimer);
    this.#syncTimer = setTimeout(() => void this.sync(), SYNC_DELAY_MS);
  }

  /** Follows the event stream of the current connection, then syncs. */
  #follow(): void {
    if (this.#stopped) return;
    this.#events?.destroy();
    const filters = encodeURIComponent(JSON.stringify({ type: ['container', 'network'] }));
    engineOpen(linkEngine(this.#link), { method: 'GET', path: `/events?filters=${filters}`, timeoutMs: 10_000 }).then(
      (res) => {
        if (this.#stopped) return void res.destroy();
        this.#events = res;
        const lines = new LineSplitter();
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          for (const line of lines.push(chunk)) {
            try {
              const ev = JSON.parse(line) as { Action?: string; status?: string };
              const action = (ev.Action ?? ev.status ?? '').split(':')[0]!;
              if (EVENT_ACTIONS.has(action)) this.#schedule();
            } catch {
              // not an event line: ignore
            }
          }
        });
        res.on('error', () => {}); // the link lost: its 'ready' follows again
        this.#schedule();
      },
      (err: Error) => {
        this.#log(`port forwarder: cannot follow engine events: ${err.message}`);
        // Retry while the link is up; a reconnect calls #follow itself.
        if (this.#link.state === 'ready') setTimeout(() => this.#follow(), 1000).unref();
      },
    );
  }

  async #open(b: HostBinding, reservedUntil?: number): Promise<void> {
    const close = b.proto === 'udp' ? await this.#openUdp(b) : await this.#openTcp(b);
    this.#active.set(bindingKey(b), { binding: b, close, ...(reservedUntil ? { reservedUntil } : {}) });
  }

  #openUdp(b: HostBinding): Promise<() => Promise<void>> {
    const guestHost = b.hostIp.includes(':') ? '::1' : '127.0.0.1';
    return listenUdpRelay({
      address: this.#hostAddress(b.hostIp),
      port: b.hostPort,
      openRelay: () => this.#link.exec(udpRelayCommand(guestHost, b.hostPort)),
      log: (m) => this.#log(`port forwarder: ${bindingKey(b)}: ${m}`),
    });
  }

  async #openTcp(b: HostBinding): Promise<() => Promise<void>> {
    const sockets = new Set<Socket>();
    const guestHost = b.hostIp.includes(':') ? '::1' : '127.0.0.1';
    const server = createServer({ noDelay: true }, (sock) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
      sock.on('error', () => {});
      sock.pause();
      this.#link.openTcp(guestHost, b.hostPort).then(
        (channel) => {
          if (sock.destroyed) return void channel.destroy();
          sock.pipe(channel);
          channel.pipe(sock);
          channel.on('error', () => sock.destroy());
          channel.on('close', () => sock.end());
          sock.on('close', () => channel.destroy());
          sock.resume();
        },
        () => sock.destroy(),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.#hostAddress(b.hostIp), port: b.hostPort, ipv6Only: b.hostIp === '::' ? false : undefined }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.#log(`port forwarder: ${bindingKey(b)}: ${err.message}`));
    return async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    };
  }

  async #close(key: string): Promise<void> {
    const a = this.#active.get(key);
    if (!a) return;
    this.#active.delete(key);
    await a.close();
  }
}

export interface UdpRelayOptions {
  address: string;
  port: number;
  /** Opens one relay channel to the guest's published UDP port (the agent's `berth-udp-relay`). */
  openRelay: () => Promise<Duplex>;
  log: (message: string) => void;
  /** A peer silent this long loses its channel (default 60 s). */
  idleMs?: number;
}

/**
 * A host UDP socket relaying each peer's datagrams over its own channel, and
 * the channel's datagrams back to that peer. Binding fails (EADDRINUSE...) as
 * the returned promise's rejection; resolves with the function that closes it.
 */
export async function listenUdpRelay(opts: UdpRelayOptions): Promise<() => Promise<void>> {
  const idleMs = opts.idleMs ?? UDP_IDLE_MS;
  const socket = createSocket({ type: opts.address.includes(':') ? 'udp6' : 'udp4', ipv6Only: false });
  interface Peer {
    channel?: Duplex;
    queued: Buffer[];
    lastSeen: number;
  }
  const peers = new Map<string, Peer>();
  const drop = (key: string) => {
    const p = peers.get(key);
    peers.delete(key);
    p?.channel?.destroy();
  };
  socket.on('message', (msg, rinfo) => {
    const key = `${rinfo.address}|${rinfo.port}`;
    let peer = peers.get(key);
    if (!peer) {
      const p: Peer = { queued: [], lastSeen: 0 };
      peers.set(key, (peer = p));
      opts.openRelay().then(
        (channel) => {
          if (peers.get(key) !== p) return void channel.destroy();
          p.channel = channel;
          channel.on(
            'data',
            datagramDecoder((d) => socket.send(d, rinfo.port, rinfo.address)),
          );
          channel.on('error', () => {});
          channel.on('close', () => peers.get(key) === p && peers.delete(key));
          channel.resume();
          for (const d of p.queued.splice(0)) channel.write(frameDatagram(d));
        },
        (err: Error) => {
          opts.log(`cannot open the UDP relay: ${err.message}`);
          if (peers.get(key) === p) peers.delete(key);
        },
      );
    }
    peer.lastSeen = Date.now();
    if (peer.channel) peer.channel.write(frameDatagram(msg));
    else if (peer.queued.length < 64) peer.queued.push(msg);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: opts.address, port: opts.port, exclusive: true }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', (err) => opts.log(err.message));
  const sweep = setInterval(
    () => {
      const old = Date.now() - idleMs;
      for (const [key, p] of peers) if (p.lastSeen < old) drop(key);
    },
    Math.min(idleMs, 10_000),
  );
  sweep.unref();
  return async () => {
    clearInterval(sweep);
    for (const key of [...peers.keys()]) drop(key);
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  };
}

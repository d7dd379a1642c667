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
 * UDP publications are not forwarded yet (SSH has no datagram channel; that
 * needs a relay in the agent): they are logged and skipped.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { VmLink } from '../link/vm-link.js';
import { linkJson, linkOpen } from '../link/link-http.js';
import { bindingKey, desiredBindings, planListeners, portsNotAvailable, type HostBinding, type ListedPort } from './port-bindings.js';

const RESERVE_MS = 15_000;
const SYNC_DELAY_MS = 50;
const EVENT_ACTIONS = new Set(['start', 'die', 'stop', 'kill', 'destroy', 'pause', 'unpause', 'restart', 'connect', 'disconnect']);

export interface PortForwarderOptions {
  link: VmLink;
  /** The host address to bind for an engine HostIp (default: the same). */
  hostAddress?: (hostIp: string) => string;
  log?: (message: string) => void;
}

interface Active {
  binding: HostBinding;
  server: Server;
  sockets: Set<Socket>;
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
      if (b.proto !== 'tcp') continue;
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
    const { body } = await linkJson<{ Id: string; Ports?: ListedPort[] }[]>(this.#link, { method: 'GET', path: '/containers/json' });
    if (this.#stopped) return;
    const desired = desiredBindings(body);
    const now = Date.now();
    const current = new Map([...this.#active].map(([k, a]) => [k, a.binding]));
    const keep = new Set([...this.#active].filter(([, a]) => (a.reservedUntil ?? 0) > now).map(([k]) => k));
    const plan = planListeners(current, desired, keep);
    for (const key of plan.remove) await this.#close(key);
    for (const b of plan.add) {
      const key = bindingKey(b);
      if (b.proto !== 'tcp') {
        if (!this.#failed.has(key)) this.#log(`port forwarder: ${key} is not forwarded to the host (UDP is not supported yet)`);
        this.#failed.add(key);
        continue;
      }
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
    linkOpen(this.#link, { method: 'GET', path: `/events?filters=${filters}`, timeoutMs: 10_000 }).then(
      (res) => {
        if (this.#stopped) return void res.destroy();
        this.#events = res;
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
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
    this.#active.set(bindingKey(b), { binding: b, server, sockets, ...(reservedUntil ? { reservedUntil } : {}) });
  }

  async #close(key: string): Promise<void> {
    const a = this.#active.get(key);
    if (!a) return;
    this.#active.delete(key);
    for (const s of a.sockets) s.destroy();
    await new Promise<void>((resolve) => a.server.close(() => resolve()));
  }
}

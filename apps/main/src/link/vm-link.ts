/**
 * The one SSH connection from the host to the agent in the VM, kept up.
 *
 * Contract:
 * - `start()` connects and keeps reconnecting with back-off (0.25 s doubling
 *   to 5 s) whenever the connection drops or cannot be made, until `close()`.
 * - `state` is `connecting` (first attempt), `ready`, `retrying` or
 *   `closed`; every change is emitted as `state`, and each successful
 *   (re)connect as `ready` (consumers re-sync on it).
 * - Opening a stream while the link is down waits for it up to
 *   `openTimeoutMs`, then fails with `LinkDownError` saying why.
 * - Streams in flight when the connection drops are destroyed with a
 *   `LinkLostError` ("the connection to the Berth VM was lost; retrying").
 * - The host key is checked by the given verifier (keys.ts HostKeyPin).
 */
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import ssh2, { type ClientChannel, type PseudoTtyOptions } from 'ssh2';

export class LinkLostError extends Error {
  override name = 'LinkLostError';
  constructor() {
    super('the connection to the Berth VM was lost; retrying');
  }
}

export class LinkDownError extends Error {
  override name = 'LinkDownError';
}

export type LinkState = 'idle' | 'connecting' | 'ready' | 'retrying' | 'closed';

export interface VmLinkOptions {
  /** Where the guest's SSH is reachable (QEMU's forward on the host's loopback). */
  host: string;
  port: number;
  privateKey: string;
  /** ssh2 hostVerifier: true to accept the offered host key blob. */
  verifyHostKey: (blob: Buffer) => boolean;
  /** Why the last host key was refused (shown in the error). */
  hostKeyProblem?: () => string | undefined;
  /** The agent's Docker API socket in the guest. */
  engineSocket?: string;
  /** How long an open waits for a link that is down (default 15 s). */
  openTimeoutMs?: number;
  /** Handshake timeout per attempt (default 10 s). */
  readyTimeoutMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  log?: (message: string) => void;
}

export const GUEST_ENGINE_SOCKET = '/run/berth/engine.sock';

/** ssh2 channels stand in for sockets in node:http; give them the socket methods it calls. */
function socketLike<T extends Duplex>(stream: T): T {
  const s = stream as unknown as Record<string, unknown>;
  for (const name of ['setKeepAlive', 'setNoDelay', 'setTimeout', 'ref', 'unref']) {
    if (typeof s[name] !== 'function') s[name] = () => stream;
  }
  return stream;
}

export class VmLink extends EventEmitter {
  readonly #opts: VmLinkOptions;
  #state: LinkState = 'idle';
  #client: ssh2.Client | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #delay: number;
  #lastError = 'not connected yet';
  readonly #inFlight = new Set<Duplex>();

  constructor(opts: VmLinkOptions) {
    super();
    this.#opts = opts;
    this.#delay = opts.backoff?.initialMs ?? 250;
  }

  get state(): LinkState {
    return this.#state;
  }

  /** Why the link is not up, when it is not. */
  get lastError(): string {
    return this.#lastError;
  }

  get engineSocket(): string {
    return this.#opts.engineSocket ?? GUEST_ENGINE_SOCKET;
  }

  start(): void {
    if (this.#state !== 'idle') return;
    this.#setState('connecting');
    this.#connect();
  }

  /** Resolves once the link is up (now or later); rejects after `timeoutMs` or on close. */
  whenReady(timeoutMs = this.#opts.openTimeoutMs ?? 15_000): Promise<void> {
    if (this.#state === 'ready') return Promise.resolve();
    if (this.#state === 'closed') return Promise.reject(new LinkDownError('the link to the Berth VM is closed'));
    return new Promise((resolve, reject) => {
      const onState = (s: LinkState) => {
        if (s === 'ready') (done(), resolve());
        else if (s === 'closed') (done(), reject(new LinkDownError('the link to the Berth VM is closed')));
      };
      const timer = setTimeout(() => {
        done();
        reject(new LinkDownError(`the Berth VM is not reachable over SSH at ${this.#opts.host}:${this.#opts.port} (${this.#lastError}); retrying`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.off('state', onState);
      };
      this.on('state', onState);
    });
  }

  /** A byte stream to the agent's Docker API socket. */
  openEngineStream(): Promise<Duplex> {
    const path = this.engineSocket;
    return this.#open(`the engine socket ${path}`, (c, cb) => c.openssh_forwardOutStreamLocal(path, cb));
  }

  /** A byte stream to `host:port` as seen from inside the guest (direct-tcpip). */
  openTcp(host: string, port: number): Promise<Duplex> {
    return this.#open(`${host}:${port} in the VM`, (c, cb) => c.forwardOut('127.0.0.1', 0, host, port, cb));
  }

  /**
   * Runs a command in the guest as root; with `pty`, on a terminal. Read the
   * exit status from the channel's `close` (code, signal): its `exit` event
   * can fire before the caller gets the channel.
   */
  exec(command: string, pty?: PseudoTtyOptions): Promise<ClientChannel> {
    return this.#open(`"${command}" in the VM`, (c, cb) => (pty ? c.exec(command, { pty }, cb) : c.exec(command, cb)));
  }

  /** An interactive root shell in the guest on a terminal of this size. */
  shell(pty: PseudoTtyOptions = { term: 'xterm-256color', cols: 80, rows: 24 }): Promise<ClientChannel> {
    return this.#open('a shell in the VM', (c, cb) => c.shell(pty, cb));
  }

  /**
   * Connects at once, giving up an attempt under way and the back-off: for a
   * caller that knows the agent has just begun to listen (the VM's boot,
   * which would otherwise wait out the attempt that found nothing there).
   */
  retryNow(): void {
    if (this.#state !== 'connecting' && this.#state !== 'retrying') return;
    clearTimeout(this.#retryTimer);
    this.#delay = this.#opts.backoff?.initialMs ?? 250;
    const stale = this.#client;
    this.#client = undefined; // its close no longer schedules a retry
    stale?.destroy();
    this.#connect();
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#setState('closed');
    clearTimeout(this.#retryTimer);
    const client = this.#client;
    this.#client = undefined;
    this.#failInFlight(new LinkDownError('the link to the Berth VM was closed'));
    if (client) {
      await new Promise<void>((resolve) => {
        client.once('close', () => resolve());
        client.end();
        setTimeout(resolve, 1000).unref();
      });
    }
  }

  async #open<T extends Duplex>(what: string, opener: (c: ssh2.Client, cb: (err: Error | undefined, s: T) => void) => void): Promise<T> {
    await this.whenReady();
    const client = this.#client!;
    const stream = await new Promise<T>((resolve, reject) => {
      try {
        opener(client, (err, s) => (err ? reject(new Error(`cannot open ${what}: ${err.message}`)) : resolve(s)));
      } catch (err) {
        reject(new Error(`cannot open ${what}: ${(err as Error).message}`));
      }
    });
    if (client !== this.#client) {
      // The connection dropped while the channel opened.
      Duplex.prototype.destroy.call(stream, new LinkLostError());
      throw new LinkLostError();
    }
    this.#inFlight.add(stream);
    stream.once('close', () => this.#inFlight.delete(stream));
    return socketLike(stream);
  }

  #connect(): void {
    const client = new ssh2.Client();
    this.#client = client;
    let wasReady = false;
    client.on('ready', () => {
      if (this.#client !== client) return;
      wasReady = true;
      this.#delay = this.#opts.backoff?.initialMs ?? 250;
      this.#lastError = '';
      this.#setState('ready');
      this.emit('ready');
    });
    client.on('error', (err: Error & { level?: string }) => {
      const hostKey = err.level === 'client-timeout' ? undefined : this.#opts.hostKeyProblem?.();
      const message = hostKey ?? err.message;
      if (message !== this.#lastError) this.#opts.log?.(`link: ${message}`); // once per cause, not per retry
      this.#lastError = message;
    });
    client.on('close', () => {
      if (this.#client !== client) return;
      this.#client = undefined;
      if (wasReady) this.#failInFlight(new LinkLostError());
      if (this.#state === 'closed') return;
      if (wasReady) this.#lastError = 'the connection was lost';
      this.#setState('retrying');
      const delay = this.#delay;
      this.#delay = Math.min(this.#delay * 2, this.#opts.backoff?.maxMs ?? 5000);
      this.#retryTimer = setTimeout(() => this.#connect(), delay);
    });
    client.connect({
      host: this.#opts.host,
      port: this.#opts.port,
      username: 'root',
      privateKey: this.#opts.privateKey,
      hostVerifier: (key: Buffer) => this.#opts.verifyHostKey(key),
      readyTimeout: this.#opts.readyTimeoutMs ?? 10_000,
      keepaliveInterval: 5000,
      keepaliveCountMax: 3,
      // The agent is ssh2, not OpenSSH: allow the OpenSSH extensions anyway.
      strictVendor: false,
    });
  }

  #failInFlight(err: Error): void {
    // ssh2's Channel.destroy() ignores its argument (it ends and closes the
    // channel); the stream's own destroy makes readers see this error.
    for (const s of this.#inFlight) Duplex.prototype.destroy.call(s, err);
    this.#inFlight.clear();
  }

  #setState(s: LinkState): void {
    if (this.#state === s) return;
    this.#state = s;
    this.emit('state', s);
  }
}

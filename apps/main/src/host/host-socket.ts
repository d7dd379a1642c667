/**
 * The host's Docker socket (`$BERTH_HOME/run/docker.sock`, 0600; on Windows
 * a named pipe, where Docker clients look for one): each
 * connection is relayed over the link to the agent's socket in the VM
 * (`direct-streamlocal`), bytes unchanged both ways, so every API call works
 * as it does on the engine itself: streams, chunked uploads, and attach/exec
 * hijacks (half-closes included, for `docker exec -i` reaching stdin EOF).
 *
 * The start gate: before a `POST /containers/{id}/start` goes on, the
 * published host ports that container asks for are bound on the host
 * (PortForwarder.reserve), so a taken port fails the start with dockerd's
 * `Ports are not available: ...` (HTTP 500) and the container is not
 * started; the forwarder adopts the listeners once the start event comes.
 * We gate here rather than only following events because an event arrives
 * after the container is already running, too late to refuse the start.
 * Only request heads are parsed (http-request-framer.ts); bodies and
 * hijacked streams are never looked at.
 */
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Duplex } from 'node:stream';
import type { PortBinding } from '@berth/api';
import type { VmLink } from '../link/vm-link.js';
import { linkEngine } from '../link/link-http.js';
import { engineJson } from '../util/engine-client.js';
import { RequestFramer, type Segment } from './http-request-framer.js';
import { requestedBindings, startedContainer } from './port-bindings.js';
import type { PortForwarder } from './port-forwarder.js';
import { isNamedPipe } from '../util/berth-home.js';

export interface HostSocketOptions {
  /** The socket path (its directory is made 0700), or a named pipe (hostSocketAddress). */
  path: string;
  link: VmLink;
  /** Gates container starts on the host ports; without it starts go straight through. */
  forwarder?: PortForwarder;
  log?: (message: string) => void;
}

export class HostDockerSocket {
  readonly path: string;
  readonly #server: Server;
  readonly #clients = new Set<Socket>();
  readonly #opts: HostSocketOptions;

  private constructor(opts: HostSocketOptions, server: Server) {
    this.path = opts.path;
    this.#opts = opts;
    this.#server = server;
  }

  /** Listens; a stale socket file is replaced, a live one (another engine answering) is refused. */
  static async listen(opts: HostSocketOptions): Promise<HostDockerSocket> {
    // A pipe's name is taken while a server holds it (EADDRINUSE below) and gone with it: nothing stale to remove.
    const pipe = isNamedPipe(opts.path);
    if (!pipe) {
      mkdirSync(dirname(opts.path), { recursive: true, mode: 0o700 });
      await removeStaleSocket(opts.path);
    }
    const server = createServer({ allowHalfOpen: true });
    const socket = new HostDockerSocket(opts, server);
    server.on('connection', (c) => socket.#serve(c));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    if (!pipe) chmodSync(opts.path, 0o600);
    return socket;
  }

  async close(): Promise<void> {
    for (const c of this.#clients) c.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #serve(client: Socket): void {
    this.#clients.add(client);
    client.on('close', () => this.#clients.delete(client));
    client.on('error', () => {});
    client.pause();
    const framer = new RequestFramer();
    const queue: Segment[] = [];
    let upstream: Duplex | undefined;
    let failure: string | undefined;
    let pumping = false;
    let clientEnded = false;
    let done = false;

    const refuse = (message: string) => {
      done = true;
      const body = `${JSON.stringify({ message })}\n`;
      client.end(
        'HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      upstream?.destroy();
    };

    const pump = async () => {
      if (pumping || done || (!upstream && !failure)) return;
      pumping = true;
      try {
        while (queue.length && !done) {
          const seg = queue.shift()!;
          if (failure) {
            if (seg.kind === 'head') refuse(failure);
            continue;
          }
          if (seg.kind === 'head' && this.#opts.forwarder) {
            const id = startedContainer(seg.method, seg.path);
            if (id) {
              client.pause();
              const refusal = await this.#gate(id);
              if (refusal) return refuse(refusal);
              if (!upstream!.writableNeedDrain) client.resume();
            }
          }
          if (!upstream!.write(seg.raw)) {
            client.pause();
            upstream!.once('drain', () => client.resume());
          }
        }
        if (clientEnded && !done && upstream) upstream.end();
      } finally {
        pumping = false;
      }
    };

    client.on('data', (chunk: Buffer) => {
      queue.push(...framer.push(chunk));
      void pump();
    });
    client.on('end', () => {
      clientEnded = true;
      void pump();
    });
    client.on('close', () => upstream?.destroy());

    this.#opts.link.openEngineStream().then(
      (s) => {
        if (client.destroyed) return void s.destroy();
        upstream = s;
        s.pipe(client);
        s.on('error', (err: Error) => {
          this.#opts.log?.(`host socket: ${err.message}`);
          client.destroy();
        });
        client.resume();
        void pump();
      },
      (err: Error) => {
        // Answer the first request with the reason: the docker CLI prints it.
        failure = err.message;
        client.resume();
        void pump();
      },
    );
  }

  /** The refusal message when the container's host ports cannot be bound; undefined to go on. */
  async #gate(id: string): Promise<string | undefined> {
    let inspect: { Id: string; State?: { Running?: boolean }; HostConfig?: { PortBindings?: Record<string, Partial<PortBinding>[] | null> } };
    try {
      inspect = (
        await engineJson<typeof inspect>(linkEngine(this.#opts.link), { method: 'GET', path: `/containers/${encodeURIComponent(id)}/json`, timeoutMs: 30_000 })
      ).body;
    } catch {
      return undefined; // no such container, or the link dropped: the engine answers the start itself
    }
    if (inspect.State?.Running) return undefined;
    try {
      await this.#opts.forwarder!.reserve(requestedBindings(inspect.Id, inspect.HostConfig?.PortBindings));
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  }
}

/** Unlinks `path` if it is a socket nobody answers on; throws if one does, or if it is not a socket. */
async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // not there
  }
  if (!isSocket) throw new Error(`${path} exists and is not a socket; move it away so the Docker socket can be made there`);
  const live = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
  if (live) throw new Error(`another process is serving ${path}; stop it (another Berth, or a native engine) first`);
  unlinkSync(path);
}

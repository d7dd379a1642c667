/**
 * Docker's stream formats for container output, and connection hijacking.
 *
 * - Multiplexed stream (no TTY): each frame is an 8-byte header (stream
 *   type 0 stdin, 1 stdout, 2 stderr; three zero bytes; big-endian uint32
 *   length) and the payload. With a TTY the output is raw bytes.
 * - Hijacking (attach, exec start): the client sends `Upgrade: tcp`; we
 *   answer `101 UPGRADED` and the socket becomes a raw two-way stream.
 *   Node hands such requests to the server's 'upgrade' event, which
 *   `serveUpgrades` routes through the ordinary router.
 */
import { ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { StreamName } from '../../engine/json-log.js';
import type { OutputSink } from '../../engine/stdio-hub.js';
import type { RequestContext, Router } from '../router.js';

const STREAM_TYPE: Record<StreamName, number> = { stdout: 1, stderr: 2 };

export function muxFrame(stream: StreamName, data: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = STREAM_TYPE[stream];
  header.writeUInt32BE(data.length, 4);
  return Buffer.concat([header, data]);
}

/** Routes `Upgrade: tcp` requests (attach, exec start) through the router like any other. */
export function serveUpgrades(server: Server, router: Router): void {
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    // Node stops parsing at the headers: the body (exec start's JSON) is still on the
    // socket. Read exactly Content-Length bytes of it into `req`; the rest is the stream.
    const length = Number(req.headers['content-length'] ?? 0) || 0;
    let buffered = head;
    const ready = () => {
      const body = buffered.subarray(0, length);
      const rest = buffered.subarray(length);
      if (rest.length) socket.unshift(rest);
      // `req` itself has already ended; handlers read the body through this view of it.
      const withBody = Object.create(req, {
        [Symbol.asyncIterator]: {
          value: async function* () {
            if (body.length) yield body;
          },
        },
      }) as IncomingMessage;
      const res = new ServerResponse(req);
      res.assignSocket(socket as import('node:net').Socket);
      // A handler that answers normally (an error, say) closes the connection after it.
      res.once('finish', () => socket.end());
      void router.handle(withBody, res);
    };
    if (buffered.length >= length) return ready();
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < length) return;
      socket.off('data', onData);
      socket.pause();
      ready();
    };
    socket.on('data', onData);
  });
}

/** A connection taken over for raw streaming, and whether the client can send on it. */
export interface Hijacked {
  stream: Duplex;
  /** True when the client upgraded: its input arrives on `stream`. */
  twoWay: boolean;
}

/**
 * Takes over the connection: `101 UPGRADED` for clients that asked to
 * upgrade, else a 200 whose body is the stream (output only).
 */
export function hijack(ctx: RequestContext): Hijacked {
  const { req, res } = ctx;
  if ((req.headers.upgrade ?? '').toLowerCase() === 'tcp' && res.socket) {
    const socket = res.socket;
    res.removeAllListeners('finish');
    res.detachSocket(socket);
    socket.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    return { stream: socket, twoWay: true };
  }
  res.writeHead(200, { 'Content-Type': 'application/vnd.docker.raw-stream' });
  res.flushHeaders();
  return { stream: res as unknown as Duplex, twoWay: false };
}

/** Output for one client: raw with a TTY, framed without; ends the connection at the end. */
export function streamSink(out: Duplex, tty: boolean): OutputSink {
  return {
    write(stream, data) {
      if (!out.writableEnded && !out.destroyed) out.write(tty ? data : muxFrame(stream, data));
    },
    end() {
      if (!out.writableEnded) out.end();
    },
  };
}

/**
 * A loopback HTTP proxy in front of a real server that can alter responses:
 * a misbehaving registry (wrong content for a digest, oversized manifests,
 * a lying Docker-Content-Digest) without writing a fake one.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './net.js';

export interface ProxiedResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface TamperProxy {
  url: string;
  /** `127.0.0.1:PORT`, as a registry domain. */
  domain: string;
  /** Requests seen (method and path), in order. */
  requests: { method: string; path: string }[];
  close(): Promise<void>;
}

/**
 * Forwards every request to `target` and passes the response through
 * `tamper`, which may change it in place (or return a replacement).
 */
export async function startTamperProxy(
  target: string,
  tamper: (req: { method: string; path: string }, res: ProxiedResponse) => ProxiedResponse | void = () => {},
): Promise<TamperProxy> {
  const requests: { method: string; path: string }[] = [];
  const readAll = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  const server = createServer((req, res) => {
    (async () => {
      const info = { method: req.method ?? 'GET', path: req.url ?? '/' };
      requests.push(info);
      const body = await readAll(req);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (typeof v === 'string' && !['host', 'connection', 'content-length', 'transfer-encoding'].includes(k)) headers[k] = v;
      }
      const upstream = await fetch(`${target}${info.path}`, {
        method: info.method,
        headers,
        redirect: 'manual',
        ...(body.length ? { body } : {}),
      });
      let out: ProxiedResponse = {
        status: upstream.status,
        headers: Object.fromEntries([...upstream.headers].filter(([k]) => !['content-length', 'transfer-encoding', 'connection', 'keep-alive'].includes(k))),
        body: Buffer.from(await upstream.arrayBuffer()),
      };
      out = tamper(info, out) ?? out;
      res.writeHead(out.status, { ...out.headers, 'content-length': String(out.body.length) });
      res.end(info.method === 'HEAD' ? undefined : out.body);
    })().catch((err) => {
      res.writeHead(502).end(String(err));
    });
  });
  const { port, close } = await listenOnLoopback(server);
  return { url: `http://127.0.0.1:${port}`, domain: `127.0.0.1:${port}`, requests, close };
}

export interface StallingProxy {
  port: number;
  /** `127.0.0.1:PORT`, as a registry domain. */
  domain: string;
  /** Responses for the stalled blob that were cut off half way and are being held open. */
  stalledOpen: number;
  /** Of those, how many the client (the agent) closed. */
  stalledClosed: number;
  close(): Promise<void>;
}

/**
 * A proxy in front of a registry: every request is forwarded, and the
 * response to a GET of `digest` is handed to `onBlob` (headers not yet
 * written) instead of being piped back.
 */
async function startBlobProxy(
  target: { url: string; domain: string },
  digest: string,
  onBlob: (up: IncomingMessage, res: ServerResponse) => void,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const upstream = httpRequest(`${target.url}${req.url}`, { method: req.method, headers: { ...req.headers, host: target.domain } }, (up) => {
      if (!req.url?.endsWith(`/blobs/${digest}`) || req.method !== 'GET') {
        res.writeHead(up.statusCode ?? 500, up.headers);
        return up.pipe(res);
      }
      onBlob(up, res);
    });
    req.pipe(upstream);
  });
  return listenOnLoopback(server);
}

/**
 * A proxy in front of a registry that serves everything but stops half way
 * through one blob, holding that connection open (until the client closes it).
 */
export async function startStallingProxy(target: { url: string; domain: string }, blob: { digest: string; size: number }): Promise<StallingProxy> {
  const { port, close } = await startBlobProxy(target, blob.digest, (up, res) => {
    res.writeHead(up.statusCode ?? 500, up.headers);
    let sent = 0;
    let held = false;
    up.on('data', (c: Buffer) => {
      const room = Math.max(0, Math.floor(blob.size / 2) - sent);
      if (room > 0) res.write(c.subarray(0, room));
      sent += c.length;
      if (!held && sent >= Math.floor(blob.size / 2)) {
        held = true;
        proxy.stalledOpen++;
      }
    });
    res.on('close', () => {
      if (held && !res.writableFinished) proxy.stalledClosed++;
    });
  });
  const proxy: StallingProxy = { port, domain: `127.0.0.1:${port}`, stalledOpen: 0, stalledClosed: 0, close };
  return proxy;
}

export interface OversizeProxy {
  /** `127.0.0.1:PORT`, as a registry domain. */
  domain: string;
  /** Bytes sent after the blob's own, so far. */
  extraSent: number;
  /** The client closed the connection before the proxy had sent all it meant to. */
  cutOff: boolean;
  close(): Promise<void>;
}

/**
 * A proxy in front of a registry that sends one blob whole and then goes on
 * sending zeros, `extra` bytes of them, with no Content-Length (chunked): a
 * registry whose blob is larger than the manifest says. Only a client that
 * counts the bytes stops it.
 */
export async function startOversizeProxy(target: { url: string; domain: string }, digest: string, extra: number): Promise<OversizeProxy> {
  const zeros = Buffer.alloc(64 * 1024);
  const { port, close } = await startBlobProxy(target, digest, (up, res) => {
    const { 'content-length': _dropped, ...headers } = up.headers;
    res.writeHead(up.statusCode ?? 500, headers);
    res.on('close', () => {
      if (!res.writableFinished) proxy.cutOff = true;
    });
    up.pipe(res, { end: false });
    up.on('end', function more() {
      while (proxy.extraSent < extra && !res.destroyed) {
        proxy.extraSent += zeros.length;
        if (!res.write(zeros)) return res.once('drain', more);
      }
      if (!res.destroyed) res.end();
    });
  });
  const proxy: OversizeProxy = { domain: `127.0.0.1:${port}`, extraSent: 0, cutOff: false, close };
  return proxy;
}

/**
 * A loopback HTTP proxy in front of a real server that can alter responses:
 * a misbehaving registry (wrong content for a digest, oversized manifests,
 * a lying Docker-Content-Digest) without writing a fake one.
 */
import { createServer, type IncomingMessage } from 'node:http';
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
        headers: Object.fromEntries(
          [...upstream.headers].filter(([k]) => !['content-length', 'transfer-encoding', 'connection', 'keep-alive'].includes(k)),
        ),
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

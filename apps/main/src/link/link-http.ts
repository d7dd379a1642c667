/**
 * Docker API requests from main itself (the port forwarder, the start gate)
 * over the link: node:http with each request on its own streamlocal channel.
 */
import { request, type IncomingMessage, type RequestOptions } from 'node:http';
import type { Duplex } from 'node:stream';
import type { VmLink } from './vm-link.js';

export interface LinkRequest {
  method: string;
  path: string;
  body?: unknown;
  /** Gives up when no response head arrives in time (default 30 s). */
  timeoutMs?: number;
}

/** The response head; the caller reads (or destroys) the body. */
export function linkOpen(link: VmLink, req: LinkRequest): Promise<IncomingMessage> {
  const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
  return new Promise((resolve, reject) => {
    const r = request(
      {
        method: req.method,
        path: req.path,
        headers: { host: 'docker', ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}) },
        createConnection: (_opts: unknown, cb: (err: Error | null, s?: Duplex) => void) => {
          link.openEngineStream().then((s) => cb(null, s), (err: Error) => cb(err));
          return undefined;
        },
      } as unknown as RequestOptions,
      (res) => {
        clearTimeout(timer);
        resolve(res);
      },
    );
    const timer = setTimeout(() => r.destroy(new Error(`the engine did not answer ${req.method} ${req.path} in time`)), req.timeoutMs ?? 30_000);
    r.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    r.end(payload);
  });
}

/** The whole answer parsed as JSON; throws with the engine's message on a status >= 400. */
export async function linkJson<T>(link: VmLink, req: LinkRequest): Promise<{ status: number; body: T }> {
  const res = await linkOpen(link, req);
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const status = res.statusCode ?? 0;
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  if (status >= 400) {
    const message = (body as { message?: string } | undefined)?.message ?? text;
    throw Object.assign(new Error(`${req.method} ${req.path}: ${message || `status ${status}`}`), { status });
  }
  return { status, body: body as T };
}

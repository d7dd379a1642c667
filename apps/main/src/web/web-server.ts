/**
 * The dashboard for a browser: plain Node HTTP on 127.0.0.1 only.
 *
 *   GET  /, /assets/*          the built renderer
 *   POST /api/call/NAME        body: JSON array of arguments → CallResult JSON
 *   POST /api/stream/NAME      body: JSON array of arguments → JSON lines of StreamMessage
 *
 * Every request passes guard.ts first (Host, Origin, and the token header
 * for the API). The link carries the token in its fragment (`#token=`),
 * which a browser never sends to any server; the page moves it to
 * sessionStorage and sends it as `X-Berth-Token` (apps/renderer/src/api/web-token.ts).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { BerthService } from '../contract/berth-service.js';
import { dispatchCall, dispatchStream } from '../contract/dispatch.js';
import { checkRequest } from './guard.js';
import { serveStatic } from './static-files.js';

export interface WebServerOptions {
  service: BerthService;
  /** The renderer's build (index.html + assets); undefined: answer with how to build it. */
  rendererDir: string | undefined;
  /** 0 or undefined: a free port. */
  port?: number;
  /** Default: 32 random bytes, base64url. */
  token?: string;
}

export interface WebServer {
  port: number;
  token: string;
  /** `http://127.0.0.1:PORT/#token=TOKEN` */
  url: string;
  close(): Promise<void>;
}

const MAX_BODY = 1 << 20;

export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const token = opts.token ?? randomBytes(32).toString('base64url');
  let port = 0;
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`Internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const verdict = checkRequest({ url: req.url ?? '/', method: req.method, headers: req.headers }, port, token);
    if (!verdict.ok) {
      res.writeHead(verdict.status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${verdict.message}\n`);
      req.resume();
      return;
    }
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    const api = /^\/api\/(call|stream)\/([A-Za-z]+)$/.exec(url.pathname);
    if (api) {
      if (req.method !== 'POST') {
        res.writeHead(405, { allow: 'POST' }).end();
        return;
      }
      const args = await readJsonBody(req);
      if (args instanceof Error) {
        res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end(`${args.message}\n`);
        return;
      }
      if (api[1] === 'call') {
        const result = await dispatchCall(opts.service, api[2], args);
        const failed = result.ok ? undefined : result.error.status;
        const status = result.ok ? 200 : failed && failed >= 400 && failed < 600 ? failed : 500;
        res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify(result));
        return;
      }
      return stream(req, res, api[2], args);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    await serveStatic(res, opts.rendererDir, url.pathname);
  }

  async function stream(req: IncomingMessage, res: ServerResponse, name: string | undefined, args: unknown): Promise<void> {
    const abort = new AbortController();
    // The browser went away (navigation, cancel): release the engine request.
    res.on('close', () => abort.abort());
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.flushHeaders();
    await dispatchStream(opts.service, name, args, abort.signal, (m) => {
      if (!res.destroyed) res.write(JSON.stringify(m) + '\n');
    });
    res.end();
    void req;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('the dashboard server has no TCP port');
  port = addr.port;
  return {
    port,
    token,
    url: `http://127.0.0.1:${port}/#token=${token}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The request's JSON body (empty → []), or an Error saying what is wrong. */
async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) return new Error(`request body over ${MAX_BODY} bytes`);
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return [];
  try {
    return JSON.parse(text);
  } catch {
    return new Error('the request body is not JSON');
  }
}

/**
 * HTTP/1.1 to the engine's Docker API on a Unix socket: buffered requests for
 * ordinary answers, and the raw response for streams (events, pull progress,
 * logs), which the caller reads as it arrives.
 */
import { request, type IncomingMessage } from 'node:http';

export interface EngineHttpRequest {
  method: string;
  /** Path and query, starting with `/`. */
  path: string;
  /** Sent as JSON when not undefined. */
  body?: unknown;
  signal?: AbortSignal;
  /** Gives up if no response head arrives in time (default 60 s). */
  timeoutMs?: number;
}

export interface EngineHttpResponse {
  status: number;
  contentType: string;
  body: Buffer;
}

/** Opens the request; resolves with the response head, the body unread. */
export function engineOpen(socket: string, req: EngineHttpRequest): Promise<IncomingMessage> {
  const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
  const headers: Record<string, string> = { host: 'berth' };
  if (payload) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(payload.length);
  }
  return new Promise((resolve, reject) => {
    const r = request({ socketPath: socket, method: req.method, path: req.path, headers, signal: req.signal }, (res) => {
      clearTimeout(timer);
      resolve(res);
    });
    const timer = setTimeout(
      () => r.destroy(new Error(`the engine did not answer ${req.method} ${req.path} within ${(req.timeoutMs ?? 60_000) / 1000} s`)),
      req.timeoutMs ?? 60_000,
    );
    r.on('error', (err) => {
      clearTimeout(timer);
      reject(explainSocketError(err, socket));
    });
    r.end(payload);
  });
}

/** The whole answer. */
export async function engineFetch(socket: string, req: EngineHttpRequest): Promise<EngineHttpResponse> {
  const res = await engineOpen(socket, req);
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return { status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) };
}

/** True when `GET /_ping` answers 200 within `timeoutMs`. */
export async function enginePing(socket: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await engineFetch(socket, { method: 'GET', path: '/_ping', timeoutMs });
    return res.status === 200;
  } catch {
    return false;
  }
}

/** The engine's `{"message": ...}`, or its text, or the status. */
export function engineErrorMessage(status: number, body: Buffer): string {
  const text = body.toString('utf8').trim();
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON: use the text
  }
  return text || `the engine answered ${status}`;
}

function explainSocketError(err: Error & { code?: string }, socket: string): Error {
  if (err.name === 'AbortError') return err;
  if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
    return Object.assign(new Error(`Cannot connect to the engine at unix://${socket}: ${err.code === 'ENOENT' ? 'no such socket' : 'connection refused'}. Is it running?`), { status: 503 });
  }
  return Object.assign(new Error(`the engine at unix://${socket}: ${err.message}`), { status: 502 });
}

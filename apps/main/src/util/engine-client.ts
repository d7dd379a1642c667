/**
 * main's one HTTP/1.1 client to an engine's Docker API, whatever carries it:
 * a Unix socket (the native engine, a socket the user named, the host
 * socket), or an SSH channel to the agent (link/link-http.ts). An endpoint
 * is a `connect()` that gives a Duplex; every request opens one connection
 * on it. Bodies go as JSON or as a stream (a tar); answers come buffered
 * (`engineFetch`, `engineJson`), streamed (`engineOpen`, `engineStream`, with
 * `jsonLines` for events, pull and build progress), or hijacked
 * (`engineHijack`, attach and exec: after the engine's `101` the connection
 * is a raw two-way byte stream).
 */
import { request, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { LineSplitter } from '@berth/api';

export interface EngineEndpoint {
  /** Opens one connection to the engine's API. */
  connect(): Duplex | Promise<Duplex>;
  /** Says what a connection error means here (default: the error as it is). */
  explain?(err: Error & { code?: string }): Error;
}

/** What a streamed body is read from: a node Readable, or a streamx one (tar-stream's pack). */
export interface BodySource {
  pipe(destination: NodeJS.WritableStream): unknown;
  once(event: 'error', listener: (err: Error) => void): unknown;
}

/** An endpoint, or the path of a Unix socket (a named pipe on Windows). */
export type EngineAddress = EngineEndpoint | string;

export interface EngineHttpRequest {
  method: string;
  /** Path and query, starting with `/`. */
  path: string;
  /** Sent as JSON when not undefined. */
  body?: unknown;
  /** A streamed body instead (a tar): sent chunked unless its length is known. */
  upload?: { data: BodySource; contentType: string; length?: number };
  signal?: AbortSignal;
  /** Gives up if no response head arrives in time (default 60 s; 0: waits as long as the body takes to send). */
  timeoutMs?: number;
}

export interface EngineHttpResponse {
  status: number;
  contentType: string;
  body: Buffer;
}

/** An answer the engine gave with a failing status, carrying its message and that status. */
export class EngineError extends Error {
  override name = 'EngineError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** The engine on a Unix socket; connection errors say whether anything is there. */
export function unixEngine(socket: string): EngineEndpoint {
  return { connect: () => connect(socket), explain: (err) => explainSocketError(err, socket) };
}

const endpointOf = (address: EngineAddress): EngineEndpoint => (typeof address === 'string' ? unixEngine(address) : address);

/**
 * Sends the request on a connection of its own. The caller listens on the
 * returned request for its answer ('response', 'upgrade') and calls
 * `answered()` then; a failure before that goes to `onError`, explained by
 * the endpoint.
 */
function send(
  address: EngineAddress,
  req: EngineHttpRequest,
  headers: Record<string, string>,
  defaultTimeoutMs: number,
  onError: (err: Error) => void,
): { request: ClientRequest; answered: () => void } {
  const ep = endpointOf(address);
  const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
  const all: Record<string, string> = { host: 'berth', ...headers };
  if (payload) {
    all['content-type'] = 'application/json';
    all['content-length'] = String(payload.length);
  } else if (req.upload) {
    all['content-type'] = req.upload.contentType;
    if (req.upload.length !== undefined) all['content-length'] = String(req.upload.length);
  }
  const r = request({
    method: req.method,
    path: req.path,
    headers: all,
    signal: req.signal,
    // One connection per request, made by the endpoint; node:http speaks HTTP on it.
    createConnection: (_opts: unknown, cb: (err: Error | null, s?: Duplex) => void) => {
      Promise.resolve()
        .then(() => ep.connect())
        .then(
          (s) => cb(null, s),
          (err: Error) => cb(err),
        );
      return undefined;
    },
  } as unknown as RequestOptions);
  const timeoutMs = req.timeoutMs ?? defaultTimeoutMs;
  const timer =
    timeoutMs > 0
      ? setTimeout(() => r.destroy(new Error(`the engine did not answer ${req.method} ${req.path} within ${timeoutMs / 1000} s`)), timeoutMs)
      : undefined;
  r.on('error', (err: Error & { code?: string }) => {
    clearTimeout(timer);
    onError(err.name === 'AbortError' || !ep.explain ? err : ep.explain(err));
  });
  if (payload || !req.upload) r.end(payload);
  else {
    req.upload.data.once('error', (err) => r.destroy(err));
    req.upload.data.pipe(r);
  }
  return { request: r, answered: () => clearTimeout(timer) };
}

/** Opens the request; resolves with the response head, the body unread. */
export function engineOpen(address: EngineAddress, req: EngineHttpRequest): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const { request: r, answered } = send(address, req, {}, 60_000, reject);
    r.once('response', (res) => {
      answered();
      resolve(res);
    });
  });
}

/** The whole answer. */
export async function engineFetch(address: EngineAddress, req: EngineHttpRequest): Promise<EngineHttpResponse> {
  const res = await engineOpen(address, req);
  return { status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: await readAll(res) };
}

/** The answer parsed as JSON (its text when it is not JSON); a status >= 400 throws, naming the request and the engine's message. */
export async function engineJson<T>(address: EngineAddress, req: EngineHttpRequest): Promise<{ status: number; body: T }> {
  const res = await engineFetch(address, req);
  const text = res.body.toString('utf8');
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  if (res.status >= 400) {
    const message = (body as { message?: string } | undefined)?.message ?? text;
    throw new EngineError(`${req.method} ${req.path}: ${message || `status ${res.status}`}`, res.status);
  }
  return { status: res.status, body: body as T };
}

/** Opens a streamed answer (events, progress, logs): a status other than 2xx throws with the engine's message and status. */
export async function engineStream(address: EngineAddress, req: EngineHttpRequest): Promise<IncomingMessage> {
  const res = await engineOpen(address, req);
  const status = res.statusCode ?? 0;
  if (status < 200 || status >= 300) throw new EngineError(engineErrorMessage(status, await readAll(res)), status);
  return res;
}

/** The JSON values of a JSON-lines answer as they arrive; a line that is not JSON throws (status 502). */
export async function* jsonLines(res: IncomingMessage): AsyncIterable<unknown> {
  res.setEncoding('utf8');
  const lines = new LineSplitter();
  for await (const chunk of res) for (const line of lines.push(chunk as string)) yield parseLine(line);
  for (const line of lines.end()) yield parseLine(line);
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    throw new EngineError(`the engine sent a line that is not JSON: ${line.slice(0, 200)}`, 502);
  }
}

/** True when `GET /_ping` answers 200 within `timeoutMs`. */
export async function enginePing(address: EngineAddress, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await engineFetch(address, { method: 'GET', path: '/_ping', timeoutMs });
    return res.status === 200;
  } catch {
    return false;
  }
}

/**
 * A hijacked request (exec start, attach), sent with `Upgrade: tcp`. Resolves
 * with the upgraded connection, output bytes already received pushed back
 * onto it. Any other answer is the engine refusing (no such exec, not
 * running...) and becomes an EngineError with its status and message.
 */
export function engineHijack(address: EngineAddress, req: EngineHttpRequest): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const { request: r, answered } = send(address, req, { connection: 'Upgrade', upgrade: 'tcp' }, 30_000, reject);
    r.once('upgrade', (_res, socket: Duplex, head: Buffer) => {
      answered();
      if (head.length) socket.unshift(head);
      resolve(socket);
    });
    r.once('response', (res: IncomingMessage) => {
      answered();
      void readAll(res).then((body) => {
        const status = res.statusCode ?? 0;
        reject(
          new EngineError(
            status >= 400 ? engineErrorMessage(status, body) : `the engine answered ${status} instead of switching protocols`,
            status >= 400 ? status : 502,
          ),
        );
      }, reject);
    });
  });
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

async function readAll(res: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function explainSocketError(err: Error & { code?: string }, socket: string): Error {
  if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
    return Object.assign(
      new Error(`Cannot connect to the engine at unix://${socket}: ${err.code === 'ENOENT' ? 'no such socket' : 'connection refused'}. Is it running?`),
      { status: 503 },
    );
  }
  return Object.assign(new Error(`the engine at unix://${socket}: ${err.message}`), { status: 502 });
}

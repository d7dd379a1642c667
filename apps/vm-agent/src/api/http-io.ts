import type { IncomingMessage, ServerResponse } from 'node:http';
import { EngineError, errorMessage, invalidParameter, type ErrorKind } from '../errors.js';

/** Request bodies larger than this are refused (413) before parsing. */
export const MAX_JSON_BODY = 4 * 1024 * 1024;

const STATUS: Record<ErrorKind, number> = {
  'invalid-parameter': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'not-modified': 304,
  unavailable: 503,
  'not-implemented': 501,
  system: 500,
};

export function statusOf(err: unknown): number {
  if (err instanceof EngineError) return STATUS[err.kind];
  if (err instanceof HttpError) return err.status;
  return 500;
}

/** An error that is about HTTP itself (size limits, content types), not the engine. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Sends `{"message": ...}` with the status Docker uses for the error's kind. */
export function sendError(res: ServerResponse, err: unknown): void {
  const status = statusOf(err);
  const message = errorMessage(err);
  if (res.headersSent) {
    // Mid-stream: the status is gone; streams carry errors in-band (see JsonLines).
    res.destroy(err instanceof Error ? err : undefined);
    return;
  }
  if (status === 304) {
    res.writeHead(304).end();
    return;
  }
  sendJson(res, status, { message });
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendNoContent(res: ServerResponse, status = 204): void {
  res.writeHead(status).end();
}

/** Reads the whole body, refusing more than `limit` bytes. */
export async function readBody(req: IncomingMessage, limit = MAX_JSON_BODY): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) throw new HttpError(413, `request body too large: ${declared} bytes, the limit is ${limit}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `request body too large: over ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * Reads a JSON body as dockerd does: an empty body is `undefined` (callers
 * decide whether that is allowed), a non-JSON Content-Type is refused, and so
 * is anything after the JSON value.
 */
export async function readJson(req: IncomingMessage, limit = MAX_JSON_BODY): Promise<unknown> {
  const body = await readBody(req, limit);
  const text = body.toString('utf8');
  if (text.trim() === '') return undefined;
  const type = req.headers['content-type'];
  if (type !== undefined && !/^application\/json\b/i.test(type) && type !== '') {
    throw invalidParameter(`unsupported Content-Type header (${type}): must be 'application/json'`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw invalidParameter(`invalid JSON: ${(err as Error).message}`);
  }
}

/**
 * A newline-delimited JSON stream (pull/push progress, build output, events).
 * Errors after the headers went out travel in-band as {"errorDetail", "error"},
 * which is how the docker CLI expects them.
 */
export class JsonLines {
  private started = false;
  constructor(private readonly res: ServerResponse) {}

  /** False until the first line: an error before it can still be a plain HTTP error. */
  get hasStarted(): boolean {
    return this.started;
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, { 'Content-Type': 'application/json' });
  }

  write(obj: unknown): void {
    this.start();
    if (!this.res.writableEnded) this.res.write(JSON.stringify(obj) + '\n');
  }

  error(err: unknown): void {
    const message = errorMessage(err);
    this.write({ errorDetail: { message }, error: message });
  }

  end(): void {
    this.start();
    this.res.end();
  }
}

/** Query helpers: Docker sends booleans as 1/0/true/false. */
export function queryBool(q: URLSearchParams, name: string, fallback = false): boolean {
  const v = q.get(name);
  if (v === null || v === '') return fallback;
  return !['0', 'false', 'False', 'FALSE', 'no'].includes(v);
}

export function queryInt(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw invalidParameter(`invalid value for ${name}: ${JSON.stringify(v)}`);
  return n;
}

/**
 * Docker's `filters` query parameter: JSON of {"key": ["v1", "v2"]} or the old
 * {"key": {"v1": true}} form.
 */
export function parseFilters(q: URLSearchParams): Map<string, string[]> {
  const raw = q.get('filters');
  const out = new Map<string, string[]>();
  if (!raw) return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw invalidParameter(`invalid filter: ${raw}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalidParameter(`invalid filter: ${raw}`);
  for (const [k, v] of Object.entries(parsed)) {
    if (Array.isArray(v)) out.set(k, v.map(String));
    else if (typeof v === 'object' && v !== null)
      out.set(
        k,
        Object.keys(v).filter((x) => (v as Record<string, unknown>)[x]),
      );
    else throw invalidParameter(`invalid filter: ${raw}`);
  }
  return out;
}

/** Refuses filter keys the endpoint does not know, with dockerd's wording. */
export function checkFilterKeys(filters: Map<string, string[]>, allowed: string[]): void {
  for (const k of filters.keys()) if (!allowed.includes(k)) throw invalidParameter(`invalid filter '${k}'`);
}

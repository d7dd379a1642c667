/**
 * Reading and judging a registry's answers: bodies read up to a bound,
 * error bodies, statuses turned into EngineErrors worded like dockerd's, and
 * the media type of a manifest the registry labelled generically.
 */
import { EngineError, invalidParameter, isEngineError, notFound, systemError, unauthorized, unavailable } from '../errors.js';
import { networkErrorMessage, registryErrorMessage, goMethod } from './registry-auth.js';

/** A manifest larger than this is refused (containerd and dockerd use the same bound). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_ERROR_BODY = 64 * 1024;

export function statusErrorFrom(res: Response, text: string, method: string, what: string): EngineError {
  const msg = registryErrorMessage(res.status, text, `received unexpected HTTP status: ${res.status} ${res.statusText}`);
  const full = `${goMethod(method)} ${what}: ${msg}`;
  if (res.status === 404) return notFound(`${what}: ${msg}`);
  if (res.status === 401) return unauthorized(full);
  if (res.status === 403) return new EngineError('forbidden', `${what}: ${msg}`);
  if (res.status === 400 || res.status === 405 || res.status === 413) return invalidParameter(`${what}: ${msg}`);
  if (res.status === 429 || res.status >= 500) return unavailable(`${what}: ${msg}`);
  return systemError(`${what}: ${msg}`);
}

/** Prefixes an EngineError's message, keeping its kind. */
export function withContext(err: unknown, prefix: string): unknown {
  if (!isEngineError(err)) return err;
  return new EngineError(err.kind, `${prefix}: ${err.message}`, { cause: err });
}

export function tooLarge(what: string, size?: number): EngineError {
  const how = size === undefined ? `over ${MAX_MANIFEST_BYTES} bytes` : `${size} bytes`;
  return invalidParameter(`manifest for ${what} is too large (${how}; the limit is 4 MiB)`);
}

/** Reads a response body up to `limit` bytes; over it, cancels and throws `onOver()`. */
export async function readCapped(res: Response, limit: number, onOver: () => Error): Promise<Buffer> {
  if (!res.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  const reader = res.body.getReader();
  for (;;) {
    let step: Awaited<ReturnType<typeof reader.read>>;
    try {
      step = await reader.read();
    } catch (err) {
      throw unavailable(`reading from the registry: ${networkErrorMessage(err, new URL(res.url || 'http://registry'))}`, err);
    }
    if (step.done) break;
    total += step.value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw onOver();
    }
    chunks.push(Buffer.from(step.value));
  }
  return Buffer.concat(chunks, total);
}

/** The (bounded) text of an error response; never throws. */
export async function readErrorBody(res: Response): Promise<string> {
  try {
    return (await readCapped(res, MAX_ERROR_BODY, () => new Error('too long'))).toString('utf8');
  } catch {
    return '';
  }
}

/** Content-Type without parameters, or the body's `mediaType` when the registry sent a generic type. */
export function manifestMediaType(contentType: string | null, body: Buffer): string {
  const ct = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (ct && ct !== 'application/json' && ct !== 'text/plain' && ct !== 'application/octet-stream') return ct;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { mediaType?: unknown; manifests?: unknown; schemaVersion?: unknown };
    if (typeof parsed.mediaType === 'string' && parsed.mediaType) return parsed.mediaType;
    // OCI allows mediaType to be absent; tell an index from a manifest by its shape.
    if (Array.isArray(parsed.manifests)) return 'application/vnd.oci.image.index.v1+json';
    if (parsed.schemaVersion === 2) return 'application/vnd.oci.image.manifest.v1+json';
  } catch {
    // not JSON: leave it to the caller to refuse
  }
  return ct || 'application/octet-stream';
}

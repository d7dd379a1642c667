/**
 * Typed error kinds shared by every layer of the agent.
 *
 * Lower layers (images, runtime, network, volumes, engine) throw these with a
 * message the user can act on; only `api/` maps a kind to an HTTP status code.
 * This mirrors containerd's errdefs: the kind says *what class* of failure it
 * is, the message says *what* failed and *what to do*.
 */
export type ErrorKind =
  | 'invalid-parameter' // 400: the request is wrong
  | 'unauthorized' // 401: credentials missing or refused
  | 'forbidden' // 403: not allowed in this state
  | 'not-found' // 404: no such object
  | 'conflict' // 409: clashes with existing state
  | 'not-modified' // 304: already in the requested state
  | 'unavailable' // 503: a dependency (registry, kernel feature) is not there
  | 'not-implemented' // 501: a Docker feature Berth does not have (swarm mode, engine plugins)
  | 'system'; // 500: our fault or the machine's

export class EngineError extends Error {
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.name = 'EngineError';
  }
}

export const invalidParameter = (message: string, cause?: unknown) => new EngineError('invalid-parameter', message, { cause });
export const unauthorized = (message: string, cause?: unknown) => new EngineError('unauthorized', message, { cause });
export const forbidden = (message: string, cause?: unknown) => new EngineError('forbidden', message, { cause });
export const notFound = (message: string, cause?: unknown) => new EngineError('not-found', message, { cause });
export const conflict = (message: string, cause?: unknown) => new EngineError('conflict', message, { cause });
export const notModified = (message: string) => new EngineError('not-modified', message);
export const unavailable = (message: string, cause?: unknown) => new EngineError('unavailable', message, { cause });
export const notImplemented = (message: string) => new EngineError('not-implemented', message);
export const systemError = (message: string, cause?: unknown) => new EngineError('system', message, { cause });

export function isEngineError(err: unknown, kind?: ErrorKind): err is EngineError {
  return err instanceof EngineError && (kind === undefined || err.kind === kind);
}

/**
 * The message of any thrown value, for wrapping with context ("pulling x: <msg>").
 * Node's system errors ("ENOSPC: no space left on device, write '/x'") are
 * worded as Go's are, which is what Docker clients show: "write /x: no space
 * left on device".
 */
export function errorMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const { code, syscall, path } = err as NodeJS.ErrnoException;
  const text = code && syscall && err.message.startsWith(`${code}: `) ? /^[A-Z0-9]+: (.*?), [a-z_0-9]+(?: '.*)?$/s.exec(err.message)?.[1] : undefined;
  return text ? `${syscall}${path ? ` ${path}` : ''}: ${text}` : err.message;
}

/** Node's system errors carry `code` (ENOENT, EEXIST, ...). */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

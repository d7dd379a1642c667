import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalidParameter, notFound } from '../errors.js';
import { sendError } from './http-io.js';
import { API_VERSION, MIN_API_VERSION, compareApiVersions } from './version.js';
import { trace } from '../util/trace.js';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** Path parameters from `{name}` placeholders, URL-decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The API version of this request: the path's /v1.NN, or the newest we serve. */
  apiVersion: string;
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;

interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  handler: Handler;
  /** A catch-all shape (`/containers/{parent}/{alias}`): another method on a path it matches is a 404, not a 400. */
  catchAll: boolean;
}

/**
 * A small router for Docker's paths. Patterns use `{name}` for one segment
 * and `{name:.*}` for a name that may contain slashes (image names do:
 * `/images/localhost:5000/app/json`), which is why a generic router with
 * trailing-only wildcards does not fit.
 */
export class Router {
  private readonly routes: Route[] = [];
  private held: Promise<unknown> | undefined;
  private unheld = new Set<string>();

  /**
   * Holds every request but those for `paths` (the ping and the version,
   * which need no state) until `ready` settles, so the engine answers as soon
   * as it listens while it loads its state; a start-up that fails fails the
   * held requests with its error.
   */
  holdUntil(ready: Promise<unknown>, paths: string[]): void {
    this.unheld = new Set(paths);
    this.held = ready;
    ready.then(
      () => {
        if (this.held === ready) this.held = undefined;
      },
      () => {},
    );
  }

  add(method: string, path: string, handler: Handler, opts: { catchAll?: boolean } = {}): this {
    const keys: string[] = [];
    const source = path.replace(/\{(\w+)(:\.\*)?\}/g, (_m, key: string, greedy?: string) => {
      keys.push(key);
      return greedy ? '(.+)' : '([^/]+)';
    });
    this.routes.push({ method, pattern: new RegExp(`^${source}/?$`), keys, handler, catchAll: opts.catchAll ?? false });
    return this;
  }

  get(path: string, h: Handler) {
    return this.add('GET', path, h);
  }
  post(path: string, h: Handler) {
    return this.add('POST', path, h);
  }
  put(path: string, h: Handler) {
    return this.add('PUT', path, h);
  }
  delete(path: string, h: Handler, opts?: { catchAll?: boolean }) {
    return this.add('DELETE', path, h, opts);
  }
  head(path: string, h: Handler) {
    return this.add('HEAD', path, h);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://engine');
      let path = url.pathname;
      let apiVersion = API_VERSION;
      const versioned = /^\/v(\d+\.\d+)(\/.*)$/.exec(path);
      if (versioned) {
        apiVersion = versioned[1]!;
        path = versioned[2]!;
        checkVersion(apiVersion);
      }
      if (this.held && !this.unheld.has(path)) await this.held;
      const method = req.method ?? 'GET';
      let methodMismatch = false;
      for (const route of this.routes) {
        const m = route.pattern.exec(path);
        if (!m) continue;
        if (route.method !== method) {
          methodMismatch ||= !route.catchAll;
          continue;
        }
        const params: Record<string, string> = {};
        route.keys.forEach((k, i) => (params[k] = decodeParam(m[i + 1]!)));
        trace('api', `${method} ${path}`);
        await route.handler({ req, res, params, query: url.searchParams, apiVersion });
        trace('api', `${method} ${path} handled`);
        return;
      }
      if (methodMismatch) throw invalidParameter(`method ${method} not allowed for ${path}`);
      throw notFound('page not found');
    } catch (err) {
      sendError(res, err);
    }
  }
}

/** A path segment, %-decoded; a malformed escape is the client's error (400), not a 500. */
function decodeParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw invalidParameter(`invalid escape in the request path: ${raw}`);
  }
}

function checkVersion(v: string): void {
  if (compareApiVersions(v, API_VERSION) > 0) {
    throw invalidParameter(`client version ${v} is too new. Maximum supported API version is ${API_VERSION}`);
  }
  if (compareApiVersions(v, MIN_API_VERSION) < 0) {
    throw invalidParameter(
      `client version ${v} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
    );
  }
}

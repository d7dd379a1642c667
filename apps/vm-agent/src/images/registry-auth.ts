/**
 * Registry authentication: parsing `WWW-Authenticate` challenges, Basic
 * credentials, and Bearer tokens from a registry's token server (the scheme
 * Docker Hub uses), cached per scope until they expire.
 *
 * Only the registry client uses this (`registry-client.ts`, and
 * `registry-response.ts` for the wording of errors); it decides *when* to authenticate
 * (after a 401), this file decides *how*.
 */
import { createHash } from 'node:crypto';
import { EngineError, errorMessage, unauthorized, unavailable } from '../errors.js';

/** What `docker login` stores for a registry (the Docker API's AuthConfig, trimmed). */
export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token from an earlier login; used instead of the password. */
  identitytoken?: string;
  /** A bearer token to send as is, skipping the token server. */
  registrytoken?: string;
}

/** One challenge of a `WWW-Authenticate` header: scheme lowercased, parameter names lowercased. */
export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

/** The client id we give token servers (they log it; Docker sends "docker"). */
const CLIENT_ID = 'berth';
/** A token is refreshed this long before it expires, so a request never races its expiry. */
const EXPIRY_MARGIN_MS = 10_000;
/** The spec's default lifetime when the token server gives no `expires_in`. */
const DEFAULT_TOKEN_SECONDS = 60;

/**
 * Parses a `WWW-Authenticate` header into its challenges, e.g.
 * `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"`.
 * Tolerates several challenges in one header, unquoted values and escaped quotes.
 */
export function parseAuthChallenges(header: string | null | undefined): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  if (!header) return out;
  let i = 0;
  const n = header.length;
  const skip = (chars: string) => {
    while (i < n && chars.includes(header[i]!)) i++;
  };
  const token = () => {
    const start = i;
    while (i < n && !' \t,="'.includes(header[i]!)) i++;
    return header.slice(start, i);
  };
  let current: AuthChallenge | undefined;
  while (i < n) {
    skip(' \t,');
    if (i >= n) break;
    const word = token();
    if (!word) {
      i++; // a stray character; move on rather than loop forever
      continue;
    }
    const save = i;
    skip(' \t');
    if (header[i] === '=' && current) {
      // key=value (a value never starts a new challenge)
      i++;
      skip(' \t');
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < n && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < n) i++;
          value += header[i];
          i++;
        }
        i++; // closing quote
      } else {
        value = token();
      }
      current.params[word.toLowerCase()] = value;
    } else {
      i = save;
      current = { scheme: word.toLowerCase(), params: {} };
      out.push(current);
    }
  }
  return out;
}

/** Picks the challenge we can answer: Bearer first (it is scoped), then Basic. */
export function pickChallenge(challenges: AuthChallenge[]): AuthChallenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer' && c.params.realm) ?? challenges.find((c) => c.scheme === 'basic');
}

export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** `repository:NAME:pull` or `repository:NAME:pull,push`: the scopes a token is asked for. */
export function repositoryScope(path: string, actions: 'pull' | 'pull,push'): string {
  return `repository:${path}:${actions}`;
}

export interface BearerToken {
  token: string;
  /** Epoch milliseconds after which the token must not be used. */
  expiresAt: number;
  /** Given when asked with `offline_token=true` or a refresh-token grant; docker calls it the identity token. */
  refreshToken?: string;
}

/**
 * Asks a token server for a bearer token.
 *
 * With an identity token it uses the OAuth2 refresh-token grant (POST), as
 * docker does; otherwise a GET with Basic credentials if any (anonymous
 * otherwise). A refusal is an `unauthorized` error carrying the server's
 * message (`unauthorized: incorrect username or password`); an unreachable
 * server is `unavailable`.
 */
export async function fetchBearerToken(
  challenge: AuthChallenge,
  scopes: string[],
  credentials: RegistryCredentials | undefined,
  opts: { userAgent: string; offline?: boolean },
): Promise<BearerToken> {
  const realm = challenge.params.realm;
  if (!realm) throw unauthorized('unauthorized: the registry asked for a bearer token but named no token server');
  let url: URL;
  try {
    url = new URL(realm);
  } catch (err) {
    throw unauthorized(`unauthorized: the registry's token server address is not a URL: ${realm}`, err);
  }
  const service = challenge.params.service;
  const headers: Record<string, string> = { 'user-agent': opts.userAgent, accept: 'application/json' };
  let init: RequestInit;
  if (credentials?.identitytoken) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credentials.identitytoken, client_id: CLIENT_ID });
    if (service) form.set('service', service);
    if (scopes.length) form.set('scope', scopes.join(' '));
    if (opts.offline) form.set('access_type', 'offline');
    headers['content-type'] = 'application/x-www-form-urlencoded';
    init = { method: 'POST', headers, body: form.toString() };
  } else {
    if (service) url.searchParams.set('service', service);
    for (const s of scopes) url.searchParams.append('scope', s);
    if (opts.offline && credentials?.username) {
      url.searchParams.set('offline_token', 'true');
      url.searchParams.set('client_id', CLIENT_ID);
    }
    if (credentials?.username) headers.authorization = basicAuthorization(credentials.username, credentials.password ?? '');
    init = { method: 'GET', headers };
  }
  const started = Date.now();
  let res: Response;
  try {
    res = await fetch(url, { ...init, redirect: 'follow' });
  } catch (err) {
    throw unavailable(`${goMethod(init.method ?? 'GET')} "${url.origin}${url.pathname}": ${networkErrorMessage(err, url)}`, err);
  }
  const text = await res.text().catch(() => '');
  if (res.status === 401 || res.status === 403) {
    throw unauthorized(registryErrorMessage(res.status, text, 'unauthorized: authentication required', true));
  }
  if (!res.ok) {
    throw new EngineError(
      res.status >= 500 ? 'unavailable' : 'unauthorized',
      `getting a token from ${url.origin}${url.pathname}: ${registryErrorMessage(res.status, text, `${res.status} ${res.statusText}`)}`,
    );
  }
  let body: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown; refresh_token?: unknown };
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw unauthorized(`the token server ${url.origin}${url.pathname} answered something that is not JSON`, err);
  }
  const token = typeof body.access_token === 'string' && body.access_token ? body.access_token : body.token;
  if (typeof token !== 'string' || !token) {
    throw unauthorized(`the token server ${url.origin}${url.pathname} answered without a token`);
  }
  const seconds = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_SECONDS;
  const issued = typeof body.issued_at === 'string' ? Date.parse(body.issued_at) : NaN;
  // A token server's clock may differ from ours: trust its lifetime, not its issue time, when they disagree.
  const base = Number.isFinite(issued) && Math.abs(issued - started) < 60_000 ? Math.min(issued, started) : started;
  const result: BearerToken = { token, expiresAt: base + seconds * 1000 - Math.min(EXPIRY_MARGIN_MS, (seconds * 1000) / 4) };
  if (typeof body.refresh_token === 'string' && body.refresh_token) result.refreshToken = body.refresh_token;
  return result;
}

/**
 * Remembers bearer tokens per (registry, token server, scopes, credentials)
 * until they expire, and shares one token request between concurrent
 * callers (layers are fetched in parallel; they should not each log in).
 */
export class TokenCache {
  readonly #entries = new Map<string, Promise<BearerToken>>();

  async get(domain: string, challenge: AuthChallenge, scopes: string[], credentials: RegistryCredentials | undefined, userAgent: string): Promise<string> {
    const key = TokenCache.#key(domain, challenge, scopes, credentials);
    const cached = this.#entries.get(key);
    if (cached) {
      const tok = await cached.catch(() => undefined);
      if (tok && tok.expiresAt > Date.now()) return tok.token;
      if (this.#entries.get(key) === cached) this.#entries.delete(key);
    }
    let pending = this.#entries.get(key);
    if (!pending) {
      pending = fetchBearerToken(challenge, scopes, credentials, { userAgent });
      this.#entries.set(key, pending);
      // A failed request is not cached: the next caller asks again.
      pending.catch(() => {
        if (this.#entries.get(key) === pending) this.#entries.delete(key);
      });
    }
    return (await pending).token;
  }

  /** Forgets the token for these scopes (the registry refused it). */
  invalidate(domain: string, challenge: AuthChallenge, scopes: string[], credentials: RegistryCredentials | undefined): void {
    this.#entries.delete(TokenCache.#key(domain, challenge, scopes, credentials));
  }

  static #key(domain: string, challenge: AuthChallenge, scopes: string[], credentials: RegistryCredentials | undefined): string {
    // Credentials are part of the key (a login between two pulls must take effect) but never kept in clear.
    const who = credentials ? createHash('sha256').update(JSON.stringify(credentials)).digest('hex').slice(0, 16) : '-';
    return [domain, challenge.params.realm, challenge.params.service ?? '', [...scopes].sort().join(' '), who].join('|');
  }
}

/**
 * The message of a registry's (or token server's) error body, worded like
 * docker's errcode: `manifest unknown: manifest unknown`,
 * `unauthorized: authentication required`. Docker Hub's token server answers
 * `{"details": "..."}`, which reads as `unauthorized: <details>`.
 */
export function registryErrorMessage(status: number, text: string, fallback: string, isAuth = false): string {
  try {
    const body = JSON.parse(text) as { errors?: unknown; details?: unknown; message?: unknown };
    if (Array.isArray(body.errors) && body.errors.length) {
      const parts = body.errors.map((e: { code?: unknown; message?: unknown }) => {
        const code = typeof e?.code === 'string' ? e.code.toLowerCase().replace(/_/g, ' ') : '';
        const msg = typeof e?.message === 'string' ? e.message : '';
        return code && msg ? `${code}: ${msg}` : code || msg;
      });
      const joined = parts.filter(Boolean).join('; ');
      if (joined) return joined;
    }
    const detail = typeof body.details === 'string' ? body.details : typeof body.message === 'string' ? body.message : '';
    if (detail) return isAuth || status === 401 ? `unauthorized: ${detail}` : detail;
  } catch {
    // not JSON: fall through
  }
  return fallback;
}

/** Go's spelling of an HTTP method in its client errors: `Get "https://..."`. */
export function goMethod(method: string): string {
  const m = method.toUpperCase();
  return m.charAt(0) + m.slice(1).toLowerCase();
}

/**
 * Words a failed connection as Go's net package does, since users compare it
 * with dockerd's: `dial tcp 127.0.0.1:5999: connect: connection refused`.
 */
export function networkErrorMessage(err: unknown, url: URL): string {
  let cause: unknown = err;
  // fetch wraps the system error: TypeError('fetch failed', { cause })
  while (cause instanceof Error && cause.cause && !(cause as NodeJS.ErrnoException).code) cause = cause.cause;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const host = url.hostname.startsWith('[') ? url.hostname : url.hostname.includes(':') ? `[${url.hostname}]` : url.hostname;
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const addr = `${host}:${port}`;
  switch (code) {
    case 'ECONNREFUSED':
      return `dial tcp ${addr}: connect: connection refused`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `dial tcp: lookup ${url.hostname}: no such host`;
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `dial tcp ${addr}: i/o timeout`;
    case 'EHOSTUNREACH':
      return `dial tcp ${addr}: connect: no route to host`;
    case 'ENETUNREACH':
      return `dial tcp ${addr}: connect: network is unreachable`;
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return `read tcp ${addr}: connection reset by peer`;
    default:
      return errorMessage(cause);
  }
}

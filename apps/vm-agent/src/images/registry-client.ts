/**
 * The one registry client: Docker Registry HTTP API v2 / OCI distribution.
 *
 * It moves bytes and names; it knows nothing of manifests' contents, the
 * content store or pull progress (the callers do). Contracts:
 * - A repository is `{domain, path}` exactly as the reference parser gives
 *   it: `docker.io` + `library/busybox`, `127.0.0.1:5000` + `x`.
 * - `docker.io` is served by https://registry-1.docker.io (registry-endpoint.ts). Loopback
 *   registries (localhost, 127.0.0.0/8, ::1) are spoken to over plain HTTP,
 *   every other one over HTTPS (dockerd's default).
 * - Every request goes anonymously until the registry says otherwise (a 401
 *   on `GET /v2/`, remembered per domain, or on the request itself); then
 *   Basic credentials, or a Bearer token for exactly the scopes the request
 *   needs, cached until it expires.
 * - Errors are EngineErrors worded like dockerd's: `notFound` for unknown
 *   manifests and blobs, `unauthorized` for missing or refused credentials,
 *   `unavailable` for an unreachable or failing registry.
 * - Safe for concurrent use; connections are kept alive by fetch's pool.
 */
import { Readable } from 'node:stream';
import { EngineError, invalidParameter, notFound, systemError, unauthorized, unavailable } from '../errors.js';
import { blobTooLarge, blobTooSmall, capToDescriptor, type SizedBlob } from './blob-size.js';
import {
  type AuthChallenge,
  type RegistryCredentials,
  TokenCache,
  basicAuthorization,
  fetchBearerToken,
  goMethod,
  networkErrorMessage,
  parseAuthChallenges,
  pickChallenge,
  registryErrorMessage,
  repositoryScope,
} from './registry-auth.js';
import { loopbackDispatcher } from './loopback-dial.js';
import { digestOf, displayName, isDigest, isLoopbackDomain, registryBaseUrl, type RepositoryRef } from './registry-endpoint.js';
import { MAX_MANIFEST_BYTES, manifestMediaType, readCapped, readErrorBody, statusErrorFrom, tooLarge, withContext } from './registry-response.js';

export type { RegistryCredentials } from './registry-auth.js';
export type { RepositoryRef } from './registry-endpoint.js';
export { MAX_MANIFEST_BYTES } from './registry-response.js';

export interface FetchedManifest {
  /** From Content-Type, or the body's own `mediaType` when the registry sends a generic type. */
  mediaType: string;
  /** Computed from the body (`sha256:...`), never taken on trust from a header. */
  digest: string;
  body: Buffer;
}

export interface RegistryClientOptions {
  /** Looked up on every request, so a login takes effect without a new client. */
  credentials?: (domain: string) => RegistryCredentials | undefined;
  userAgent?: string;
  /**
   * In the VM: the address that reaches the host's loopback (QEMU's 10.0.2.2).
   * Loopback registries are dialed there, keeping their names (loopback-dial.ts).
   */
  loopbackGateway?: string;
}

const MAX_REDIRECTS = 10;

interface SendOptions {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Full URL, or a path below the registry's base URL. */
  url: string;
  scopes: string[];
  headers?: Record<string, string>;
  /** Called for each attempt, so a request can be sent again after a 401. */
  body?: () => Buffer | Readable | string;
  /** Follow redirects, dropping credentials when leaving the registry's origin. */
  followRedirects?: boolean;
  /** Aborts the exchange, and a response body still streaming (the puller's client went away). */
  signal?: AbortSignal;
}

export class RegistryClient {
  readonly #credentials: (domain: string) => RegistryCredentials | undefined;
  readonly #userAgent: string;
  readonly #tokens = new TokenCache();
  /** Per domain: the challenge of `GET /v2/` (undefined: no auth asked). */
  readonly #challenges = new Map<string, Promise<AuthChallenge | undefined>>();
  readonly #dispatcher: ReturnType<typeof loopbackDispatcher> | undefined;

  constructor(opts: RegistryClientOptions = {}) {
    this.#credentials = opts.credentials ?? (() => undefined);
    this.#userAgent = opts.userAgent ?? 'berth';
    if (opts.loopbackGateway) this.#dispatcher = loopbackDispatcher(opts.loopbackGateway, isLoopbackDomain);
  }

  /**
   * GET a manifest (or index) by tag or digest. `accept` lists the media
   * types the caller understands, best first. The body is verified against
   * a digest reference and against the registry's Docker-Content-Digest.
   * Given a descriptor (an index's entry), the body must be its size exactly:
   * reading stops at the first byte over it.
   */
  async fetchManifest(repo: RepositoryRef, ref: string | SizedBlob, accept: string[], signal?: AbortSignal): Promise<FetchedManifest> {
    const reference = typeof ref === 'string' ? ref : ref.digest;
    const sep = isDigest(reference) ? '@' : ':';
    const what = `${displayName(repo)}${sep}${reference}`;
    const res = await this.#send(repo.domain, {
      method: 'GET',
      url: `/v2/${repo.path}/manifests/${reference}`,
      scopes: [repositoryScope(repo.path, 'pull')],
      headers: { accept: accept.join(', ') },
      ...(signal ? { signal } : {}),
    });
    if (res.status === 404) {
      const text = await readErrorBody(res);
      throw notFound(`manifest for ${what} not found: ${registryErrorMessage(404, text, 'manifest unknown: manifest unknown')}`);
    }
    if (!res.ok) throw await this.#statusError(res, 'GET', what);
    const declared = Number(res.headers.get('content-length'));
    if (declared > MAX_MANIFEST_BYTES) {
      await res.body?.cancel().catch(() => {});
      throw tooLarge(what, declared);
    }
    const sized = typeof ref === 'string' ? undefined : ref;
    const body =
      sized && sized.size <= MAX_MANIFEST_BYTES
        ? await readCapped(res, sized.size, () => blobTooLarge(sized))
        : await readCapped(res, MAX_MANIFEST_BYTES, () => tooLarge(what));
    if (sized && body.length < sized.size) throw blobTooSmall(sized, body.length);
    const algorithm = isDigest(reference) ? reference.slice(0, reference.indexOf(':')) : 'sha256';
    const digest = digestOf(algorithm, body);
    if (isDigest(reference) && digest !== reference) {
      throw systemError(`manifest verification failed for digest ${reference}: the registry sent content with digest ${digest}`);
    }
    const header = res.headers.get('docker-content-digest');
    if (header && header.startsWith(`${algorithm}:`) && header !== digest) {
      throw systemError(`manifest for ${what}: the registry says its digest is ${header} but the content it sent has digest ${digest}`);
    }
    return { mediaType: manifestMediaType(res.headers.get('content-type'), body), digest, body };
  }

  /**
   * GET a blob, following redirects (to a CDN or object store, which never
   * see our credentials). The caller verifies the digest while it streams
   * and must consume or destroy `body`. Given a descriptor, `body` fails
   * unless it is the descriptor's size exactly (see capToDescriptor).
   */
  async fetchBlob(repo: RepositoryRef, blob: string | SizedBlob, signal?: AbortSignal): Promise<{ size?: number; body: Readable }> {
    const digest = typeof blob === 'string' ? blob : blob.digest;
    const res = await this.#send(repo.domain, {
      method: 'GET',
      url: `/v2/${repo.path}/blobs/${digest}`,
      scopes: [repositoryScope(repo.path, 'pull')],
      followRedirects: true,
      ...(signal ? { signal } : {}),
    });
    if (res.status === 404) {
      const text = await readErrorBody(res);
      throw notFound(`blob ${digest} not found in ${displayName(repo)}: ${registryErrorMessage(404, text, 'blob unknown: blob unknown to registry')}`);
    }
    if (!res.ok) throw await this.#statusError(res, 'GET', `${displayName(repo)}@${digest}`);
    if (!res.body) throw unavailable(`the registry sent no content for blob ${digest} of ${displayName(repo)}`);
    const length = res.headers.get('content-length');
    const size = length !== null && /^\d+$/.test(length) ? Number(length) : undefined;
    const raw = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
    const body = typeof blob === 'string' ? raw : capToDescriptor(raw, blob);
    return { ...(size !== undefined ? { size } : {}), body };
  }

  /** HEAD a blob: true if the repository has it. */
  async blobExists(repo: RepositoryRef, digest: string): Promise<boolean> {
    const res = await this.#send(repo.domain, {
      method: 'HEAD',
      url: `/v2/${repo.path}/blobs/${digest}`,
      scopes: [repositoryScope(repo.path, 'pull')],
      followRedirects: true,
    });
    if (res.status === 404) return false;
    if (res.ok) return true;
    throw await this.#statusError(res, 'HEAD', `${displayName(repo)}@${digest}`);
  }

  /**
   * Uploads a blob the registry does not have (check with blobExists first).
   * With `mountFrom` (a repository path on the same registry holding the
   * blob) it asks for a cross-repository mount first, which copies nothing;
   * the registry may decline, and then the content is uploaded. The upload
   * is monolithic: POST opens a session, one PUT with `?digest=` sends all
   * `size` bytes from `open()` (called again if the PUT must be retried) and
   * the registry verifies them.
   */
  async uploadBlob(repo: RepositoryRef, digest: string, size: number, open: () => Readable, opts: { mountFrom?: string } = {}): Promise<void> {
    const name = displayName(repo);
    const scopes = [repositoryScope(repo.path, 'pull,push')];
    let url = `/v2/${repo.path}/blobs/uploads/`;
    if (opts.mountFrom && opts.mountFrom !== repo.path) {
      url += `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(opts.mountFrom)}`;
      scopes.push(repositoryScope(opts.mountFrom, 'pull'));
    }
    const start = await this.#send(repo.domain, { method: 'POST', url, scopes, headers: { 'content-length': '0' } });
    await start.body?.cancel().catch(() => {});
    if (start.status === 201) return; // mounted
    if (start.status !== 202) throw await this.#statusError(start, 'POST', `uploading ${digest} to ${name}`);
    const location = start.headers.get('location');
    if (!location) throw unavailable(`the registry opened an upload to ${name} without giving its location`);
    const session = new URL(location, `${registryBaseUrl(repo.domain)}${url}`);
    session.searchParams.set('digest', digest);
    const put = await this.#send(repo.domain, {
      method: 'PUT',
      url: session.toString(),
      scopes: [repositoryScope(repo.path, 'pull,push')],
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
      body: open,
    });
    await put.body?.cancel().catch(() => {});
    if (put.status !== 201) {
      if (put.status === 400) {
        throw invalidParameter(`uploading ${digest} to ${name}: the registry refused the content (wrong digest or size?)`);
      }
      throw await this.#statusError(put, 'PUT', `uploading ${digest} to ${name}`);
    }
  }

  /**
   * PUT a manifest under a tag or digest; returns the digest of `body`. A
   * digest reference must be the body's digest.
   */
  async putManifest(repo: RepositoryRef, reference: string, mediaType: string, body: Buffer): Promise<string> {
    const digest = digestOf('sha256', body);
    if (isDigest(reference) && digestOf(reference.slice(0, reference.indexOf(':')), body) !== reference) {
      throw invalidParameter(`cannot push a manifest as ${reference}: its content has digest ${digest}`);
    }
    const sep = isDigest(reference) ? '@' : ':';
    const res = await this.#send(repo.domain, {
      method: 'PUT',
      url: `/v2/${repo.path}/manifests/${reference}`,
      scopes: [repositoryScope(repo.path, 'pull,push')],
      headers: { 'content-type': mediaType, 'content-length': String(body.length) },
      body: () => body,
    });
    const text = await readErrorBody(res);
    if (res.status !== 201 && res.status !== 200) {
      throw statusErrorFrom(res, text, 'PUT', `${displayName(repo)}${sep}${reference}`);
    }
    const header = res.headers.get('docker-content-digest');
    if (header && header.startsWith('sha256:') && header !== digest) {
      throw systemError(`the registry stored the manifest for ${displayName(repo)}${sep}${reference} as ${header}, not ${digest}`);
    }
    return digest;
  }

  /**
   * Checks credentials the way `docker login` does (POST /auth): the
   * registry's `/v2/` must answer 200 with them. For token servers it asks an
   * offline token; a returned refresh token is the identity token docker
   * stores instead of the password.
   */
  async login(domain: string, credentials: RegistryCredentials | undefined = this.#credentials(domain)): Promise<{ status: string; identityToken?: string }> {
    const pingUrl = `${registryBaseUrl(domain)}/v2/`;
    const challenge = await this.#ping(domain, true);
    if (!challenge) return { status: 'Login Succeeded' };
    let authorization: string;
    let identityToken: string | undefined;
    if (challenge.scheme === 'basic') {
      if (!credentials?.username) throw unauthorized(`Get "${pingUrl}": no basic auth credentials`);
      authorization = basicAuthorization(credentials.username, credentials.password ?? '');
    } else {
      try {
        const tok = await fetchBearerToken(challenge, [], credentials, { userAgent: this.#userAgent, offline: true });
        authorization = `Bearer ${tok.token}`;
        identityToken = tok.refreshToken;
      } catch (err) {
        throw withContext(err, `Get "${pingUrl}"`);
      }
    }
    const res = await this.#fetch('GET', pingUrl, { 'user-agent': this.#userAgent, authorization });
    const text = await readErrorBody(res);
    if (res.status === 401) {
      throw unauthorized(`Get "${pingUrl}": ${registryErrorMessage(401, text, 'unauthorized: authentication required')}`);
    }
    if (!res.ok) throw statusErrorFrom(res, text, 'GET', domain);
    return identityToken ? { status: 'Login Succeeded', identityToken } : { status: 'Login Succeeded' };
  }

  /** Learns (once per domain) whether the registry wants credentials, from `GET /v2/`. */
  #ping(domain: string, fresh = false): Promise<AuthChallenge | undefined> {
    let p = fresh ? undefined : this.#challenges.get(domain);
    if (!p) {
      p = (async () => {
        const url = `${registryBaseUrl(domain)}/v2/`;
        const res = await this.#fetch('GET', url, { 'user-agent': this.#userAgent });
        const text = await readErrorBody(res);
        if (res.status === 401) return pickChallenge(parseAuthChallenges(res.headers.get('www-authenticate')));
        if (res.ok) return undefined;
        throw unavailable(`Get "${url}": ${registryErrorMessage(res.status, text, `received unexpected HTTP status: ${res.status} ${res.statusText}`)}`);
      })();
      this.#challenges.set(domain, p);
      // A failed ping (registry down) is asked again next time.
      p.catch(() => {
        if (this.#challenges.get(domain) === p) this.#challenges.delete(domain);
      });
    }
    return p;
  }

  /** The Authorization header for `scopes` under `challenge`, or undefined to go anonymously. */
  async #authorization(domain: string, challenge: AuthChallenge | undefined, scopes: string[]): Promise<string | undefined> {
    if (!challenge) return undefined;
    const creds = this.#credentials(domain);
    if (creds?.registrytoken) return `Bearer ${creds.registrytoken}`;
    if (challenge.scheme === 'basic') {
      return creds?.username ? basicAuthorization(creds.username, creds.password ?? '') : undefined;
    }
    return `Bearer ${await this.#tokens.get(domain, challenge, scopes, creds, this.#userAgent)}`;
  }

  /**
   * Sends a request with the right credentials: anonymously or with what the
   * domain's challenge asks, and once more with fresh credentials if the
   * registry answers 401 (expired token, or a scope it wants widened). A
   * second 401 is an `unauthorized` error.
   */
  async #send(domain: string, opts: SendOptions): Promise<Response> {
    const base = registryBaseUrl(domain);
    const url = /^https?:\/\//.test(opts.url) ? opts.url : `${base}${opts.url}`;
    let challenge = await this.#ping(domain);
    let scopes = opts.scopes;
    for (let attempt = 0; ; attempt++) {
      let authorization: string | undefined;
      try {
        authorization = await this.#authorization(domain, challenge, scopes);
      } catch (err) {
        throw withContext(err, `${goMethod(opts.method)} "${url}"`);
      }
      const headers: Record<string, string> = { 'user-agent': this.#userAgent, ...opts.headers };
      if (authorization) headers.authorization = authorization;
      const res = await this.#fetch(opts.method, url, headers, opts.body?.(), opts.followRedirects, opts.signal);
      if (res.status !== 401) return res;
      const text = await readErrorBody(res);
      const fresh = pickChallenge(parseAuthChallenges(res.headers.get('www-authenticate')));
      const creds = this.#credentials(domain);
      if (attempt === 0 && fresh) {
        if (challenge?.scheme === 'bearer') this.#tokens.invalidate(domain, challenge, scopes, creds);
        // insufficient_scope names the scope the registry wants; ask for it too.
        const wanted = fresh.params.scope;
        if (fresh.scheme === 'bearer' && wanted) scopes = [...new Set([...scopes, ...wanted.split(' ')])];
        const retry = authorization === undefined || fresh.scheme === 'bearer';
        challenge = fresh;
        this.#challenges.set(domain, Promise.resolve(fresh));
        if (retry && (fresh.scheme === 'bearer' || creds?.username)) continue;
      }
      const noCreds = challenge?.scheme === 'basic' && !creds?.username;
      throw unauthorized(
        `${goMethod(opts.method)} "${url}": ${
          noCreds ? 'no basic auth credentials' : registryErrorMessage(401, text, 'unauthorized: authentication required')
        }`,
      );
    }
  }

  /** One HTTP exchange (plus redirects); network failures become `unavailable`, worded like Go's. */
  async #fetch(
    method: string,
    url: string,
    headers: Record<string, string>,
    body?: Buffer | Readable | string,
    followRedirects = false,
    signal?: AbortSignal,
  ): Promise<Response> {
    let current = new URL(url);
    const origin = current.origin;
    for (let hop = 0; ; hop++) {
      const init: RequestInit & { duplex?: 'half' } = { method, headers, redirect: 'manual' };
      if (signal) init.signal = signal;
      // Only dispatch() is ever called on it (loopback-dial.ts).
      if (this.#dispatcher) (init as { dispatcher?: unknown }).dispatcher = this.#dispatcher;
      if (body !== undefined) {
        init.body = body instanceof Readable ? (body as unknown as ReadableStream) : body;
        if (body instanceof Readable) init.duplex = 'half';
      }
      let res: Response;
      try {
        res = await fetch(current, init);
      } catch (err) {
        if (body instanceof Readable) body.destroy();
        throw unavailable(`${goMethod(method)} "${current}": ${networkErrorMessage(err, current)}`, err);
      }
      const location = res.headers.get('location');
      if (!followRedirects || res.status < 300 || res.status >= 400 || res.status === 304 || !location) return res;
      await res.body?.cancel().catch(() => {});
      if (hop >= MAX_REDIRECTS) throw unavailable(`${goMethod(method)} "${url}": stopped after ${MAX_REDIRECTS} redirects`);
      current = new URL(location, current);
      if (current.origin !== origin && headers.authorization) {
        // A pre-signed CDN or object-store URL carries its own authorization.
        const { authorization: _dropped, ...rest } = headers;
        headers = rest;
      }
    }
  }

  /** An error for an unexpected status, with the registry's own message. */
  async #statusError(res: Response, method: string, what: string): Promise<EngineError> {
    return statusErrorFrom(res, await readErrorBody(res), method, what);
  }
}

/**
 * A real registry for tests: Debian's `docker-registry` (distribution 2.8)
 * on 127.0.0.1 with a free port and its own storage, stopped and removed by
 * `stop()`.
 *
 * Three variants:
 * - `none`: anonymous pull and push.
 * - `basic`: htpasswd (distribution accepts it without TLS; checked).
 * - `token`: Bearer tokens, as Docker Hub does: the registry trusts a
 *   self-signed certificate made with openssl, and a small token server here
 *   checks Basic credentials and signs RS256 JWTs with node:crypto. Anonymous
 *   callers get a token granting nothing, so the registry refuses them.
 */
import { execFile, spawn } from 'node:child_process';
import { createPrivateKey, createSign, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reap } from './reaper.js';
import { promisify } from 'node:util';
import { freePort, listenOnLoopback } from './net.js';

const execFileP = promisify(execFile);
const REGISTRY_BIN = process.env.BERTH_REGISTRY_BIN ?? '/usr/bin/docker-registry';

export type RegistryAuthMode = 'none' | 'basic' | 'token';

export interface TestRegistry {
  /** As in image references: `127.0.0.1:PORT`. */
  domain: string;
  /** `http://127.0.0.1:PORT` */
  url: string;
  auth: RegistryAuthMode;
  /** The accepted credentials (basic and token variants). */
  username: string;
  password: string;
  /** The token server's base URL (token variant). */
  tokenRealm?: string;
  /** Storage and config live here; removed by stop(). */
  dir: string;
  /** The registry's log so far (show it when a test fails). */
  log(): string;
  stop(): Promise<void>;
}

export interface StartRegistryOptions {
  auth?: RegistryAuthMode;
  username?: string;
  password?: string;
}

export { freePort };

export async function startRegistry(opts: StartRegistryOptions = {}): Promise<TestRegistry> {
  const auth = opts.auth ?? 'none';
  const username = opts.username ?? 'berth';
  const password = opts.password ?? 'berth-test-password';
  const dir = await mkdtemp(join(tmpdir(), 'berth-registry-'));
  let tokenServer: TokenServer | undefined;
  try {
    let authYaml = '';
    if (auth === 'basic') {
      // bcrypt is what distribution's htpasswd accepts.
      const { stdout } = await execFileP('htpasswd', ['-Bbn', username, password]);
      await writeFile(join(dir, 'htpasswd'), stdout);
      authYaml = `auth:\n  htpasswd:\n    realm: berth-test\n    path: ${join(dir, 'htpasswd')}\n`;
    } else if (auth === 'token') {
      tokenServer = await startTokenServer(dir, username, password);
      authYaml =
        `auth:\n  token:\n    realm: ${tokenServer.realm}\n    service: ${TOKEN_SERVICE}\n` +
        `    issuer: ${TOKEN_ISSUER}\n    rootcertbundle: ${tokenServer.certPath}\n`;
    }
    // A port can be taken between freePort() and the registry's bind; try a few.
    let lastError: unknown;
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const config =
        `version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n` +
        `storage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n  delete:\n    enabled: true\n` +
        `http:\n  addr: 127.0.0.1:${port}\n  secret: ${randomBytes(16).toString('hex')}\n${authYaml}`;
      await writeFile(join(dir, 'config.yml'), config);
      try {
        return await launch(dir, port, auth, username, password, tokenServer);
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
  } catch (err) {
    await tokenServer?.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function launch(
  dir: string,
  port: number,
  auth: RegistryAuthMode,
  username: string,
  password: string,
  tokenServer: TokenServer | undefined,
): Promise<TestRegistry> {
  const child = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  reap(child);
  let log = '';
  const append = (b: Buffer) => {
    log = (log + b.toString()).slice(-64 * 1024);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (err) => append(Buffer.from(`spawn ${REGISTRY_BIN}: ${err.message}\n`)));
  const url = `http://127.0.0.1:${port}`;

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await tokenServer?.close();
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await exited;
      throw new Error(`docker-registry exited before answering on ${url}:\n${log}`);
    }
    try {
      const res = await fetch(`${url}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`docker-registry did not answer on ${url}/v2/ within 15 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    domain: `127.0.0.1:${port}`,
    url,
    auth,
    username,
    password,
    ...(tokenServer ? { tokenRealm: tokenServer.realm } : {}),
    dir,
    log: () => log,
    stop,
  };
}

// ---- token server ----------------------------------------------------------

const TOKEN_SERVICE = 'berth-test-registry';
const TOKEN_ISSUER = 'berth-test-issuer';
const TOKEN_SECONDS = 300;

interface TokenServer {
  realm: string;
  certPath: string;
  close(): Promise<void>;
}

interface Access {
  type: string;
  name: string;
  actions: string[];
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/**
 * Signs a registry token (distribution's `auth/token` format): RS256, with
 * the certificate in `x5c` so the registry checks it against its root bundle.
 */
function signToken(keyPem: string, certDerB64: string, subject: string, access: Access[]): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: 'JWT', alg: 'RS256', x5c: [certDerB64] };
  const claims = {
    iss: TOKEN_ISSUER,
    sub: subject,
    aud: TOKEN_SERVICE,
    exp: now + TOKEN_SECONDS,
    nbf: now - 10,
    iat: now,
    jti: randomBytes(12).toString('hex'),
    access,
  };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const sig = createSign('RSA-SHA256').update(input).sign(createPrivateKey(keyPem));
  return `${input}.${b64url(sig)}`;
}

/** `repository:NAME:pull,push` -> Access (names may contain ':' only before the port, never here). */
function parseScope(scope: string): Access | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last <= first) return undefined;
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(',') };
}

async function startTokenServer(dir: string, username: string, password: string): Promise<TokenServer> {
  const keyPath = join(dir, 'token.key');
  const certPath = join(dir, 'token.crt');
  await execFileP('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=berth-test-token-issuer',
    '-keyout',
    keyPath,
    '-out',
    certPath,
  ]);
  const keyPem = await readFile(keyPath, 'utf8');
  const certDerB64 = new X509Certificate(await readFile(certPath)).raw.toString('base64');
  /** refresh tokens handed out with offline_token=true (docker's identity token) -> user */
  const refreshTokens = new Map<string, string>();

  const refuse = (res: ServerResponse, details: string) => {
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ details }));
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://token');
    if (url.pathname !== '/token') {
      res.writeHead(404).end();
      return;
    }
    let params = url.searchParams;
    if (req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += chunk;
      params = new URLSearchParams(body);
    }
    let user: string | undefined;
    let refreshToken: string | undefined;
    if (req.method === 'POST' && params.get('grant_type') === 'refresh_token') {
      user = refreshTokens.get(params.get('refresh_token') ?? '');
      if (!user) return refuse(res, 'invalid refresh token');
    } else if (req.method === 'POST' && params.get('grant_type') === 'password') {
      if (params.get('username') !== username || params.get('password') !== password) {
        return refuse(res, 'incorrect username or password');
      }
      user = username;
    } else {
      const header = req.headers.authorization;
      if (header) {
        const [scheme, value] = header.split(' ');
        const [u, ...rest] = Buffer.from(value ?? '', 'base64')
          .toString()
          .split(':');
        if (scheme?.toLowerCase() !== 'basic' || u !== username || rest.join(':') !== password) {
          return refuse(res, 'incorrect username or password');
        }
        user = username;
        if (params.get('offline_token') === 'true') {
          refreshToken = randomBytes(16).toString('hex');
          refreshTokens.set(refreshToken, user);
        }
      }
    }
    // The scope parameter may repeat, and a POST form puts several in one, space-separated.
    const scopes = params
      .getAll('scope')
      .flatMap((s) => s.split(' '))
      .filter(Boolean);
    const access = user ? scopes.map(parseScope).filter((a): a is Access => !!a) : [];
    const token = signToken(keyPem, certDerB64, user ?? '', access);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        token,
        access_token: token,
        expires_in: TOKEN_SECONDS,
        issued_at: new Date().toISOString(),
        ...(refreshToken ? { refresh_token: refreshToken } : {}),
      }),
    );
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      res.writeHead(500).end(String(err));
    });
  });
  const { port, close } = await listenOnLoopback(server);
  return {
    realm: `http://127.0.0.1:${port}/token`,
    certPath,
    close,
  };
}

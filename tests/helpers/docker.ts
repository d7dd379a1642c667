/**
 * The real docker CLI against an engine socket, and raw Engine API requests.
 *
 * `DockerCli` runs `/usr/local/bin/docker` (or $BERTH_DOCKER_BIN) with
 * DOCKER_HOST set to the socket and its own DOCKER_CONFIG directory, so
 * logins and contexts never touch the user's. Each run has a timeout; a
 * command still running then is killed and the result says so.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const DOCKER_BIN = process.env.BERTH_DOCKER_BIN ?? '/usr/local/bin/docker';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions {
  /** Written to the command's stdin, then stdin is closed. */
  input?: string | Buffer;
  /** Default 60 s. */
  timeoutMs?: number;
  env?: Record<string, string>;
}

export class DockerCli {
  readonly host: string;
  readonly configDir: string;

  /** `socketOrHost`: a socket path or a `unix://` / `tcp://` host; `bin`: another docker CLI (the 20.10 one, say). */
  constructor(
    socketOrHost: string,
    readonly bin = DOCKER_BIN,
  ) {
    this.host = socketOrHost.includes('://') ? socketOrHost : `unix://${socketOrHost}`;
    this.configDir = mkdtempSync(join(tmpdir(), 'berth-docker-config-'));
  }

  /** `docker ARGS...`; never throws for a non-zero exit (check `code`). */
  run(args: string[], opts: RunOptions = {}): Promise<RunResult> {
    return runCommand(this.bin, args, {
      ...opts,
      env: { DOCKER_HOST: this.host, DOCKER_CONFIG: this.configDir, DOCKER_CLI_HINTS: 'false', ...opts.env },
    });
  }

  /** Like run(), but throws with both streams if the exit code is not 0. */
  async ok(args: string[], opts: RunOptions = {}): Promise<RunResult> {
    const r = await this.run(args, opts);
    if (r.code !== 0) {
      throw new Error(`docker ${args.join(' ')} exited ${r.code ?? r.signal}${r.timedOut ? ' (timed out)' : ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    }
    return r;
  }

  dispose(): void {
    rmSync(this.configDir, { recursive: true, force: true });
  }
}

/** Runs a command with a timeout (SIGKILL), collecting its output. */
export function runCommand(file: string, args: string[], opts: RunOptions & { cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.once('error', (e) => err.push(Buffer.from(`${file}: ${e.message}\n`)));
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), timedOut });
    });
    child.stdin.on('error', () => {}); // the command may exit without reading its input
    child.stdin.end(opts.input ?? '');
  });
}

export interface EngineResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text(): string;
  /** The body parsed as JSON (throws with the text if it is not). */
  json<T = unknown>(): T;
}

export interface EngineRequestOptions {
  /** An object is sent as JSON. */
  body?: Buffer | string | object;
  headers?: Record<string, string>;
  /** Default 30 s. */
  timeoutMs?: number;
}

/** One HTTP request to the Engine API on a Unix socket. */
export function engineRequest(socket: string, method: string, path: string, opts: EngineRequestOptions = {}): Promise<EngineResponse> {
  let payload: Buffer | undefined;
  const headers: Record<string, string> = { host: 'docker', ...opts.headers };
  if (opts.body !== undefined) {
    if (Buffer.isBuffer(opts.body) || typeof opts.body === 'string') payload = Buffer.from(opts.body);
    else {
      payload = Buffer.from(JSON.stringify(opts.body));
      headers['content-type'] ??= 'application/json';
    }
    headers['content-length'] = String(payload.length);
  }
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        clearTimeout(timer);
        const body = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          text: () => body.toString('utf8'),
          json: <T>() => {
            try {
              return JSON.parse(body.toString('utf8')) as T;
            } catch {
              throw new Error(`${method} ${path}: expected JSON, got ${res.statusCode}: ${body.toString('utf8').slice(0, 500)}`);
            }
          },
        });
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`${method} ${path} timed out`)), opts.timeoutMs ?? 30_000);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(payload);
  });
}

/**
 * A whole multiplexed body (logs, attach, exec without a TTY) split into its
 * streams: 8-byte headers (type, three zeros, big-endian length) and payloads.
 * Throws if the body is not made of whole frames.
 */
export function demuxBody(body: Buffer): { stdout: Buffer; stderr: Buffer } {
  const parts: Record<number, Buffer[]> = { 0: [], 1: [], 2: [] };
  let at = 0;
  while (at < body.length) {
    if (body.length - at < 8) throw new Error(`multiplexed body ends inside a frame header at byte ${at}`);
    const type = body[at]!;
    const size = body.readUInt32BE(at + 4);
    if (type > 2 || body.readUIntBE(at + 1, 3) !== 0) throw new Error(`not a multiplexed stream: bad frame header at byte ${at}`);
    if (body.length - at - 8 < size) throw new Error(`multiplexed body ends inside a frame at byte ${at}`);
    parts[type]!.push(body.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return { stdout: Buffer.concat(parts[1]!), stderr: Buffer.concat(parts[2]!) };
}

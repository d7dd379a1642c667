/**
 * The engine, started natively for a suite:
 * `node apps/vm-agent/dist/main.cjs --host unix://SOCK --data-root DIR`.
 *
 * `startAgent()` waits until `GET /_ping` answers on the socket, then until
 * the agent has loaded its state (a request it holds until then). `stop()`
 * sends SIGTERM (SIGKILL after 15 s), `kill9()` simulates a crash,
 * `restart()` starts it again on the same socket and data root, `dispose()`
 * stops it, unmounts whatever it left under its directory and removes it.
 * Its stderr is kept so a failing test can show it (`logs()`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reap } from './reaper.js';
import { after, afterEach } from 'node:test';
import { engineRequest } from './docker.js';

export const REPO_ROOT = process.env.BERTH_REPO ?? new URL('../..', import.meta.url).pathname;
export const AGENT_MAIN = join(REPO_ROOT, 'apps/vm-agent/dist/main.cjs');

export interface Agent {
  /** Path of the Docker API socket. */
  socket: string;
  /** `unix:///...`, for DOCKER_HOST. */
  host: string;
  dataRoot: string;
  /** The agent's stdout+stderr so far (last 256 KiB). */
  logs(): string;
  /** The running agent's process ID (benchmarks read its CPU time). */
  pid(): number | undefined;
  stop(): Promise<void>;
  kill9(): Promise<void>;
  restart(): Promise<void>;
  /** Stops the agent and removes its directories, unmounting what is left. Idempotent. */
  dispose(): Promise<void>;
}

export interface StartAgentOptions {
  /** Extra command-line flags after --host and --data-root. */
  args?: string[];
  env?: Record<string, string>;
  /** How long to wait for /_ping (default 20 s). */
  readyTimeoutMs?: number;
  /**
   * A command the agent runs under, which must end by exec'ing its arguments
   * (so signals reach the agent): e.g. unshare into a mount namespace where
   * a cgroup hierarchy is unmounted.
   */
  wrap?: string[];
}

export async function startAgent(opts: StartAgentOptions = {}): Promise<Agent> {
  if (!existsSync(AGENT_MAIN)) {
    throw new Error(`${AGENT_MAIN} does not exist: build the agent first (npm run build)`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'berth-agent-'));
  const socket = join(dir, 'docker.sock');
  const dataRoot = join(dir, 'data');
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log = '';
  let disposed = false;

  const running = () => !!child && child.exitCode === null && child.signalCode === null;

  const launch = async () => {
    const argv = [process.execPath, AGENT_MAIN, '--host', `unix://${socket}`, '--data-root', dataRoot, ...(opts.args ?? [])];
    const [cmd, ...args] = [...(opts.wrap ?? []), ...argv];
    const c = spawn(cmd!, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.env },
    });
    child = c;
    reap(c);
    const append = (b: Buffer) => {
      log = (log + b.toString()).slice(-256 * 1024);
    };
    c.stdout!.on('data', append);
    c.stderr!.on('data', append);
    c.once('error', (err) => append(Buffer.from(`spawn failed: ${err.message}\n`)));
    exited = new Promise<void>((resolve) =>
      c.once('exit', (code, sig) => {
        append(Buffer.from(`[agent exited: ${sig ?? code}]\n`));
        resolve();
      }),
    );
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 20_000);
    for (;;) {
      if (c.exitCode !== null || c.signalCode !== null) throw new Error(`the agent exited before answering /_ping:\n${log}`);
      try {
        const res = await engineRequest(socket, 'GET', '/_ping', { timeoutMs: 2000 });
        if (res.status === 200) break;
      } catch {
        // socket not there yet
      }
      if (Date.now() > deadline) {
        await terminate('SIGKILL');
        throw new Error(`the agent did not answer /_ping on ${socket} in time:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    // /_ping answers before the agent has loaded its state; any other request is
    // held until it has (and its start-up sweeps ran), so the suites see the store
    // as a client does.
    const loaded = await engineRequest(socket, 'GET', '/containers/json', { timeoutMs: Math.max(deadline - Date.now(), 5000) });
    if (loaded.status !== 200) throw new Error(`the agent answered /_ping but did not load its state (${loaded.status}: ${loaded.text()}):\n${log}`);
  };

  const terminate = async (signal: NodeJS.Signals) => {
    if (!running()) return;
    child!.kill(signal);
    const timer = signal === 'SIGKILL' ? undefined : setTimeout(() => child?.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };

  const agent: Agent = {
    socket,
    host: `unix://${socket}`,
    dataRoot,
    logs: () => log,
    pid: () => (running() ? child!.pid : undefined),
    stop: () => terminate('SIGTERM'),
    kill9: () => terminate('SIGKILL'),
    restart: async () => {
      await terminate('SIGTERM');
      await launch();
    },
    dispose: async () => {
      if (disposed) return;
      disposed = true;
      await terminate('SIGTERM');
      await unmountUnder(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await launch();
  } catch (err) {
    await agent.dispose();
    throw err;
  }
  return agent;
}

/**
 * Starts an agent for the enclosing suite: call at module or describe level.
 * The returned object is filled before the first test runs; it is disposed
 * in an after() hook, whatever happened. If a test failed, the agent's log is
 * printed to help.
 */
export function useAgent(opts: StartAgentOptions = {}): { current: Agent; ready: Promise<Agent> } {
  const holder = {} as { current: Agent; ready: Promise<Agent> };
  holder.ready = startAgent(opts).then((a) => (holder.current = a));
  holder.ready.catch(() => {}); // reported by the test that awaits it
  let failed = false;
  afterEach((t) => {
    if ((t as unknown as { passed?: boolean }).passed === false) failed = true;
  });
  after(async () => {
    const a = await holder.ready.catch(() => undefined);
    if (a && failed) process.stderr.write(`--- agent log (${a.socket}) ---\n${a.logs()}\n`);
    await a?.dispose();
  });
  return holder;
}

/** Lazily unmounts every mount point at or below `dir` (deepest first): overlays and binds a crash left. */
export async function unmountUnder(dir: string): Promise<void> {
  let info: string;
  try {
    info = await readFile('/proc/self/mountinfo', 'utf8');
  } catch {
    return;
  }
  const points = info
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const p of points) {
    await new Promise<void>((resolve) => {
      const u = spawn('umount', ['-l', p], { stdio: 'ignore' });
      u.once('exit', () => resolve());
      u.once('error', () => resolve());
    });
  }
}

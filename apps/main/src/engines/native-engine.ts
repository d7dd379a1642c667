/**
 * The engine run natively on a Linux host (root): the agent as a child
 * process, its socket at `$BERTH_HOME/run/docker.sock` and its state under
 * `$BERTH_HOME/native/`. Its output goes to `$BERTH_HOME/logs/native-engine.log`;
 * the last lines are kept for the error state.
 *
 * If an engine already answers on the socket (another `berth web`), it is
 * used as is and never stopped by us: two agents on one data root would
 * corrupt it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { homeLayout } from '../util/berth-home.js';
import { findInCheckout } from '../util/checkout-path.js';
import { ensureDockerContext } from '../host/docker-context.js';
import { enginePing } from '../util/engine-client.js';
import { EngineStateHolder, type EngineTarget } from './engine-target.js';

export interface NativeEngineOptions {
  /** `$BERTH_HOME`. */
  home: string;
  /** The agent's bundle (default: found by findAgentMain()). */
  agentMain?: string;
  /** How long the agent may take to answer /_ping (default 30 s). */
  readyTimeoutMs?: number;
  /** Create or update the `berth` docker context for this socket (default true), as `berth start` does for the VM. */
  dockerContext?: boolean;
}

const TAIL_LINES = 30;

export class NativeEngine extends EngineStateHolder implements EngineTarget {
  readonly socket: string;
  readonly dataRoot: string;
  readonly logFile: string;
  private readonly agentMain: string | undefined;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopping = false;
  private tail: string[] = [];

  constructor(private readonly opts: NativeEngineOptions) {
    super({ state: 'stopped', mode: 'native', message: 'The native engine is not started.', canRestart: true });
    const at = homeLayout(opts.home);
    this.socket = at.dockerSocket;
    this.dataRoot = at.nativeDataRoot;
    this.logFile = at.nativeEngineLog;
    this.agentMain = opts.agentMain ?? findAgentMain();
  }

  async start(): Promise<void> {
    if (this.child) return;
    const refusal = nativeEngineRefusal();
    if (refusal) return this.fail(refusal);
    if (!this.agentMain) {
      return this.fail('The engine is not built: run `npx tsc -b && node scripts/build.mjs` (it makes apps/vm-agent/dist/main.cjs), or set BERTH_AGENT_MAIN.');
    }
    if (await enginePing(this.socket)) {
      this.set({ ...this.running(), message: `Using the engine already serving unix://${this.socket}.`, canRestart: false });
      this.publishContext();
      return;
    }
    await mkdir(dirname(this.socket), { recursive: true, mode: 0o700 });
    await mkdir(dirname(this.logFile), { recursive: true });
    const log = createWriteStream(this.logFile, { flags: 'a' });
    this.tail = [];
    this.stopping = false;
    this.set({ state: 'starting', mode: 'native', message: 'Starting the native engine…', socket: this.socket, canRestart: true });
    const child = spawn(process.execPath, [this.agentMain, '--host', `unix://${this.socket}`, '--data-root', this.dataRoot], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Inside the Electron app, execPath is Electron: make it behave as plain Node.
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    });
    this.child = child;
    child.stdout!.on('data', (b: Buffer) => this.record(log, b));
    child.stderr!.on('data', (b: Buffer) => this.record(log, b));
    this.exited = new Promise((resolve) => {
      child.once('error', (err) => this.record(log, Buffer.from(`cannot run ${process.execPath}: ${err.message}\n`)));
      child.once('close', (code, signal) => {
        log.end();
        this.child = undefined;
        if (this.stopping) this.set({ state: 'stopped', mode: 'native', message: 'The native engine is stopped.', canRestart: true });
        else this.fail(`The native engine exited (${signal ?? `code ${code}`}). See ${this.logFile}.`);
        resolve();
      });
    });
    const deadline = Date.now() + (this.opts.readyTimeoutMs ?? 30_000);
    while (this.child === child) {
      if (await enginePing(this.socket, 1000)) {
        this.set(this.running());
        this.publishContext(log);
        return;
      }
      if (Date.now() > deadline) {
        this.stopping = true;
        child.kill('SIGKILL');
        await this.exited;
        return this.fail(
          `The native engine did not answer on unix://${this.socket} within ${(this.opts.readyTimeoutMs ?? 30_000) / 1000} s. See ${this.logFile}.`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) {
      if (this.state.state === 'running') this.set({ state: 'stopped', mode: 'native', message: 'Disconnected from the engine.', canRestart: true });
      return;
    }
    this.stopping = true;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  private running() {
    return {
      state: 'running' as const,
      mode: 'native' as const,
      message: `The native engine is running: DOCKER_HOST=unix://${this.socket}`,
      socket: this.socket,
      canRestart: true,
    };
  }

  /** `docker context use berth` then reaches this engine; a failure is logged, since DOCKER_HOST still works. */
  private publishContext(log?: WriteStream): void {
    if (this.opts.dockerContext === false) return;
    try {
      ensureDockerContext({ host: `unix://${this.socket}`, description: 'Berth (native engine on this host)' });
    } catch (err) {
      log?.write(`cannot write the berth docker context: ${(err as Error).message} (DOCKER_HOST=unix://${this.socket} still works)\n`);
    }
  }

  private fail(message: string): void {
    this.set({ state: 'error', mode: 'native', message, canRestart: true, ...(this.tail.length ? { logTail: [...this.tail] } : {}) });
  }

  private record(log: WriteStream, chunk: Buffer): void {
    log.write(chunk);
    const lines = chunk.toString('utf8').split('\n').filter(Boolean);
    this.tail = [...this.tail, ...lines].slice(-TAIL_LINES);
  }
}

/** Why the native engine cannot run on this host, or undefined when it can. */
export function nativeEngineRefusal(platform = process.platform, uid = process.getuid?.()): string | undefined {
  if (platform !== 'linux') return `The native engine runs only on Linux (this is ${platform}); leave out --engine native to use the Berth VM.`;
  if (uid !== 0) return 'The native engine needs root (it creates namespaces, mounts and cgroups): run `sudo berth web --engine native`.';
  return undefined;
}

/** The agent's entry (its loader): $BERTH_AGENT_MAIN, or `apps/vm-agent/dist/main.cjs` in this checkout. */
export function findAgentMain(): string | undefined {
  const fromEnv = process.env.BERTH_AGENT_MAIN;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  return findInCheckout(join('apps', 'vm-agent', 'dist', 'main.cjs'));
}

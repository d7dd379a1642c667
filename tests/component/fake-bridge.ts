/**
 * A test double of the renderer's transport (BerthBridge, the boundary that
 * Electron's preload and web mode's HTTP client both implement). Tests
 * script the engine's answers per Docker request and push stream messages
 * (engine state, events, pull progress) when they choose; every request is
 * recorded so a test can check what the page asked for. The real engine
 * behind the real transports is the dashboard suite's job (tests/dashboard).
 */
import type { BerthBridge, CallResult, EngineState, StreamMessage, WireError } from '@berth/api';

export interface DockerRequest {
  method: string;
  path: string;
  body?: unknown;
}

/** An answer to a Docker request: a status and body, or a function computing one. */
export type DockerAnswer =
  { status: number; body?: unknown } | ((req: DockerRequest) => { status: number; body?: unknown } | Promise<{ status: number; body?: unknown }>);

export interface OpenStream {
  name: string;
  args: unknown[];
  closed: boolean;
  push(m: StreamMessage): void;
}

export class FakeBridge implements BerthBridge {
  /** Every call, in order (Docker requests included, as `docker`). */
  readonly calls: { name: string; args: unknown[] }[] = [];
  readonly streams: OpenStream[] = [];
  /** `METHOD path` (path with its query) → the engine's answer. Unlisted: 404 page not found, as dockerd answers. */
  readonly docker = new Map<string, DockerAnswer>();
  /** Non-Docker calls (restartEngine, hostLogs, …) → value, or a function; a thrown error becomes the call's error. */
  readonly handlers = new Map<string, (...args: unknown[]) => unknown>();
  private state: EngineState | undefined;

  constructor(state?: EngineState) {
    this.state = state;
  }

  /** The engine's state as main pushes it: to the streams open now and to any opened later. */
  setState(state: EngineState): void {
    this.state = state;
    for (const s of this.open('engineStates')) s.push({ item: state });
  }

  /** The open streams of one name, e.g. the pull's `dockerJson` stream. */
  open(name: string): OpenStream[] {
    return this.streams.filter((s) => s.name === name && !s.closed);
  }

  /** The Docker requests made so far, as `METHOD path`. */
  dockerRequests(): DockerRequest[] {
    return this.calls.filter((c) => c.name === 'docker').map((c) => c.args[0] as DockerRequest);
  }

  async call(name: string, args: unknown[]): Promise<CallResult> {
    this.calls.push({ name, args });
    try {
      if (name === 'docker') {
        const req = args[0] as DockerRequest;
        const answer = this.docker.get(`${req.method} ${req.path}`);
        if (!answer) return { ok: true, value: { status: 404, body: { message: 'page not found' } } };
        return { ok: true, value: typeof answer === 'function' ? await answer(req) : answer };
      }
      const handler = this.handlers.get(name);
      if (!handler) return { ok: false, error: { message: `no handler for ${name} in this test`, name: 'Error', status: 400 } };
      return { ok: true, value: await handler(...args) };
    } catch (err) {
      const e = err as Partial<WireError>;
      return { ok: false, error: { message: String(e.message ?? err), name: 'Error', ...(e.status ? { status: e.status } : {}) } };
    }
  }

  stream(name: string, args: unknown[], onMessage: (m: StreamMessage) => void): () => void {
    const s: OpenStream = {
      name,
      args,
      closed: false,
      push: (m) => {
        if (s.closed) return;
        if ('end' in m || 'error' in m) s.closed = true;
        onMessage(m);
      },
    };
    this.streams.push(s);
    // Main answers a new engineStates stream with the current state at once.
    if (name === 'engineStates' && this.state) queueMicrotask(() => s.push({ item: this.state }));
    return () => {
      s.closed = true;
    };
  }
}

export const RUNNING: EngineState = { state: 'running', mode: 'native', message: 'The engine is running.', canRestart: true };

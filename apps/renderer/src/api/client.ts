/**
 * The renderer's one API client. It speaks the typed API of
 * shared/berth-api.ts over whichever bridge exists: the Electron preload's
 * `window.berth` (IPC), else HTTP to the web-mode server.
 */
import type {
  BerthBridge,
  BerthCalls,
  BerthStreams,
  CallName,
  DockerMethod,
  StreamName,
  WireError,
} from '../../../main/src/shared/berth-api.js';
import { httpBridge } from './bridge-http.js';

declare global {
  interface Window {
    /** Set by the Electron preload only. */
    berth?: BerthBridge;
  }
}

/** An error from main or the engine, with the message to show and an HTTP-like status. */
export class ApiError extends Error {
  readonly status: number | undefined;
  constructor(e: WireError) {
    super(e.message);
    this.name = e.name;
    this.status = e.status;
  }
}

export interface StreamHandlers<T> {
  item(value: T): void;
  error?(err: ApiError): void;
  end?(): void;
}

export class BerthClient {
  constructor(private readonly bridge: BerthBridge) {}

  async call<K extends CallName>(name: K, ...args: Parameters<BerthCalls[K]>): Promise<ReturnType<BerthCalls[K]>> {
    const r = await this.bridge.call(name, args);
    if (!r.ok) throw new ApiError(r.error);
    return r.value as ReturnType<BerthCalls[K]>;
  }

  /** Returns a function that cancels the stream. */
  stream<K extends StreamName>(name: K, args: Parameters<BerthStreams[K]>, h: StreamHandlers<ReturnType<BerthStreams[K]>>): () => void {
    return this.bridge.stream(name, args, (m) => {
      if ('item' in m) h.item(m.item as ReturnType<BerthStreams[K]>);
      else if ('error' in m) h.error?.(new ApiError(m.error));
      else h.end?.();
    });
  }

  /** A Docker API request; a 4xx/5xx answer throws with the engine's message. */
  async docker<T>(method: DockerMethod, path: string, body?: unknown): Promise<T> {
    const res = await this.call('docker', body === undefined ? { method, path } : { method, path, body });
    if (res.status >= 400) {
      const b = res.body as { message?: unknown } | string;
      const message = typeof b === 'object' && b && typeof b.message === 'string' ? b.message : String(b || `HTTP ${res.status}`);
      throw new ApiError({ message, name: 'EngineError', status: res.status });
    }
    return res.body as T;
  }

  /** A Docker request answered with JSON lines (pull, events): resolves when it ends, rejects on failure or an in-band error. */
  dockerJson(method: DockerMethod, path: string, onItem: (item: unknown) => void, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const cancel = this.stream('dockerJson', [{ method, path }], {
        item: onItem,
        error: reject,
        end: resolve,
      });
      signal?.addEventListener('abort', () => {
        cancel();
        resolve();
      });
    });
  }
}

export function createClient(): BerthClient {
  return new BerthClient(window.berth ?? httpBridge());
}

/**
 * The renderer's one API client. It speaks the typed API of
 * @berth/api (packages/berth-api) over whichever bridge exists: the Electron preload's
 * `window.berth` (IPC), else HTTP to the web-mode server.
 */
import type { BerthBridge, BerthCalls, BerthStreams, CallName, DockerMethod, StreamName, WireError } from '@berth/api';
import { fromBase64, toBase64 } from '../lib/base64.js';
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

  /** A Docker request answered with bytes (logs): chunks as they come, cut anywhere. Returns a cancel function. */
  dockerBytes(path: string, h: StreamHandlers<Uint8Array>): () => void {
    return this.stream('dockerBytes', [{ method: 'GET', path }], { item: (b64) => h.item(fromBase64(b64)), error: h.error, end: h.end });
  }

  /** A hijacked Docker request (exec start, attach) as a two-way session. */
  session(method: DockerMethod, path: string, body: unknown, h: SessionHandlers): Session {
    let id: string | undefined;
    let closed = false;
    let sending = false;
    const queue: string[] = [];
    const finish = (err?: ApiError) => {
      if (!closed) h.end(err);
      closed = true;
    };
    // One input call at a time, in order: keystrokes never overtake each other.
    const pump = async () => {
      if (sending || !id) return;
      sending = true;
      while (queue.length && !closed) {
        try {
          await this.call('sessionInput', id, queue.shift()!);
        } catch (err) {
          finish(err instanceof ApiError ? err : new ApiError({ message: String(err), name: 'Error' }));
        }
      }
      sending = false;
    };
    const cancel = this.stream('dockerSession', [{ method, path, body }], {
      item: (m) => {
        if ('session' in m) {
          id = m.session;
          h.open?.();
          void pump();
        } else h.data(fromBase64(m.data));
      },
      error: (err) => finish(err),
      end: () => finish(),
    });
    return {
      send: (bytes) => {
        if (closed) return;
        queue.push(toBase64(typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes));
        void pump();
      },
      close: () => {
        closed = true;
        cancel();
      },
    };
  }

  /** Opens an http(s) link in the system browser: through main in Electron, a new tab in web mode. */
  async openExternal(url: string): Promise<void> {
    // In a browser, open the tab at once, while the click still counts as the user's (popup blockers).
    if (!window.berth) {
      window.open(url, '_blank', 'noopener');
      return;
    }
    await this.call('openExternal', url);
  }
}

/** A two-way byte stream to a process in a container (exec, attach). */
export interface Session {
  /** Queued and sent in order. */
  send(bytes: Uint8Array | string): void;
  close(): void;
}

export interface SessionHandlers {
  /** Called once the engine switched protocols. */
  open?(): void;
  data(bytes: Uint8Array): void;
  /** The process ended, or the engine refused (err says why). */
  end(err?: ApiError): void;
}

export function createClient(): BerthClient {
  return new BerthClient(window.berth ?? httpBridge());
}

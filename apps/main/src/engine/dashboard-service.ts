/**
 * The dashboard's API (shared/berth-api.ts) implemented over an engine
 * target. Both transports (web/ and electron/) serve this one object.
 */
import type { BerthService, DockerRequest, DockerResponse, EngineState } from '../shared/berth-api.js';
import { LineSplitter } from '../shared/lines.js';
import { engineErrorMessage, engineFetch, engineOpen } from './engine-client.js';
import type { EngineTarget } from './engine-target.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE']);

/** An error with the HTTP status the transports report. */
export class ServiceError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

export function createDashboardService(target: EngineTarget): BerthService {
  const socketOrThrow = (): string => {
    const s = target.state;
    if (s.state !== 'running' || !s.socket) throw new ServiceError(`The engine is not running (${s.state}): ${s.message}`, 503);
    return s.socket;
  };

  return {
    async engineState(): Promise<EngineState> {
      return target.state;
    },

    async restartEngine(): Promise<EngineState> {
      if (!target.state.canRestart) throw new ServiceError(`The engine cannot be restarted from here: ${target.state.message}`, 409);
      await target.restart();
      return target.state;
    },

    async docker(req: DockerRequest): Promise<DockerResponse> {
      checkRequest(req);
      const res = await engineFetch(socketOrThrow(), req);
      const text = res.body.toString('utf8');
      let body: unknown = text;
      if (res.contentType.includes('json') && text.trim()) {
        try {
          body = JSON.parse(text);
        } catch {
          // keep the text: the client shows it
        }
      }
      return { status: res.status, body };
    },

    async *engineStates(signal: AbortSignal): AsyncIterable<EngineState> {
      const queue: EngineState[] = [target.state];
      let wake: (() => void) | undefined;
      const off = target.onChange((s) => {
        queue.push(s);
        wake?.();
      });
      const onAbort = () => wake?.();
      signal.addEventListener('abort', onAbort);
      try {
        while (!signal.aborted) {
          const next = queue.shift();
          if (next) yield next;
          else await new Promise<void>((r) => (wake = r));
        }
      } finally {
        off();
        signal.removeEventListener('abort', onAbort);
      }
    },

    async *dockerJson(signal: AbortSignal, req: DockerRequest): AsyncIterable<unknown> {
      checkRequest(req);
      const res = await engineOpen(socketOrThrow(), { ...req, signal, timeoutMs: 5 * 60_000 });
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) {
        const chunks: Buffer[] = [];
        for await (const c of res) chunks.push(c as Buffer);
        throw new ServiceError(engineErrorMessage(status, Buffer.concat(chunks)), status);
      }
      res.setEncoding('utf8');
      const lines = new LineSplitter();
      try {
        for await (const chunk of res) {
          for (const line of lines.push(chunk as string)) yield parseLine(line);
        }
        for (const line of lines.end()) yield parseLine(line);
      } catch (err) {
        if (signal.aborted) return;
        throw err;
      } finally {
        res.destroy();
      }
    },
  };
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    throw new ServiceError(`the engine sent a line that is not JSON: ${line.slice(0, 200)}`, 502);
  }
}

/** Refuses requests that are not a plain Docker API path. */
function checkRequest(req: DockerRequest): void {
  if (!req || typeof req !== 'object') throw new ServiceError('a Docker request needs {method, path}', 400);
  if (!METHODS.has(req.method)) throw new ServiceError(`method ${String(req.method)} is not forwarded to the engine`, 400);
  if (typeof req.path !== 'string' || !req.path.startsWith('/') || req.path.startsWith('//') || /[\s\0]/.test(req.path)) {
    throw new ServiceError(`not a Docker API path: ${String(req.path).slice(0, 100)}`, 400);
  }
}

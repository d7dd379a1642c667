/**
 * The dashboard's API (@berth/api, packages/berth-api) implemented over an engine
 * target. Both transports (web/ and electron/) serve this one object.
 */
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type {
  BuildItem,
  BuildRequest,
  BundledImagesState,
  DashboardSettings,
  DockerRequest,
  DockerResponse,
  EngineState,
  HostLog,
  ResetPlan,
  SessionItem,
} from '@berth/api';
import type { BerthService } from '../contract/berth-service.js';
import { loadSettings, nativeUnavailable, updateSettings, USER_SETTINGS } from '../settings/settings.js';
import { BuildError, Builds } from './builds.js';
import { berthHome } from '../util/berth-home.js';
import { ensureBundledImages } from '../bundled/bundled-images.js';
import { engineFetch, engineHijack, engineStream, jsonLines } from '../util/engine-client.js';
import { factoryReset, resetPlan } from './factory-reset.js';
import { readHostLogs } from './host-logs.js';
import { stopVm } from '../daemon/vm-control.js';
import type { EngineTarget } from '../engines/engine-target.js';

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

export interface DashboardServiceOptions {
  /** The bundled images' directory (bundled/findBundledDir); undefined: not built. */
  bundledDir?: string;
  /** Opens a URL in the system browser (Electron's shell.openExternal); absent in web mode. */
  openExternal?: (url: string) => Promise<void>;
  /** Electron's folder dialog; absent in web mode. */
  pickFolder?: () => Promise<string | null>;
  /** Electron's login item (start at login); absent in web mode. */
  loginItem?: { get(): boolean; set(on: boolean): void };
  /** Where settings.json lives (default: berthHome()). */
  home?: string;
}

export function createDashboardService(target: EngineTarget, opts: DashboardServiceOptions = {}): BerthService {
  const socketOrThrow = (): string => {
    const s = target.state;
    if (s.state !== 'running' || !s.socket) throw new ServiceError(`The engine is not running (${s.state}): ${s.message}`, 503);
    return s.socket;
  };

  const home = opts.home ?? berthHome();
  const builds = new Builds(home);
  const currentSettings = (): DashboardSettings => {
    const { cpus, memoryMiB, diskGiB, accelerator, fileShares, engineMode } = loadSettings(home);
    const why = nativeUnavailable();
    return {
      cpus,
      memoryMiB,
      diskGiB,
      accelerator,
      fileShares,
      engineMode,
      ...(why ? { nativeUnavailable: why } : {}),
      ...(opts.loginItem ? { startAtLogin: opts.loginItem.get() } : {}),
    };
  };

  /** Hijacked connections by session id; a session ends with its stream. */
  const sessions = new Map<string, Duplex>();

  // One load at a time: the welcome page and an engine (re)start may ask together.
  let loading: Promise<BundledImagesState> | undefined;
  const ensureBundled = (): Promise<BundledImagesState> => {
    loading ??= ensureBundledImages(socketOrThrow(), opts.bundledDir).finally(() => (loading = undefined));
    return loading;
  };
  // First start and whenever the engine comes back: load what is missing, so the tutorial works offline.
  target.onChange((s) => {
    if (s.state === 'running') ensureBundled().catch(() => {});
  });
  if (target.state.state === 'running') ensureBundled().catch(() => {});

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
      const res = await engineFetch(socketOrThrow(), checkRequest(req));
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

    bundledImages: ensureBundled,

    async sessionInput(session: string, data: string): Promise<void> {
      const socket = typeof session === 'string' ? sessions.get(session) : undefined;
      if (!socket) throw new ServiceError(`no such session: ${String(session).slice(0, 64)} (it has ended)`, 404);
      if (typeof data !== 'string') throw new ServiceError('session input must be a base64 string', 400);
      socket.write(Buffer.from(data, 'base64'));
    },

    async openExternal(url: string): Promise<void> {
      if (typeof url !== 'string' || !/^https?:\/\//i.test(url))
        throw new ServiceError(`only http(s) links open in the browser, not ${String(url).slice(0, 100)}`, 400);
      if (!opts.openExternal) throw new ServiceError('the dashboard runs in a browser: it opens links itself', 501);
      await opts.openExternal(url);
    },

    async builds() {
      return builds.list();
    },

    async pickFolder(): Promise<string | null> {
      if (!opts.pickFolder) throw new ServiceError('the dashboard runs in a browser, which cannot pick a host folder: type its path', 501);
      return opts.pickFolder();
    },

    async settings(): Promise<DashboardSettings> {
      return currentSettings();
    },

    async updateSettings(change: Partial<DashboardSettings>): Promise<DashboardSettings> {
      if (!change || typeof change !== 'object' || Array.isArray(change)) throw new ServiceError('a settings change must be an object', 400);
      const { startAtLogin, ...vm } = change;
      for (const key of Object.keys(vm)) {
        if (!(USER_SETTINGS as readonly string[]).includes(key))
          throw new ServiceError(`unknown setting "${key}"; settings: ${USER_SETTINGS.join(', ')}, startAtLogin`, 400);
      }
      if (startAtLogin !== undefined) {
        if (!opts.loginItem) throw new ServiceError('start at login is a setting of the desktop app, not of web mode', 501);
        if (typeof startAtLogin !== 'boolean') throw new ServiceError('startAtLogin must be true or false', 400);
      }
      if (Object.keys(vm).length) {
        try {
          updateSettings(home, (s) => ({ ...s, ...vm }));
        } catch (err) {
          throw new ServiceError((err as Error).message, 400);
        }
      }
      if (startAtLogin !== undefined) opts.loginItem!.set(startAtLogin);
      return currentSettings();
    },

    async hostLogs(lines: number): Promise<HostLog[]> {
      if (!Number.isInteger(lines) || lines < 1 || lines > 5000) throw new ServiceError('lines must be a whole number from 1 to 5000', 400);
      return readHostLogs(home, lines);
    },

    async resetPlan(): Promise<ResetPlan> {
      return resetPlan(home);
    },

    async factoryReset(): Promise<string[]> {
      // Nothing may hold the disk or the socket while they go: the engine first, and the VM's daemon (the target alone only disconnects from it).
      const mode = target.state.mode;
      await target.stop();
      if (mode === 'vm') await stopVm(home);
      return factoryReset(home);
    },

    build(signal: AbortSignal, req: BuildRequest): AsyncIterable<BuildItem> {
      return builds.run(socketOrThrow(), req, signal);
    },

    followBuild(signal: AbortSignal, id: string): AsyncIterable<BuildItem> {
      if (typeof id !== 'string') throw new BuildError('followBuild needs a build id', 400);
      return builds.follow(id, signal);
    },

    async cancelBuild(id: string): Promise<void> {
      builds.cancel(id);
    },

    async *dockerBytes(signal: AbortSignal, req: DockerRequest): AsyncIterable<string> {
      const res = await engineStream(socketOrThrow(), { ...checkRequest(req), signal });
      try {
        for await (const chunk of res) yield (chunk as Buffer).toString('base64');
      } catch (err) {
        if (signal.aborted) return;
        throw err;
      } finally {
        res.destroy();
      }
    },

    async *dockerSession(signal: AbortSignal, req: DockerRequest): AsyncIterable<SessionItem> {
      const socket = await engineHijack(socketOrThrow(), checkRequest(req));
      const id = randomUUID();
      sessions.set(id, socket);
      const onAbort = () => socket.destroy();
      signal.addEventListener('abort', onAbort);
      try {
        yield { session: id };
        for await (const chunk of socket) yield { data: (chunk as Buffer).toString('base64') };
      } catch (err) {
        if (signal.aborted) return;
        throw err;
      } finally {
        sessions.delete(id);
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
      }
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
      const res = await engineStream(socketOrThrow(), { ...checkRequest(req), signal, timeoutMs: 5 * 60_000 });
      try {
        yield* jsonLines(res);
      } catch (err) {
        if (signal.aborted) return;
        throw err;
      } finally {
        res.destroy();
      }
    },
  };
}

/** Refuses requests that are not a plain Docker API path; answers what the engine is sent (nothing else of what the page passed). */
function checkRequest(req: DockerRequest): DockerRequest {
  if (!req || typeof req !== 'object') throw new ServiceError('a Docker request needs {method, path}', 400);
  if (!METHODS.has(req.method)) throw new ServiceError(`method ${String(req.method)} is not forwarded to the engine`, 400);
  if (typeof req.path !== 'string' || !req.path.startsWith('/') || req.path.startsWith('//') || /[\s\0]/.test(req.path)) {
    throw new ServiceError(`not a Docker API path: ${String(req.path).slice(0, 100)}`, 400);
  }
  return { method: req.method, path: req.path, ...(req.body === undefined ? {} : { body: req.body }) };
}

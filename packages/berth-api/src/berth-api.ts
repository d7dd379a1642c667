/**
 * The one API between main and the renderer, declared once.
 *
 * Both transports are derived from this file: the Electron preload/IPC
 * (apps/main/src/electron) and the web mode's HTTP routes (apps/main/src/web)
 * accept exactly the names in CALLS and STREAMS, and carry arguments, results
 * and errors in the envelopes below. The renderer's client
 * (apps/renderer/src/api) is typed from the same interfaces.
 *
 * Pure TypeScript, compiled without Node or DOM types (packages/berth-api's
 * tsconfig), so main, preload and renderer can all load it. Main's side of
 * the service, whose streams take the platform's AbortSignal, is typed in
 * apps/main/src/contract/berth-service.ts.
 */

/** The engine's lifecycle as the dashboard shows it. */
export type EngineStateName = 'starting' | 'running' | 'stopped' | 'error';

/** Where the engine runs: the VM (the product), the agent natively on Linux, a socket given by the user, or none at all. */
export type EngineMode = 'vm' | 'native' | 'socket' | 'none';

export interface EngineState {
  state: EngineStateName;
  mode: EngineMode;
  /** One sentence for the status bar: what is happening, or what failed and what to do. */
  message: string;
  /** The Docker API socket, once known (point DOCKER_HOST at `unix://` + this). */
  socket?: string;
  /** The engine's last output lines, shown with an error. */
  logTail?: string[];
  /** Whether restartEngine() can do anything in this mode. */
  canRestart: boolean;
}

export type DockerMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

/** A Docker Engine API request, forwarded by main to the engine as is. */
export interface DockerRequest {
  method: DockerMethod;
  /** Path and query, starting with `/`: `/containers/json?all=1`. */
  path: string;
  /** Sent as JSON. */
  body?: unknown;
}

/** The engine's answer: any status (the client decides what an error is). */
export interface DockerResponse {
  status: number;
  /** Parsed JSON when the engine sent JSON, else the text (empty for no body). */
  body: unknown;
}

/** One image shipped with the app (resources/images), as the welcome page shows it. */
export interface BundledImageState {
  /** Short name: getting-started, hello-world. */
  name: string;
  /** The canonical tag, `berth/NAME:latest`. */
  tag: string;
  /** present: the engine holds it; loaded: loaded just now; missing: not in the engine and not loadable (see `message`). */
  status: 'present' | 'loaded' | 'missing';
  message?: string;
}

export interface BundledImagesState {
  /** Set when the app has no built archives at all (say how to build them). */
  problem?: string;
  images: BundledImageState[];
}

/** A build made through the dashboard (kept by main under $BERTH_HOME/builds, newest first). */
export interface BuildRecord {
  id: string;
  tag: string;
  /** The host folder that was sent as the context. */
  context: string;
  status: 'running' | 'succeeded' | 'failed';
  /** ms since the epoch. */
  startedAt: number;
  endedAt?: number;
  /** The builder's output (`stream` lines), its tail when long. */
  log: string;
  error?: string;
  imageId?: string;
}

/** What the Build dialog sends: an absolute host folder and a tag. */
export interface BuildRequest {
  context: string;
  tag: string;
}

/** A `build` stream carries the record (first and last), and log text between. */
export type BuildItem = { record: BuildRecord } | { log: string };

/** The settings the dashboard edits (the VM's, from settings.json; startAtLogin is Electron's). */
export interface DashboardSettings {
  cpus: number;
  memoryMiB: number;
  diskGiB: number;
  accelerator: 'auto' | 'kvm' | 'hvf' | 'whpx' | 'tcg';
  /** Absent where it does not apply (web mode). */
  startAtLogin?: boolean;
  /** Host folders shared into the VM at the same path (absolute, existing, none inside another). */
  fileShares: string[];
  /** Where the engine runs at its next start: the VM, or natively on this Linux host (as root). */
  engineMode: 'vm' | 'native';
  /** Read only: why native mode cannot be chosen here (absent when it can). */
  nativeUnavailable?: string;
}

/** One log file under $BERTH_HOME, its last lines (Troubleshoot). */
export interface HostLog {
  /** Short name: VM console, vm-daemon, native-engine. */
  name: string;
  path: string;
  exists: boolean;
  lines: string[];
  /** Bytes, when it exists. */
  size?: number;
}

/** What a factory reset deletes: the entries of $BERTH_HOME that exist now. */
export interface ResetPlan {
  home: string;
  entries: { path: string; what: string; kind: 'file' | 'dir' }[];
}

/** Request/response methods: name -> (arguments) => result. */
export interface BerthCalls {
  engineState(): EngineState;
  restartEngine(): EngineState;
  docker(req: DockerRequest): DockerResponse;
  /**
   * Loads into the engine every bundled image it lacks (POST /images/load),
   * then says where each one stands. Safe to call at any time.
   */
  bundledImages(): BundledImagesState;
  /** Sends bytes (base64) to a session opened by `dockerSession`. */
  sessionInput(session: string, data: string): void;
  /**
   * Opens an http(s) URL in the system browser. Electron only: in web mode
   * the page is already in a browser and opens it itself (this answers 501).
   */
  openExternal(url: string): void;
  /** Recent builds made through the dashboard, newest first. */
  builds(): BuildRecord[];
  /** Electron: the folder the user picked in the system dialog (null: cancelled). Web mode answers 501. */
  pickFolder(): string | null;
  /** The saved settings (defaults for what settings.json lacks). */
  settings(): DashboardSettings;
  /** Validates and saves a change; answers the new settings. VM settings apply at the next VM start. */
  updateSettings(change: Partial<DashboardSettings>): DashboardSettings;
  /** The last `lines` (1-5000) of the VM console and the daemon/engine logs under $BERTH_HOME. */
  hostLogs(lines: number): HostLog[];
  /** What factoryReset() would delete, to show before confirming. */
  resetPlan(): ResetPlan;
  /** Stops the engine, then deletes the plan's entries (only those, only inside $BERTH_HOME); answers the deleted paths. */
  factoryReset(): string[];
  /** Stops a running build (it ends as failed: cancelled). */
  cancelBuild(id: string): void;
}

/** What a `dockerSession` stream carries: first its id (for sessionInput), then output bytes as base64. */
export type SessionItem = { session: string } | { data: string };

/**
 * Streaming methods: name -> (arguments) => the type of each item.
 * A stream ends when the source ends, fails with an error, or is cancelled by
 * the receiver (which releases the engine request behind it).
 */
export interface BerthStreams {
  /** The current state at once, then every change. */
  engineStates(): EngineState;
  /**
   * A Docker request whose response is JSON lines (`GET /events`, pull
   * progress). Each parsed line is an item. A non-2xx answer fails the
   * stream with the engine's message before any item.
   */
  dockerJson(req: DockerRequest): unknown;
  /**
   * A Docker request whose response body is bytes (logs: the multiplexed
   * stream, or raw with a TTY): each item is a chunk, base64, cut anywhere.
   */
  dockerBytes(req: DockerRequest): string;
  /**
   * A hijacked Docker request (exec start, attach: `Upgrade: tcp`): the
   * connection becomes a two-way byte stream. Input goes through
   * `sessionInput(session, ...)`; cancelling the stream closes the
   * connection.
   */
  dockerSession(req: DockerRequest): SessionItem;
  /** Packs the folder, starts a build with the engine's classic builder and records it, then follows it (see followBuild). */
  build(req: BuildRequest): BuildItem;
  /**
   * A build's record as it is now (with its log so far), then, while it runs,
   * its log as it grows and the finished record. Builds run in main:
   * cancelling this stream (or `build`'s) stops following, not the build.
   */
  followBuild(id: string): BuildItem;
}

export type CallName = keyof BerthCalls;
export type StreamName = keyof BerthStreams;

/** The names each transport accepts; anything else is refused. */
export const CALLS = [
  'engineState',
  'restartEngine',
  'docker',
  'bundledImages',
  'sessionInput',
  'openExternal',
  'builds',
  'pickFolder',
  'settings',
  'updateSettings',
  'hostLogs',
  'resetPlan',
  'factoryReset',
  'cancelBuild',
] as const satisfies readonly CallName[];
export const STREAMS = ['engineStates', 'dockerJson', 'dockerBytes', 'dockerSession', 'build', 'followBuild'] as const satisfies readonly StreamName[];

// Compile-time check that the lists name every method.
type Missing<All, Listed> = Exclude<All, Listed> extends never ? true : ['not listed:', Exclude<All, Listed>];
const callsComplete: Missing<CallName, (typeof CALLS)[number]> = true;
const streamsComplete: Missing<StreamName, (typeof STREAMS)[number]> = true;
void callsComplete;
void streamsComplete;

export function isCallName(name: unknown): name is CallName {
  return typeof name === 'string' && (CALLS as readonly string[]).includes(name);
}

export function isStreamName(name: unknown): name is StreamName {
  return typeof name === 'string' && (STREAMS as readonly string[]).includes(name);
}

/** An error as it crosses a transport: keeps the message the user must see, and an HTTP-like status. */
export interface WireError {
  message: string;
  name: string;
  /** 4xx/5xx when the error has one (the engine's status, or 400 for a bad call). */
  status?: number;
}

/** What a call answers on both transports (never a thrown IPC error, which loses the message). */
export type CallResult<T = unknown> = { ok: true; value: T } | { ok: false; error: WireError };

/** One message of a stream on both transports. */
export type StreamMessage<T = unknown> = { item: T } | { error: WireError } | { end: true };

/**
 * The untyped bridge both transports present to the renderer's client; the
 * preload exposes exactly this as `window.berth`.
 */
export interface BerthBridge {
  call(name: string, args: unknown[]): Promise<CallResult>;
  /** Returns a function that cancels the stream. */
  stream(name: string, args: unknown[], onMessage: (m: StreamMessage) => void): () => void;
}

/** Turns anything thrown into a WireError, keeping a status when there is one. */
export function toWireError(err: unknown): WireError {
  if (err && typeof err === 'object' && 'message' in err) {
    const e = err as { message: unknown; name?: unknown; status?: unknown; statusCode?: unknown };
    const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : undefined;
    return { message: String(e.message), name: typeof e.name === 'string' ? e.name : 'Error', ...(status ? { status } : {}) };
  }
  return { message: String(err), name: 'Error' };
}

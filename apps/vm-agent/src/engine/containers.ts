/**
 * The container lifecycle: create, start, stop, kill, restart, remove,
 * pause, rename, wait, and what happens when a process exits (logs flushed,
 * rootfs unmounted, restart policy applied, auto-remove).
 *
 * Invariants:
 * - The record on disk is saved after every state change; after a crash the
 *   agent finds each container as it last was, and `restore()` turns a
 *   "running" container whose process it no longer owns into "exited".
 * - Operations on one container run one at a time (`serial`); the exit
 *   handler does not take that lock, so a stop can wait for it.
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { conflict, invalidParameter, isEngineError, notFound, notModified, systemError } from '../errors.js';
import type { ImageService } from '../images/image-service.js';
import { Cgroup } from '../runtime/cgroups.js';
import { CopyFreeze } from './copy-freeze.js';
import { signalNumber, type ContainerProcess, type ExitStatus } from '../runtime/process.js';
import { spawnContainer } from '../runtime/spawn.js';
import { buildContainerRecord, type CreateRequest } from './container-create.js';
import { withInit } from './container-init.js';
import { cgroupLimits, mergeUpdate, planResources, ulimitsOf, validateLimits } from './container-limits.js';
import { adoptSharedNamespaces, groupAddOf, namespaceSpec, oomScoreAdjOf } from './container-namespaces.js';
import { processConfinement } from './container-security.js';
import { deviceAccess } from './container-devices.js';
import type { ContainerMounts } from './container-mounts.js';
import { ContainerStore } from './container-store.js';
import { type ContainerRecord, isActive, nowRfc3339, timeMs } from './container-types.js';
import { homeOf, resolveUser } from './container-user.js';
import type { EventBus } from './events.js';
import { JsonFileLog, rotateOptions } from './json-log.js';
import { nextBackoff, shouldRestart } from './restart-policy.js';
import { etcFileMounts, etcFiles, mountRootfs, rootfsPaths, unmountRootfs } from './rootfs.js';
import type { FsView } from './container-archive.js';
import { diskUsage } from '../util/disk-usage.js';
import { processEnv, withHome, type LinkedContainer } from './process-env.js';
import { StdioHub } from './stdio-hub.js';
import { trace } from '../util/trace.js';

/**
 * The seam for networking (a later part): called while the new process
 * waits at its start gate, with its network namespace at /proc/<pid>/ns/net,
 * and after it exits. Without one, a container has a namespace with only lo
 * (`--network none`).
 */
export interface NetworkAttacher {
  /** At create: records the container's networks, refusing unknown ones (404) and bad endpoint settings. */
  configure?(rec: ContainerRecord, networkingConfig: CreateRequest['NetworkingConfig']): Promise<void>;
  attach(rec: ContainerRecord, pid: number): Promise<void>;
  detach(rec: ContainerRecord): Promise<void>;
  /** At rm. */
  forget?(rec: ContainerRecord): Promise<void>;
  /** Before a start or exec: the running containers `--link` points at, with their address on this container's network. */
  linked?(rec: ContainerRecord): { alias: string; id: string; address: string }[];
  /** What inspect (NetworkSettings.Networks, .Ports) and ps (Ports) show. */
  view?(rec: ContainerRecord): {
    Networks: Record<string, { IPAddress: string; Gateway: string; MacAddress: string; IPPrefixLen: number }>;
    Ports: Record<string, unknown>;
    summaryPorts: unknown[];
  };
}

export interface ContainerServiceOptions {
  dataRoot: string;
  images: ImageService;
  events: EventBus;
  network?: NetworkAttacher;
  /** Volumes and mounts; without it containers get none. */
  mounts?: ContainerMounts;
  warn?: (msg: string) => void;
}

export interface WaitResult {
  StatusCode: number;
  Error: { Message: string } | null;
}

/** What the engine holds in memory for a container besides its record. */
export class LiveState {
  proc: ContainerProcess | undefined;
  cgroup: Cgroup | undefined;
  readonly hub: StdioHub;
  log: JsonFileLog | undefined;
  restartTimer: NodeJS.Timeout | undefined;
  backoffMs = 0;
  /** Resolved at the end of the exit handling of the current run. */
  exitWaiters: ((r: WaitResult) => void)[] = [];
  removedWaiters: ((r: WaitResult) => void)[] = [];
  queue: Promise<unknown> = Promise.resolve();
  readonly copyFreeze = new CopyFreeze();

  constructor(rec: ContainerRecord) {
    this.hub = new StdioHub(rec.Config.StdinOnce, rec.Config.OpenStdin);
  }
}

/**
 * Berth has no containerd, shim or runc, so its start errors do not claim
 * them; they keep runc's "unable to start container process" and the step's
 * own words after it ("exec: \"x\": executable file not found in $PATH"),
 * which the docker CLI maps to exit codes 127 and 126.
 */
const START_ERROR_PREFIX = 'berth runtime: unable to start container process: ';
/** Signals after which `docker kill` keeps restart policies off, as a stop would. */
const STOPPING_SIGNALS = ['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGQUIT'];

export class ContainerService {
  readonly store: ContainerStore;
  readonly images: ImageService;
  readonly events: EventBus;
  private readonly live = new Map<string, LiveState>();
  /** Set by shutdown(): exits are then the agent's doing, not the container's, so no restart policy applies. */
  private shuttingDown = false;
  readonly network: NetworkAttacher | undefined;
  readonly mounts: ContainerMounts | undefined;
  private readonly warn: (msg: string) => void;

  constructor(opts: ContainerServiceOptions) {
    this.store = new ContainerStore(opts.dataRoot);
    this.images = opts.images;
    this.events = opts.events;
    this.network = opts.network;
    this.mounts = opts.mounts;
    this.warn = opts.warn ?? ((m) => console.error(`berth-agent: ${m}`));
  }

  // ---- lookups ----------------------------------------------------------

  get(term: string): ContainerRecord {
    return this.store.get(term);
  }

  list(): ContainerRecord[] {
    return this.store.list();
  }

  liveState(rec: ContainerRecord): LiveState {
    let l = this.live.get(rec.Id);
    if (!l) {
      l = new LiveState(rec);
      this.live.set(rec.Id, l);
    }
    return l;
  }

  logPath(rec: ContainerRecord): string {
    return `${this.store.dir(rec.Id)}/${rec.Id}-json.log`;
  }

  /** The log writer of a container (made on first use); undefined for `--log-driver none`. */
  logger(rec: ContainerRecord): JsonFileLog | undefined {
    if (rec.HostConfig.LogConfig.Type === 'none') return undefined;
    const l = this.liveState(rec);
    l.log ??= new JsonFileLog(this.logPath(rec), rotateOptions(rec.HostConfig.LogConfig.Config), (m) => this.warn(`container ${rec.Id.slice(0, 12)}: ${m}`));
    return l.log;
  }

  /** Which containers use an image (rmi refuses to delete it). */
  usage(imageId: string): { running: string[]; stopped: string[] } {
    const out = { running: [] as string[], stopped: [] as string[] };
    for (const c of this.list()) if (c.Image === imageId) (isActive(c.State.Status) ? out.running : out.stopped).push(c.Id);
    return out;
  }

  counts(): { total: number; running: number; paused: number; stopped: number } {
    const all = this.list();
    const running = all.filter((c) => c.State.Status === 'running' || c.State.Status === 'restarting').length;
    const paused = all.filter((c) => c.State.Status === 'paused').length;
    return { total: all.length, running, paused, stopped: all.length - running - paused };
  }

  emit(rec: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    this.events.publish({
      Type: 'container',
      Action: action,
      id: rec.Id,
      attributes: { ...rec.Config.Labels, image: rec.Config.Image, name: rec.Name.slice(1), ...extra },
    });
  }

  /** Runs `fn` after every earlier operation on this container has finished. */
  serial<T>(rec: ContainerRecord, fn: () => Promise<T>): Promise<T> {
    const l = this.liveState(rec);
    const run = l.queue.catch(() => {}).then(fn);
    l.queue = run;
    return run;
  }

  // ---- start-up ---------------------------------------------------------

  /** Loads the records and settles what a previous run of the agent left. */
  async init(): Promise<void> {
    await this.store.load(this.warn);
    for (const rec of this.list()) {
      try {
        await this.restore(rec);
      } catch (err) {
        this.warn(`restoring container ${rec.Id.slice(0, 12)}: ${(err as Error).message}`);
      }
    }
  }

  private async restore(rec: ContainerRecord): Promise<void> {
    const wasActive = isActive(rec.State.Status) || rec.State.Status === 'removing';
    if (wasActive) {
      // Its stdio went with the old agent: we can neither log nor attach it, so it is stopped.
      const killed = rec.State.Pid > 0 && killIfOurs(rec.State.Pid, rec.PidStartTime);
      if (killed) await waitGone(rec.State.Pid);
      rec.State = { ...rec.State, Status: 'exited', Pid: 0, ExitCode: killed ? 137 : 255, FinishedAt: nowRfc3339() };
      await this.store.save(rec);
    }
    // Whatever still runs in its cgroup is left from the old agent (killed
    // while starting it, before the pid was recorded): it goes first.
    const cgroup = Cgroup.create(rec.Id);
    await cgroup.killAll().catch((err) => this.warn(`container ${rec.Id.slice(0, 12)}: ${(err as Error).message}`));
    unmountRootfs(this.store.dir(rec.Id));
    await cgroup.remove().catch(() => {});
    if (rec.HostConfig.AutoRemove && (wasActive || rec.State.Status === 'exited')) {
      await this.removeNow(rec);
      return;
    }
    const policy = rec.HostConfig.RestartPolicy.Name;
    if (rec.HasBeenStartedBefore && (policy === 'always' || (policy === 'unless-stopped' && !rec.HasBeenManuallyStopped))) {
      await this.start(rec.Id).catch((err) => this.warn(`restarting container ${rec.Id.slice(0, 12)}: ${(err as Error).message}`));
    }
  }

  // ---- create, start ----------------------------------------------------

  async create(req: CreateRequest, name?: string): Promise<ContainerRecord> {
    if (!req.Image) throw invalidParameter('No image specified: the config needs an Image');
    const image = this.images.resolve(req.Image);
    const imageConfig = await this.images.config(image.id);
    const id = this.store.newId();
    const fullName = name ? ContainerStore.normalizeName(name) : this.generateName();
    const releaseName = this.store.reserveName(fullName, id);
    try {
      const rec = buildContainerRecord({ id, name: fullName, imageId: image.id, image: imageConfig, req });
      adoptSharedNamespaces(rec.HostConfig, (term) => this.get(term));
      rotateOptions(rec.HostConfig.LogConfig.Config); // refuse bad log options at create, as dockerd does
      if (this.mounts) rec.MountPoints = await this.mounts.prepare(rec, (ref) => this.get(ref));
      try {
        await this.network?.configure?.(rec, req.NetworkingConfig);
        trace(id, 'configured');
        await this.store.add(rec);
      } catch (err) {
        // Nothing of a refused create stays: not its endpoint config, not its anonymous volumes.
        await this.network?.forget?.(rec).catch((e) => this.warn(`undoing the create of ${id.slice(0, 12)}: ${(e as Error).message}`));
        await this.mounts?.release(rec, true, this.warn);
        throw err;
      }
      trace(id, 'created');
      this.emit(rec, 'create');
      return rec;
    } finally {
      releaseName();
    }
  }

  private generateName(): string {
    for (;;) {
      const name = `/${ADJECTIVES[randomIndex(ADJECTIVES.length)]}_${SURNAMES[randomIndex(SURNAMES.length)]}`;
      if (!this.store.find(name)) return name;
    }
  }

  /** Starts a container; 304 when it already runs. */
  start(term: string): Promise<void> {
    const rec = this.get(term);
    return this.serial(rec, async () => {
      if (rec.State.Status === 'running' || rec.State.Status === 'paused') throw notModified('container already started');
      const l = this.liveState(rec);
      if (l.restartTimer) clearTimeout(l.restartTimer);
      l.restartTimer = undefined;
      l.backoffMs = 0;
      rec.HasBeenManuallyStopped = false;
      await this.startProcess(rec);
    });
  }

  private async startProcess(rec: ContainerRecord): Promise<void> {
    const dir = this.store.dir(rec.Id);
    const l = this.liveState(rec);
    let cgroup: Cgroup | undefined;
    let proc: ContainerProcess;
    try {
      trace(rec.Id, 'start');
      const image = this.images.resolve(rec.Image);
      const rootfs = await mountRootfs(dir, this.images.layerDirs(image));
      trace(rec.Id, 'rootfs mounted');
      const binds = [...(await etcFiles(dir, rec.Config.Hostname)), ...((await this.mounts?.runtimeMounts(rec, rootfs)) ?? [])];
      const user = await resolveUser(rootfs, rec.Config.User, groupAddOf(rec.HostConfig));
      cgroup = Cgroup.create(rec.Id);
      cgroup.setLimits(cgroupLimits(rec.HostConfig));
      const devices = deviceAccess(rec.HostConfig);
      cgroup.allowDevices(devices.cgroupRules);
      trace(rec.Id, 'etc files, mounts, cgroup');
      const [cols, rows] = rec.HostConfig.ConsoleSize;
      const init = withInit(rec.HostConfig, [rec.Path, ...rec.Args]);
      proc = await spawnContainer({
        rootfs,
        args: init.args,
        env: await this.environment(rec, { tty: rec.Config.Tty, rootfs, uid: user.uid }),
        cwd: rec.Config.WorkingDir || '/',
        user,
        tty: rec.Config.Tty,
        stdin: rec.Config.OpenStdin,
        ...(cols && rows ? { consoleSize: { cols, rows } } : {}),
        hostname: rec.Config.Hostname,
        oomScoreAdj: oomScoreAdjOf(rec.HostConfig),
        ...(await namespaceSpec(this, rec, [...binds, ...init.binds])), // its binds: these and --init's, with a shared /dev/shm
        cgroup,
        mountCgroup2: cgroup.version === 2,
        readonlyRootfs: rec.HostConfig.ReadonlyRootfs === true,
        hostNetwork: rec.HostConfig.NetworkMode === 'host' && !rec.Config.NetworkDisabled,
        shmSize: typeof rec.HostConfig.ShmSize === 'number' ? rec.HostConfig.ShmSize : 0,
        ulimits: ulimitsOf(rec.HostConfig),
        ...processConfinement(rec.HostConfig),
        ...devices.runtime,
        beforeStart: this.network ? (pid) => this.network!.attach(rec, pid) : undefined,
      });
    } catch (err) {
      unmountRootfs(dir);
      await cgroup?.remove().catch(() => {});
      const e = err as Error & { exitCode?: number; syscall?: string };
      const isExec = e.syscall === 'execve' || e.exitCode !== undefined;
      const message = isExec || e.syscall ? `${START_ERROR_PREFIX}${e.message}` : e.message;
      rec.State = { ...rec.State, Status: rec.HasBeenStartedBefore ? 'exited' : 'created', Pid: 0, ExitCode: e.exitCode ?? 128, Error: message };
      await this.store.save(rec);
      if (rec.HostConfig.AutoRemove) await this.removeNow(rec);
      // A container to share a namespace with that is gone or stopped keeps its 404 or 409.
      if (isEngineError(err, 'not-found') || isEngineError(err, 'conflict')) throw err;
      throw e.exitCode === 127 || e.exitCode === 126 ? invalidParameter(message, err) : systemError(message, err);
    }

    trace(rec.Id, 'spawned');
    l.proc = proc;
    l.cgroup = cgroup;
    const startedAt = nowRfc3339();
    rec.State = { Status: 'running', Pid: proc.pid, ExitCode: 0, Error: '', OOMKilled: false, StartedAt: startedAt, FinishedAt: rec.State.FinishedAt };
    rec.PidStartTime = procStartTime(proc.pid);
    rec.HasBeenStartedBefore = true;

    // Listen before the first await: a process as short as `true` can be done,
    // and its pipes at their end, while the record is saved; a stream that
    // ended before anyone listened would never say so, and the exit handler
    // would wait for it until its time limit.
    const log = this.logger(rec);
    log?.beginRun();
    const drained: Promise<void>[] = [];
    const feed = (stream: 'stdout' | 'stderr', src: NodeJS.ReadableStream | undefined) => {
      if (!src) return;
      drained.push(
        new Promise((resolve) => {
          src.on('data', (d: Buffer) => {
            log?.write(stream, d);
            l.hub.output(stream, d);
          });
          src.once('end', resolve);
          src.once('close', resolve);
          src.once('error', () => resolve());
        }),
      );
    };
    if (proc.pty) feed('stdout', proc.pty);
    feed('stdout', proc.stdout);
    feed('stderr', proc.stderr);
    l.hub.setStdin(proc.pty ?? proc.stdin);
    await this.store.save(rec);
    this.emit(rec, 'start');
    trace(rec.Id, 'started');
    void proc.exited.then((status) => this.onExit(rec, proc, status, drained, startedAt));
  }

  private async onExit(rec: ContainerRecord, proc: ContainerProcess, status: ExitStatus, drained: Promise<void>[], startedAt: string): Promise<void> {
    const l = this.liveState(rec);
    trace(rec.Id, 'exited');
    // Output still in the pipes belongs in the log; a grandchild holding them open must not stall us.
    await Promise.race([Promise.all(drained), sleep(2000)]);
    trace(rec.Id, 'drained');
    l.log?.endRun();
    l.hub.closeAll();
    l.hub.setStdin(undefined);
    proc.stdin?.destroy();
    proc.pty?.destroy();
    const exitCode = status.exitCode ?? (status.signal ? 128 + signalNumber(status.signal) : 255);
    const dir = this.store.dir(rec.Id);
    try {
      unmountRootfs(dir);
    } catch (err) {
      this.warn(`unmounting the rootfs of ${rec.Id.slice(0, 12)}: ${(err as Error).message}`);
    }
    // Read before the cgroup goes: did the kernel's OOM killer act in it?
    const oomKilled = (l.cgroup?.oomKills() ?? 0) > 0;
    if (oomKilled) this.emit(rec, 'oom');
    trace(rec.Id, 'rootfs unmounted');
    await l.cgroup?.remove().catch((err) => this.warn((err as Error).message));
    trace(rec.Id, 'cgroup removed');
    await this.network?.detach(rec).catch((err) => this.warn((err as Error).message));
    trace(rec.Id, 'network detached');
    l.proc = undefined;
    l.cgroup = undefined;
    rec.State = { ...rec.State, Status: 'exited', Pid: 0, ExitCode: exitCode, OOMKilled: oomKilled, FinishedAt: nowRfc3339() };
    rec.PidStartTime = undefined;
    this.emit(rec, 'die', { exitCode: String(exitCode) });

    const restart =
      !this.shuttingDown &&
      this.store.has(rec.Id) &&
      shouldRestart({
        policy: rec.HostConfig.RestartPolicy,
        exitCode,
        restartCount: rec.RestartCount,
        manuallyStopped: rec.HasBeenManuallyStopped,
      });
    if (restart) {
      rec.State.Status = 'restarting';
      l.backoffMs = nextBackoff(l.backoffMs, Date.now() - timeMs(startedAt));
      l.restartTimer = setTimeout(() => void this.restartByPolicy(rec), l.backoffMs);
    }
    if (this.store.has(rec.Id)) await this.store.save(rec);
    trace(rec.Id, 'exit recorded');
    const result: WaitResult = { StatusCode: exitCode, Error: null };
    for (const w of l.exitWaiters.splice(0)) w(result);
    if (!restart && rec.HostConfig.AutoRemove && this.store.has(rec.Id)) {
      await this.serial(rec, () => this.removeNow(rec, true)).catch((err) => this.warn(`auto-removing ${rec.Id.slice(0, 12)}: ${(err as Error).message}`));
    }
  }

  private restartByPolicy(rec: ContainerRecord): Promise<void> {
    return this.serial(rec, async () => {
      const l = this.liveState(rec);
      l.restartTimer = undefined;
      if (!this.store.has(rec.Id) || rec.State.Status !== 'restarting' || rec.HasBeenManuallyStopped) return;
      rec.RestartCount++;
      try {
        await this.startProcess(rec);
      } catch (err) {
        this.warn(`restarting container ${rec.Id.slice(0, 12)}: ${(err as Error).message}`);
      }
    });
  }

  // ---- stop, kill, restart ----------------------------------------------

  /** Resolves when the current run's exit has been handled. */
  nextExit(rec: ContainerRecord): Promise<WaitResult> {
    return new Promise((resolve) => this.liveState(rec).exitWaiters.push(resolve));
  }

  /**
   * The agent is stopping (SIGTERM, or the VM shutting down): every running
   * container gets its stop signal and, after its own timeout, SIGKILL, all
   * at once. Unlike `docker stop` this is not a manual stop, and restart
   * policies are held: `always` and `unless-stopped` containers come back
   * when the agent starts again, as with dockerd.
   */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    await Promise.all(
      this.list().map(async (rec) => {
        const l = this.liveState(rec);
        clearTimeout(l.restartTimer);
        if (!l.proc) return;
        const exited = this.nextExit(rec);
        const t = rec.Config.StopTimeout ?? 10;
        await this.signal(rec, rec.Config.StopSignal || 'SIGTERM').catch(() => {});
        const inTime = t < 0 ? await exited : await Promise.race([exited, sleep(t * 1000).then(() => undefined)]);
        if (!inTime) {
          await this.signal(rec, 'SIGKILL').catch(() => {});
          await exited;
        }
      }),
    );
  }

  /** SIGTERM (or the StopSignal), then SIGKILL after `timeoutSec` (the container's, else 10; -1 waits forever). */
  stop(term: string, timeoutSec?: number, signal?: string): Promise<void> {
    const rec = this.get(term);
    return this.serial(rec, async () => {
      const l = this.liveState(rec);
      if (rec.State.Status === 'restarting' && !l.proc) {
        clearTimeout(l.restartTimer);
        l.restartTimer = undefined;
        rec.HasBeenManuallyStopped = true;
        rec.State.Status = 'exited';
        await this.store.save(rec);
        this.emit(rec, 'stop');
        return;
      }
      if (!l.proc) throw notModified('container already stopped');
      rec.HasBeenManuallyStopped = true;
      await this.store.save(rec);
      const t = timeoutSec ?? rec.Config.StopTimeout ?? 10;
      const exited = this.nextExit(rec);
      await this.signal(rec, signal || rec.Config.StopSignal || 'SIGTERM');
      const inTime = t < 0 ? await exited : await Promise.race([exited, sleep(t * 1000).then(() => undefined)]);
      if (!inTime) {
        await this.signal(rec, 'SIGKILL');
        await exited;
      }
      this.emit(rec, 'stop');
    });
  }

  /** Sends a signal to the init; a paused container is thawed so it can act on it. */
  private async signal(rec: ContainerRecord, signal: string | number): Promise<void> {
    const l = this.liveState(rec);
    const n = parseSignal(signal);
    l.proc?.kill(n);
    this.emit(rec, 'kill', { signal: String(n) });
    if (rec.State.Status === 'paused') await this.setPaused(rec, false, false);
  }

  kill(term: string, signal = 'SIGKILL'): Promise<void> {
    const rec = this.get(term);
    const n = parseSignal(signal);
    return this.serial(rec, async () => {
      if (!this.liveState(rec).proc) throw conflict(`cannot kill container: ${term}: container ${rec.Id} is not running`);
      const name = Object.entries(SIGNALS).find(([, v]) => v === n)?.[0];
      if (name && (STOPPING_SIGNALS.includes(name) || (rec.Config.StopSignal && parseSignal(rec.Config.StopSignal) === n))) {
        rec.HasBeenManuallyStopped = true;
        await this.store.save(rec);
      }
      const exited = n === SIGNALS.SIGKILL ? this.nextExit(rec) : undefined;
      await this.signal(rec, n);
      await exited; // docker kill returns once a SIGKILLed container is gone, so `ps` right after is accurate
    });
  }

  async restart(term: string, timeoutSec?: number, signal?: string): Promise<void> {
    const rec = this.get(term);
    if (this.liveState(rec).proc || rec.State.Status === 'restarting') {
      await this.stop(rec.Id, timeoutSec, signal).catch((err) => {
        if ((err as { kind?: string }).kind !== 'not-modified') throw err;
      });
    }
    await this.start(rec.Id);
    this.emit(rec, 'restart');
  }

  // ---- pause --------------------------------------------------------------

  pause(term: string): Promise<void> {
    const rec = this.get(term);
    return this.serial(rec, async () => {
      if (rec.State.Status === 'paused') throw conflict(`Container ${rec.Id} is already paused`);
      if (rec.State.Status !== 'running') throw conflict(`Container ${rec.Id} is not running`);
      await this.setPaused(rec, true, true);
    });
  }

  unpause(term: string): Promise<void> {
    const rec = this.get(term);
    return this.serial(rec, async () => {
      if (rec.State.Status !== 'paused') throw conflict(`Container ${rec.Id} is not paused`);
      await this.setPaused(rec, false, true);
    });
  }

  private async setPaused(rec: ContainerRecord, paused: boolean, announce: boolean): Promise<void> {
    const cg = this.liveState(rec).cgroup;
    if (!cg) throw conflict(`Container ${rec.Id} is not running`);
    try {
      await (paused ? cg.freeze() : cg.thaw());
    } catch (err) {
      throw systemError(`${paused ? 'pausing' : 'unpausing'} container ${rec.Id}: ${(err as Error).message}`, err);
    }
    rec.State.Status = paused ? 'paused' : 'running';
    await this.store.save(rec);
    if (announce) this.emit(rec, paused ? 'pause' : 'unpause');
  }

  // ---- rename, remove, wait ---------------------------------------------

  rename(term: string, newName: string): Promise<void> {
    const rec = this.get(term);
    const name = ContainerStore.normalizeName(newName);
    return this.serial(rec, async () => {
      if (name === rec.Name) throw invalidParameter(`Renaming a container with the same name as its current name`);
      const old = rec.Name;
      await this.store.rename(rec, name);
      this.emit(rec, 'rename', { oldName: old });
    });
  }

  /** `volumes`: also remove its anonymous volumes (`rm -v`). */
  remove(term: string, opts: { force: boolean; volumes?: boolean }): Promise<void> {
    const rec = this.get(term);
    return this.serial(rec, async () => {
      if (!this.store.has(rec.Id)) return;
      const l = this.liveState(rec);
      if (l.proc || rec.State.Status === 'restarting') {
        if (!opts.force) {
          const what =
            rec.State.Status === 'paused'
              ? 'container is paused and must be unpaused first'
              : 'container is running: stop the container before removing or force remove';
          throw conflict(`cannot remove container "${rec.Name}": ${what}`);
        }
        rec.HasBeenManuallyStopped = true;
        clearTimeout(l.restartTimer);
        if (l.proc) {
          const exited = this.nextExit(rec);
          await this.signal(rec, 'SIGKILL');
          await exited;
        }
      }
      await this.removeNow(rec, opts.volumes ?? false);
    });
  }

  /** Deletes a stopped container: its mounts, directory and record. Caller holds the container's lock (or it is unreachable). */
  private async removeNow(rec: ContainerRecord, removeVolumes = rec.HostConfig.AutoRemove): Promise<void> {
    const l = this.liveState(rec);
    rec.State.Status = 'removing';
    l.log?.close();
    trace(rec.Id, 'remove');
    unmountRootfs(this.store.dir(rec.Id));
    await this.network?.forget?.(rec).catch((err) => this.warn((err as Error).message));
    trace(rec.Id, 'network forgotten');
    await this.store.remove(rec);
    trace(rec.Id, 'record removed');
    await this.mounts?.release(rec, removeVolumes, this.warn);
    this.live.delete(rec.Id);
    trace(rec.Id, 'removed');
    this.emit(rec, 'destroy');
    const result: WaitResult = { StatusCode: rec.State.ExitCode, Error: null };
    for (const w of l.removedWaiters.splice(0)) w(result);
  }

  /**
   * Waits for a condition: `not-running` (at once when stopped), `next-exit`,
   * or `removed`. The promise is made before returning, so a client can wait
   * and then start without missing the exit.
   */
  wait(term: string, condition: string): Promise<WaitResult> {
    const rec = this.get(term);
    const l = this.liveState(rec);
    switch (condition) {
      case '':
      case 'not-running':
        if (!l.proc && rec.State.Status !== 'restarting') return Promise.resolve({ StatusCode: rec.State.ExitCode, Error: null });
        return this.nextExit(rec);
      case 'next-exit':
        return this.nextExit(rec);
      case 'removed':
        return new Promise((resolve) => l.removedWaiters.push(resolve));
      default:
        throw invalidParameter(`invalid condition: "${condition}"`);
    }
  }

  /** `docker container prune`: removes stopped containers `keep` does not exclude; `reclaimed` is their writable layers' bytes. */
  async prune(keep: (c: ContainerRecord) => boolean): Promise<{ deleted: string[]; reclaimed: number }> {
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const c of this.list()) {
      if (isActive(c.State.Status) || !keep(c)) continue;
      const size = await this.sizeRw(c);
      await this.remove(c.Id, { force: false }).then(
        () => {
          deleted.push(c.Id);
          reclaimed += size;
        },
        (err: Error) => this.warn(`container prune: ${c.Id}: ${err.message}`),
      );
    }
    return { deleted, reclaimed };
  }

  /** `docker rm --link PARENT/ALIAS`: PARENT no longer links ALIAS (from its next start; its /etc/hosts is rewritten then). */
  removeLink(parentRef: string, alias: string): Promise<void> {
    let parent: ContainerRecord;
    try {
      parent = this.get(parentRef);
    } catch {
      throw invalidParameter(`Cannot get parent /${parentRef} for link name /${parentRef}/${alias}`);
    }
    return this.serial(parent, async () => {
      const links = (parent.HostConfig.Links as string[] | null | undefined) ?? [];
      const kept = links.filter((l) => {
        const [name = '', a] = l.split(':');
        return (a ?? name).split('/').pop() !== alias;
      });
      if (kept.length === links.length) throw notFound(`No such link: /${parentRef}/${alias}`);
      parent.HostConfig = { ...parent.HostConfig, Links: kept.length ? kept : null };
      await this.store.save(parent);
    });
  }

  /**
   * The environment of the container's init or of an exec (`extra`: its -e),
   * as dockerd and runc give it (process-env.ts). A link whose container is
   * not running fails a start, as dockerd's does; an exec goes without it.
   */
  async environment(rec: ContainerRecord, opts: { tty: boolean; extra?: string[]; rootfs: string; uid: number }): Promise<string[]> {
    let links: LinkedContainer[] = [];
    try {
      links = (this.network?.linked?.(rec) ?? []).map((t) => ({ alias: t.alias, address: t.address, record: this.get(t.id) }));
    } catch (err) {
      if (!opts.extra) throw err;
    }
    const env = processEnv(rec, { tty: opts.tty, links, own: [rec.Config.Env, opts.extra ?? []] });
    return withHome(env, () => homeOf(opts.rootfs, opts.uid));
  }

  /** Bytes in the container's writable layer (SizeRw of `docker ps -s`, `system df`, prune). */
  sizeRw(rec: ContainerRecord): Promise<number> {
    return diskUsage(rootfsPaths(this.store.dir(rec.Id)).upper);
  }

  /**
   * Runs `fn` with the container's filesystem as its processes see it: the
   * merged rootfs (the live one of a running container, frozen meanwhile
   * (see CopyFreeze), or one mounted for the call, start waiting meanwhile)
   * with its /etc files, binds and volumes over it.
   */
  withRootfs<T>(rec: ContainerRecord, fn: (view: FsView) => Promise<T>): Promise<T> {
    const dir = this.store.dir(rec.Id);
    const view = (root: string): FsView => ({
      root,
      mounts: [...etcFileMounts(dir), ...(this.mounts?.viewMounts(rec) ?? [])],
      readonlyRootfs: rec.HostConfig.ReadonlyRootfs === true,
    });
    if (this.liveState(rec).proc) return this.holdStill(rec, () => fn(view(rootfsPaths(dir).target)));
    return this.serial(rec, async () => {
      if (this.liveState(rec).proc) return this.holdStill(rec, () => fn(view(rootfsPaths(dir).target)));
      const rootfs = await mountRootfs(dir, this.images.layerDirs(this.images.resolve(rec.Image)));
      try {
        return await fn(view(rootfs));
      } finally {
        unmountRootfs(dir);
      }
    });
  }

  /** Runs `fn` with a running container's processes frozen, a paused or stopped one as it is (see CopyFreeze). */
  holdStill<T>(rec: ContainerRecord, fn: () => Promise<T>): Promise<T> {
    const l = this.liveState(rec);
    return l.copyFreeze.run(rec.Id, () => (rec.State.Status === 'running' ? l.cgroup : undefined), fn);
  }

  /**
   * `docker update`: new resource limits (and restart policy), applied to the
   * running container's cgroup at once and kept for later starts.
   */
  update(term: string, body: Record<string, unknown>): Promise<string[]> {
    const rec = this.get(term);
    return this.serial(rec, async () => {
      const { hostConfig: next, warnings } = planResources(mergeUpdate(rec.HostConfig, body));
      validateLimits(next);
      const cg = this.liveState(rec).cgroup;
      if (cg) {
        try {
          cg.setLimits(cgroupLimits(next));
        } catch (err) {
          throw systemError(`Cannot update container ${rec.Id}: ${(err as Error).message}`, err);
        }
      }
      rec.HostConfig = next;
      await this.store.save(rec);
      this.emit(rec, 'update');
      return warnings;
    });
  }

  /** The running init, or a 409 naming the state it is in. */
  running(rec: ContainerRecord): ContainerProcess {
    const proc = this.liveState(rec).proc;
    if (!proc) throw conflict(`container ${rec.Id} is not running`);
    if (rec.State.Status === 'paused') throw conflict(`container ${rec.Id} is paused, unpause the container before exec`);
    return proc;
  }
}

const SIGNALS = constants.signals as Record<string, number>;

/** "SIGTERM", "TERM", "term", "15" to a number; a 400 for anything else. */
export function parseSignal(s: string | number): number {
  if (typeof s === 'number') return s;
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n < 1 || n > 64) throw invalidParameter(`invalid signal: ${s}`);
    return n;
  }
  try {
    return signalNumber(s.toUpperCase());
  } catch {
    throw invalidParameter(`invalid signal: ${s}`);
  }
}

/** Field 22 of /proc/<pid>/stat: when the process started (clock ticks since boot). */
export function procStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Kills a process a previous run of the agent started, if that pid is still that process. */
function killIfOurs(pid: number, startTime: string | undefined): boolean {
  const now = procStartTime(pid);
  if (now === undefined || startTime === undefined || now !== startTime) return false;
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const state = (() => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      } catch {
        return undefined;
      }
    })();
    if (state === undefined || state === 'Z') return;
    await sleep(10);
  }
}

const randomIndex = (n: number) => Math.floor(Math.random() * n);
const ADJECTIVES = [
  'admiring',
  'brave',
  'clever',
  'dreamy',
  'eager',
  'focused',
  'gallant',
  'happy',
  'jolly',
  'keen',
  'lucid',
  'modest',
  'nifty',
  'optimistic',
  'peaceful',
  'quirky',
  'relaxed',
  'serene',
  'tender',
  'upbeat',
  'vibrant',
  'wizardly',
  'youthful',
  'zealous',
];
const SURNAMES = [
  'agnesi',
  'babbage',
  'curie',
  'darwin',
  'euclid',
  'fermi',
  'galileo',
  'hopper',
  'johnson',
  'kepler',
  'lovelace',
  'meitner',
  'noether',
  'pascal',
  'ritchie',
  'shannon',
  'turing',
  'villani',
  'wozniak',
  'yalow',
];

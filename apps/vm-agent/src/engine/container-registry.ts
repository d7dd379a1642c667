/**
 * The containers the engine knows: their records (container-store.ts) and
 * what it holds in memory for each (live-state.ts), the lookups and counts
 * the API answers from, events, the per-container lock, and the views of a
 * container the API and exec need (its environment, its filesystem as its
 * processes see it, its writable layer's size). The lifecycle that changes
 * them is containers.ts's.
 */
import { conflict } from '../errors.js';
import type { ImageService } from '../images/image-service.js';
import type { ContainerProcess } from '../runtime/process.js';
import { diskUsage } from '../util/disk-usage.js';
import type { FsView } from './container-archive.js';
import type { CreateRequest } from './container-create.js';
import type { ContainerMounts } from './container-mounts.js';
import { ContainerStore } from './container-store.js';
import { type ContainerRecord, isActive } from './container-types.js';
import { homeOf } from './container-user.js';
import type { EventBus } from './events.js';
import { JsonFileLog, rotateOptions } from './json-log.js';
import { LiveState, type WaitResult } from './live-state.js';
import { processEnv, withHome, type LinkedContainer } from './process-env.js';
import { etcFileMounts, mountRootfs, rootfsPaths, unmountRootfs } from './rootfs.js';

/**
 * The seam for networking: called while the new process waits at its start
 * gate, with its network namespace at /proc/<pid>/ns/net, and after it
 * exits. Without one, a container has a namespace with only lo
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

export class ContainerRegistry {
  readonly store: ContainerStore;
  readonly images: ImageService;
  readonly events: EventBus;
  readonly network: NetworkAttacher | undefined;
  readonly mounts: ContainerMounts | undefined;
  protected readonly warn: (msg: string) => void;
  private readonly live = new Map<string, LiveState>();

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

  /** Drops the in-memory state of a removed container. */
  protected forgetLive(rec: ContainerRecord): void {
    this.live.delete(rec.Id);
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

  /** Resolves when the current run's exit has been handled. */
  nextExit(rec: ContainerRecord): Promise<WaitResult> {
    return new Promise((resolve) => this.liveState(rec).exitWaiters.push(resolve));
  }

  /** The running init, or a 409 naming the state it is in. */
  running(rec: ContainerRecord): ContainerProcess {
    const proc = this.liveState(rec).proc;
    if (!proc) throw conflict(`container ${rec.Id} is not running`);
    if (rec.State.Status === 'paused') throw conflict(`container ${rec.Id} is paused, unpause the container before exec`);
    return proc;
  }

  // ---- views --------------------------------------------------------------

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
}

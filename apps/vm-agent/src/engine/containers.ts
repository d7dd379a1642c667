/**
 * The container lifecycle: create, start, stop, kill, restart, remove,
 * pause, rename, update, wait, and what happens when a process exits
 * (restart policy applied, auto-remove). The records and views are
 * container-registry.ts's; one run's spawn and teardown container-run.ts's.
 *
 * Invariants:
 * - The record on disk is saved after every state change; after a crash the
 *   agent finds each container as it last was, and `restore()` turns a
 *   "running" container whose process it no longer owns into "exited".
 * - Operations on one container run one at a time (`serial`); the exit
 *   handler does not take that lock, so a stop can wait for it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { conflict, invalidParameter, isEngineError, notFound, notModified, systemError } from '../errors.js';
import { Cgroup } from '../runtime/cgroups.js';
import { killIfSameProcess, procStartTime, waitGone } from '../runtime/proc-stat.js';
import { signalNumber, type ContainerProcess, type ExitStatus } from '../runtime/process.js';
import { trace } from '../util/trace.js';
import { buildContainerRecord, type CreateRequest } from './container-create.js';
import { cgroupLimits, mergeUpdate, planResources, validateLimits } from './container-limits.js';
import { freeName } from './container-names.js';
import { adoptSharedNamespaces } from './container-namespaces.js';
import { ContainerRegistry } from './container-registry.js';
import { feedOutput, spawnInit, tearDownRun } from './container-run.js';
import { isStoppingSignal, parseSignal, SIGKILL } from './container-signals.js';
import { ContainerStore } from './container-store.js';
import { type ContainerRecord, isActive, nowRfc3339, timeMs } from './container-types.js';
import { rotateOptions } from './json-log.js';
import type { WaitResult } from './live-state.js';
import { nextBackoff, shouldRestart } from './restart-policy.js';
import { unmountRootfs } from './rootfs.js';

/**
 * Berth has no containerd, shim or runc, so its start errors do not claim
 * them; they keep runc's "unable to start container process" and the step's
 * own words after it ("exec: \"x\": executable file not found in $PATH"),
 * which the docker CLI maps to exit codes 127 and 126.
 */
const START_ERROR_PREFIX = 'berth runtime: unable to start container process: ';

export class ContainerService extends ContainerRegistry {
  /** Set by shutdown(): exits are then the agent's doing, not the container's, so no restart policy applies. */
  private shuttingDown = false;

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
      const killed = rec.State.Pid > 0 && killIfSameProcess(rec.State.Pid, rec.PidStartTime);
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
    const fullName = name ? ContainerStore.normalizeName(name) : freeName((n) => !!this.store.find(n));
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
    const l = this.liveState(rec);
    let run: { proc: ContainerProcess; cgroup: Cgroup };
    try {
      run = await spawnInit(this, rec);
    } catch (err) {
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

    const { proc, cgroup } = run;
    trace(rec.Id, 'spawned');
    l.proc = proc;
    l.cgroup = cgroup;
    const startedAt = nowRfc3339();
    rec.State = { Status: 'running', Pid: proc.pid, ExitCode: 0, Error: '', OOMKilled: false, StartedAt: startedAt, FinishedAt: rec.State.FinishedAt };
    rec.PidStartTime = procStartTime(proc.pid);
    rec.HasBeenStartedBefore = true;
    const drained = feedOutput(l, this.logger(rec), proc); // before the first await (see feedOutput)
    await this.store.save(rec);
    this.emit(rec, 'start');
    trace(rec.Id, 'started');
    void proc.exited.then((status) => this.onExit(rec, proc, status, drained, startedAt));
  }

  private async onExit(rec: ContainerRecord, proc: ContainerProcess, status: ExitStatus, drained: Promise<void>[], startedAt: string): Promise<void> {
    const l = this.liveState(rec);
    const exitCode = status.exitCode ?? (status.signal ? 128 + signalNumber(status.signal) : 255);
    const policyRestarts = () =>
      shouldRestart({ policy: rec.HostConfig.RestartPolicy, exitCode, restartCount: rec.RestartCount, manuallyStopped: rec.HasBeenManuallyStopped });
    // Decided before the teardown: it can only turn a restart off (a manual stop, shutdown, rm), never on.
    const autoRemove = rec.HostConfig.AutoRemove && !policyRestarts();
    const { oomKilled } = await tearDownRun(this, rec, proc, drained, this.warn, autoRemove);
    rec.State = { ...rec.State, Status: 'exited', Pid: 0, ExitCode: exitCode, OOMKilled: oomKilled, FinishedAt: nowRfc3339() };
    rec.PidStartTime = undefined;
    this.emit(rec, 'die', { exitCode: String(exitCode) });

    const restart = !autoRemove && !this.shuttingDown && this.store.has(rec.Id) && policyRestarts();
    if (restart) {
      rec.State.Status = 'restarting';
      l.backoffMs = nextBackoff(l.backoffMs, Date.now() - timeMs(startedAt));
      l.restartTimer = setTimeout(() => void this.restartByPolicy(rec), l.backoffMs);
    }
    // An auto-removed container's exit is not written: its record goes next, and
    // restore() removes an AutoRemove container it finds running or exited alike.
    if (this.store.has(rec.Id) && !autoRemove) await this.store.save(rec);
    trace(rec.Id, 'exit recorded');
    const result: WaitResult = { StatusCode: exitCode, Error: null };
    for (const w of l.exitWaiters.splice(0)) w(result);
    if (autoRemove && this.store.has(rec.Id)) {
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
        // Signals that fail (a paused container that cannot be thawed) do not stop the others' shutdown.
        await this.stopWithin(rec, rec.Config.StopSignal || 'SIGTERM', rec.Config.StopTimeout ?? 10, (sig) => this.signal(rec, sig).catch(() => {}));
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
      await this.stopWithin(rec, signal || rec.Config.StopSignal || 'SIGTERM', timeoutSec ?? rec.Config.StopTimeout ?? 10);
      this.emit(rec, 'stop');
    });
  }

  /**
   * Sends `signal` (through `send`), waits up to `timeoutSec` for the exit
   * (-1: for ever), then SIGKILL; resolves once the exit has been handled.
   */
  private async stopWithin(
    rec: ContainerRecord,
    signal: string,
    timeoutSec: number,
    send: (signal: string) => Promise<void> = (sig) => this.signal(rec, sig),
  ): Promise<void> {
    const exited = this.nextExit(rec);
    await send(signal);
    const inTime = timeoutSec < 0 ? await exited : await Promise.race([exited, sleep(timeoutSec * 1000).then(() => undefined)]);
    if (!inTime) {
      await send('SIGKILL');
      await exited;
    }
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
      if (isStoppingSignal(n, rec.Config.StopSignal)) {
        rec.HasBeenManuallyStopped = true;
        await this.store.save(rec);
      }
      const exited = n === SIGKILL ? this.nextExit(rec) : undefined;
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
    this.forgetLive(rec);
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
   * `docker update`: new resource limits (and restart policy), applied to the
   * running container's cgroup at once and kept for later starts.
   */
  update(term: string, body: Record<string, unknown>): Promise<string[]> {
    const rec = this.get(term);
    return this.serial(rec, async () => {
      // A --rm container is removed when it ends; dockerd refuses to give it a restart policy.
      const restart = (body.RestartPolicy as { Name?: string } | undefined)?.Name;
      if (restart && rec.HostConfig.AutoRemove)
        throw conflict(`Cannot update container ${rec.Id}: Restart policy cannot be updated because AutoRemove is enabled for the container`);
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
}

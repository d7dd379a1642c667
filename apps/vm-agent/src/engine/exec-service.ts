/**
 * `docker exec`: processes started inside a running container, kept as
 * exec instances (create, then start, then inspect for the exit code) as
 * dockerd keeps them, until their container is removed.
 */
import { randomBytes } from 'node:crypto';
import { conflict, invalidParameter, notFound } from '../errors.js';
import { execInContainer } from '../runtime/exec.js';
import type { ContainerProcess } from '../runtime/process.js';
import { ulimitsOf } from './container-limits.js';
import { groupAddOf, oomScoreAdjOf } from './container-namespaces.js';
import { processConfinement } from './container-security.js';
import type { ContainerRecord } from './container-types.js';
import { resolveUser } from './container-user.js';
import { parseSignal } from './container-signals.js';
import type { ContainerService } from './containers.js';
import { rootfsPaths } from './rootfs.js';
import { StdioHub } from './stdio-hub.js';

export interface ExecConfig {
  User: string;
  Privileged: boolean;
  Tty: boolean;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  DetachKeys: string;
  Env: string[];
  WorkingDir: string;
  Cmd: string[];
  ConsoleSize?: [number, number] | null;
}

export interface ExecInstance {
  ID: string;
  ContainerID: string;
  Config: ExecConfig;
  Running: boolean;
  ExitCode: number | null;
  Pid: number;
  started: boolean;
  hub: StdioHub;
  proc?: ContainerProcess;
  /** Resolves when the process has exited and its output is flushed. */
  done?: Promise<void>;
}

/** As containers.ts words a failed start: the real step, runc's phrase, the step's words the CLI matches. */
const START_ERROR_PREFIX = 'berth runtime exec: unable to start container process: ';

export class ExecService {
  private readonly execs = new Map<string, ExecInstance>();

  constructor(private readonly containers: ContainerService) {
    containers.events.subscribe((ev) => {
      if (ev.Type === 'container' && ev.Action === 'destroy') {
        for (const [id, e] of this.execs) if (e.ContainerID === ev.Actor.ID) this.execs.delete(id);
      }
    });
  }

  create(containerTerm: string, body: Partial<ExecConfig>): ExecInstance {
    const rec = this.containers.get(containerTerm);
    this.containers.running(rec);
    const cmd = body.Cmd ?? [];
    if (cmd.length === 0 || cmd[0] === '') throw invalidParameter('No exec command specified');
    if (body.WorkingDir && !body.WorkingDir.startsWith('/')) {
      throw invalidParameter(`the working directory '${body.WorkingDir}' is invalid, it needs to be an absolute path`);
    }
    const exec: ExecInstance = {
      ID: randomBytes(32).toString('hex'),
      ContainerID: rec.Id,
      Config: {
        User: body.User ?? '',
        Privileged: body.Privileged ?? false,
        Tty: body.Tty ?? false,
        AttachStdin: body.AttachStdin ?? false,
        AttachStdout: body.AttachStdout ?? false,
        AttachStderr: body.AttachStderr ?? false,
        DetachKeys: body.DetachKeys ?? '',
        Env: body.Env ?? [],
        WorkingDir: body.WorkingDir ?? '',
        Cmd: cmd,
        ConsoleSize: body.ConsoleSize ?? null,
      },
      Running: false,
      ExitCode: null,
      Pid: 0,
      started: false,
      hub: new StdioHub(true, body.AttachStdin ?? false),
    };
    this.execs.set(exec.ID, exec);
    this.containers.emit(rec, `exec_create: ${cmd.join(' ')}`, { execID: exec.ID });
    return exec;
  }

  /** Exec IDs of a container, oldest first (inspect's ExecIDs). */
  idsOf(containerId: string): string[] {
    return [...this.execs.values()].filter((e) => e.ContainerID === containerId).map((e) => e.ID);
  }

  /** Drops an exec instance that no client will ask about (the health monitor's probes). */
  forget(id: string): void {
    this.execs.delete(id);
  }

  get(id: string): ExecInstance {
    const e = this.execs.get(id);
    if (!e) throw notFound(`No such exec instance: ${id}`);
    return e;
  }

  /**
   * Starts the process. Output goes to the exec's hub: attach a client
   * before calling this. A command that cannot run is reported on the
   * stream (`onStartError`) with exit code 126 or 127, as dockerd does.
   */
  async start(id: string, opts: { consoleSize?: [number, number] }, onStartError: (message: string) => void): Promise<void> {
    const exec = this.get(id);
    if (exec.started) throw conflict(`Exec command ${id} has already run`);
    const rec = this.containers.get(exec.ContainerID);
    const init = this.containers.running(rec);
    exec.started = true;
    const tty = exec.Config.Tty;
    const [rows, cols] = opts.consoleSize ?? exec.Config.ConsoleSize ?? [0, 0];
    let proc: ContainerProcess;
    try {
      const rootfs = rootfsPaths(this.containers.store.dir(rec.Id)).target;
      const user = await resolveUser(rootfs, exec.Config.User || rec.Config.User, groupAddOf(rec.HostConfig));
      proc = await execInContainer(init.pid, {
        args: exec.Config.Cmd,
        env: await this.containers.environment(rec, { tty, extra: exec.Config.Env, rootfs, uid: user.uid }),
        cwd: exec.Config.WorkingDir || rec.Config.WorkingDir || '/',
        user,
        tty,
        stdin: exec.Config.AttachStdin,
        ...(cols && rows ? { consoleSize: { cols, rows } } : {}),
        cgroup: this.containers.liveState(rec).cgroup,
        oomScoreAdj: oomScoreAdjOf(rec.HostConfig), // the container's OOM score adjustment (runc exec writes the spec's)
        ulimits: ulimitsOf(rec.HostConfig), // as runc gives exec'd processes the container's rlimits
        // the container's capabilities (all with --privileged), no_new_privs and seccomp filter, as dockerd gives an exec
        ...processConfinement(rec.HostConfig, exec.Config.Privileged),
      });
    } catch (err) {
      const e = err as Error & { exitCode?: number };
      exec.ExitCode = e.exitCode ?? 126;
      onStartError(`${START_ERROR_PREFIX}${e.message}`);
      exec.hub.closeAll();
      this.emitDie(rec, exec);
      return;
    }
    exec.proc = proc;
    exec.Pid = proc.pid;
    exec.Running = true;
    this.containers.emit(rec, `exec_start: ${exec.Config.Cmd.join(' ')}`, { execID: exec.ID });
    const drained: Promise<void>[] = [];
    const feed = (stream: 'stdout' | 'stderr', src: NodeJS.ReadableStream | undefined) => {
      if (!src) return;
      drained.push(
        new Promise((resolve) => {
          src.on('data', (d: Buffer) => exec.hub.output(stream, d));
          src.once('end', resolve);
          src.once('close', resolve);
          src.once('error', () => resolve());
        }),
      );
    };
    feed('stdout', proc.pty);
    feed('stdout', proc.stdout);
    feed('stderr', proc.stderr);
    exec.hub.setStdin(proc.pty ?? proc.stdin);
    exec.done = proc.exited.then(async (status) => {
      await Promise.race([Promise.all(drained), new Promise((r) => setTimeout(r, 2000))]);
      exec.Running = false;
      exec.ExitCode = status.exitCode ?? (status.signal ? 128 + parseSignal(status.signal) : 255);
      exec.hub.setStdin(undefined);
      proc.stdin?.destroy();
      proc.pty?.destroy();
      exec.hub.closeAll();
      this.emitDie(rec, exec);
    });
  }

  private emitDie(rec: ContainerRecord, exec: ExecInstance): void {
    this.containers.emit(rec, 'exec_die', { execID: exec.ID, exitCode: String(exec.ExitCode) });
  }

  resize(id: string, cols: number, rows: number): void {
    const exec = this.get(id);
    exec.proc?.resize(cols, rows);
  }
}

/**
 * The client side of the VM daemon: what `berth start|stop|status|shell`
 * and the dashboard's VM engine call. The daemon (vm-daemon.ts) does the
 * work; these start it detached, follow run/state.json, signal it, and read
 * what it published.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ClientChannel } from 'ssh2';
import { findInCheckout } from '../util/checkout-path.js';
import { enginePing, engineFetch } from '../util/engine-client.js';
import { ensureLinkKeys, HostKeyPin } from '../link/keys.js';
import { VmLink } from '../link/vm-link.js';
import type { VmOverrides } from './vm-daemon.js';
import {
  BOOT_PHASES,
  isOurQemu,
  lastFileLines,
  lockHolder,
  pidAlive,
  readRunState,
  vmPaths,
  type VmPaths,
  type VmPhase,
  type VmRunState,
} from '../vm/vm-state.js';

export class VmError extends Error {
  override name = 'VmError';
  constructor(
    message: string,
    readonly consoleTail: string[] = [],
  ) {
    super(message);
  }
}

export interface StartOptions {
  home: string;
  overrides?: VmOverrides;
  /** Each phase once, in order, with its message. */
  onProgress?: (phase: VmPhase, message: string, state: VmRunState) => void;
  /** How the daemon is run: default this very program (`process.argv[1] vm-daemon`) under the same node flags. */
  daemonCommand?: string[];
  /** Default 10 minutes (TCG). */
  timeoutMs?: number;
}

export interface StartResult {
  alreadyRunning: boolean;
  state: VmRunState;
  socket: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function overrideArgs(o: VmOverrides = {}): string[] {
  const args: string[] = [];
  if (o.accel) args.push('--accel', o.accel);
  if (o.cpus) args.push('--cpus', String(o.cpus));
  if (o.memoryMiB) args.push('--memory', String(o.memoryMiB));
  if (o.diskGiB) args.push('--disk', String(o.diskGiB));
  if (o.arch) args.push('--arch', o.arch);
  return args;
}

/** Starts the VM (or finds it running, or joins a start under way) and resolves once the host socket answers. */
export async function startVm(opts: StartOptions): Promise<StartResult> {
  const paths = vmPaths(opts.home);
  const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
  let holder = lockHolder(paths);
  const current = readRunState(paths);
  if (holder && current?.daemonPid === holder && current.phase === 'running' && (await enginePing(paths.socket))) {
    return { alreadyRunning: true, state: current, socket: paths.socket };
  }
  if (holder && current?.daemonPid === holder && current.phase === 'stopping') {
    opts.onProgress?.('stopping', 'Waiting for the VM to finish stopping…', current);
    while (pidAlive(holder) && Date.now() < deadline) await sleep(200);
    holder = undefined;
  }
  if (!holder) holder = spawnDaemon(paths, opts);

  // Steps, not phases: one phase can say several things ("Starting…", then "Booting…"), and a poll can miss a short one.
  let said = 0;
  for (;;) {
    const s = readRunState(paths);
    if (s && s.daemonPid === holder) {
      const steps = s.steps ?? [s.message];
      for (; said < steps.length; said++) opts.onProgress?.(s.phase, steps[said]!, s);
      if (s.phase === 'running') {
        if (await enginePing(paths.socket, 5000)) return { alreadyRunning: false, state: s, socket: paths.socket };
      } else if (s.phase === 'failed') {
        throw new VmError(s.message, s.consoleTail ?? []);
      } else if (!BOOT_PHASES.includes(s.phase)) {
        throw new VmError(`the VM is ${s.phase}: ${s.message}`);
      }
    }
    if (!pidAlive(holder)) {
      const again = lockHolder(paths);
      if (again && again !== holder) {
        holder = again; // another start won the lock: follow that daemon
        continue;
      }
      const last = readRunState(paths);
      if (last?.daemonPid === holder && last.phase === 'failed') throw new VmError(last.message, last.consoleTail ?? []);
      throw new VmError(`the VM daemon (pid ${holder}) exited while starting; see ${paths.daemonLog}:\n${lastFileLines(paths.daemonLog, 10).join('\n')}`);
    }
    if (Date.now() > deadline)
      throw new VmError(
        `the VM did not become ready within ${(opts.timeoutMs ?? 600_000) / 1000} s; see ${paths.daemonLog}`,
        lastFileLines(paths.consoleLog, 20),
      );
    await sleep(200);
  }
}

/**
 * `berth vm-daemon` run by this program under the same node flags (tsx in a
 * checkout); inside Electron, whose argv[1] is the app, the built cli.js under
 * Electron's own Node (ELECTRON_RUN_AS_NODE, set by spawnDaemon).
 */
export function defaultDaemonCommand(): string[] {
  if (process.versions.electron) {
    const cli = findInCheckout(join('apps', 'main', 'dist', 'cli.js'));
    if (!cli) throw new VmError('cannot find apps/main/dist/cli.js to run the VM daemon: run `npm run build`');
    return [process.execPath, cli, 'vm-daemon'];
  }
  return [process.execPath, ...process.execArgv, process.argv[1]!, 'vm-daemon'];
}

function spawnDaemon(paths: VmPaths, opts: StartOptions): number {
  const command = opts.daemonCommand ?? defaultDaemonCommand();
  mkdirSync(dirname(paths.daemonLog), { recursive: true });
  const out = openSync(paths.daemonLog, 'a', 0o600);
  try {
    const child = spawn(command[0]!, [...command.slice(1), ...overrideArgs(opts.overrides)], {
      detached: true,
      stdio: ['ignore', out, out],
      env: { ...process.env, BERTH_HOME: paths.home, ELECTRON_RUN_AS_NODE: '1' },
    });
    child.unref();
    if (!child.pid) throw new VmError(`cannot start the VM daemon (${command.join(' ')})`);
    return child.pid;
  } finally {
    closeSync(out);
  }
}

export interface StopResult {
  wasRunning: boolean;
  state?: VmRunState;
}

/** Asks the daemon to stop the VM and waits for it to exit (up to 2 minutes: containers get their stop timeouts). */
export async function stopVm(home: string, onProgress?: (message: string) => void): Promise<StopResult> {
  const paths = vmPaths(home);
  const holder = lockHolder(paths);
  if (!holder) {
    const last = readRunState(paths);
    if (last?.qemuPid && isOurQemu(last.qemuPid, paths)) {
      // The daemon died and left QEMU: no one can power it off cleanly but QMP; the next start does that. Kill it now.
      onProgress?.(`The VM daemon is gone but QEMU (pid ${last.qemuPid}) runs; killing it.`);
      process.kill(last.qemuPid, 'SIGKILL');
      return { wasRunning: true, state: last };
    }
    return { wasRunning: false, ...(last ? { state: last } : {}) };
  }
  onProgress?.('Stopping the VM (containers get their stop timeouts)…');
  process.kill(holder, 'SIGTERM');
  const deadline = Date.now() + 120_000;
  while (pidAlive(holder)) {
    if (Date.now() > deadline) {
      process.kill(holder, 'SIGKILL');
      throw new VmError(`the VM daemon (pid ${holder}) did not stop within 2 minutes and was killed; see ${paths.daemonLog}`);
    }
    await sleep(200);
  }
  const state = readRunState(paths);
  return { wasRunning: true, ...(state ? { state } : {}) };
}

export interface VmStatus {
  /** running: the engine answers; starting; stopping; stopped: nothing runs; failed: it died or did not boot; broken: parts run, parts do not. */
  state: 'running' | 'starting' | 'stopping' | 'stopped' | 'failed' | 'broken';
  summary: string;
  run?: VmRunState;
  daemonAlive: boolean;
  qemuAlive: boolean;
  engineVersion?: string;
  uptimeSeconds?: number;
  /** The last console lines, when something is wrong. */
  consoleTail?: string[];
  paths: VmPaths;
}

/** What runs and where, checked live: the daemon's pid, QEMU's pid, the engine through the host socket. */
export async function vmStatus(home: string): Promise<VmStatus> {
  const paths = vmPaths(home);
  const run = readRunState(paths);
  const holder = lockHolder(paths);
  const daemonAlive = !!holder && run?.daemonPid === holder;
  const qemuAlive = isOurQemu(run?.qemuPid, paths);
  const base = { ...(run ? { run } : {}), daemonAlive, qemuAlive, paths };
  const tail = () => (run?.consoleTail?.length ? run.consoleTail : lastFileLines(paths.consoleLog, 15));
  if (!run) return { ...base, state: 'stopped', summary: 'The VM has never run here.' };
  if (!daemonAlive) {
    if (qemuAlive)
      return {
        ...base,
        state: 'broken',
        summary: `The VM daemon died, but QEMU (pid ${run.qemuPid}) still runs; \`berth start\` powers it off and boots again.`,
        consoleTail: tail(),
      };
    if (run.phase === 'stopped') return { ...base, state: 'stopped', summary: run.message };
    if (run.phase === 'failed') return { ...base, state: 'failed', summary: run.message, consoleTail: tail() };
    return {
      ...base,
      state: 'failed',
      summary: `The VM daemon (pid ${run.daemonPid}) died while ${run.phase}; \`berth start\` boots again.`,
      consoleTail: tail(),
    };
  }
  if (BOOT_PHASES.includes(run.phase)) return { ...base, state: 'starting', summary: run.message };
  if (run.phase === 'stopping') return { ...base, state: 'stopping', summary: run.message };
  if (!qemuAlive) return { ...base, state: 'broken', summary: `QEMU (pid ${run.qemuPid}) is gone; the daemon has not noticed yet.`, consoleTail: tail() };
  let version: string | undefined;
  try {
    const res = await engineFetch(paths.socket, { method: 'GET', path: '/version', timeoutMs: 5000 });
    if (res.status === 200) version = (JSON.parse(res.body.toString('utf8')) as { Version?: string }).Version;
  } catch {
    // reported below
  }
  const uptimeSeconds = run.readyAt ? Math.round((Date.now() - Date.parse(run.readyAt)) / 1000) : undefined;
  const up = { ...(uptimeSeconds !== undefined ? { uptimeSeconds } : {}) };
  if (!version) {
    return {
      ...base,
      ...up,
      state: 'broken',
      summary: `The VM runs (QEMU pid ${run.qemuPid}), but the engine does not answer on ${run.dockerHost ?? paths.socket}: the agent may have died (init restarts it).`,
      consoleTail: lastFileLines(paths.consoleLog, 15),
    };
  }
  return { ...base, ...up, state: 'running', summary: 'The VM is running.', engineVersion: version };
}

/**
 * A root shell (or `command`) in the guest over its own SSH connection.
 * With a TTY on stdin: a pty that follows the terminal's size. Resolves with
 * the remote exit status.
 */
export async function vmShell(home: string, command?: string): Promise<number> {
  const paths = vmPaths(home);
  const run = readRunState(paths);
  const holder = lockHolder(paths);
  if (!run?.sshPort || run.daemonPid !== holder || run.phase !== 'running') throw new VmError('The VM is not running: start it with `berth start`.');
  const keys = ensureLinkKeys(home);
  const pin = new HostKeyPin(home);
  const link = new VmLink({
    host: '127.0.0.1',
    port: run.sshPort,
    privateKey: keys.privateKey,
    verifyHostKey: pin.verify,
    hostKeyProblem: () => pin.lastMismatch,
  });
  link.start();
  try {
    await link.whenReady(15_000);
    const tty = process.stdin.isTTY === true;
    const size = { term: process.env.TERM || 'xterm-256color', cols: process.stdout.columns || 80, rows: process.stdout.rows || 24 };
    // No TTY and no command: a plain shell reading commands from stdin.
    const channel: ClientChannel =
      command === undefined ? (tty ? await link.shell(size) : await link.exec('/bin/sh')) : await link.exec(command, tty ? size : undefined);
    return await new Promise<number>((resolve) => {
      const onResize = () => channel.setWindow(process.stdout.rows || 24, process.stdout.columns || 80, 0, 0);
      if (tty) {
        process.stdin.setRawMode(true);
        process.stdout.on('resize', onResize);
      }
      process.stdin.pipe(channel);
      channel.pipe(process.stdout, { end: false });
      channel.stderr.pipe(process.stderr, { end: false });
      channel.on('close', (code: number | null, signal?: string) => {
        if (tty) {
          process.stdin.setRawMode(false);
          process.stdout.off('resize', onResize);
        }
        process.stdin.unpipe(channel);
        process.stdin.pause();
        resolve(code ?? (signal ? 128 : 255));
      });
    });
  } finally {
    await link.close();
  }
}

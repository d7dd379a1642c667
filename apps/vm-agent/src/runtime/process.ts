/**
 * A process the runtime started (a container's init or an exec'd process):
 * its stdio, its exit, signals and terminal size. Built by spawn.ts and
 * exec.ts from what the addon returns; owns the pidfd and the stdio fds.
 */
import net from 'node:net';
import { closeSync, readSync } from 'node:fs';
import { constants } from 'node:os';
import { Duplex } from 'node:stream';
import tty from 'node:tty';

import { loadAddon } from './native.js';
import type { Launched, Started } from './native-addon.js';

export interface ExitStatus {
  /** The exit code, or null when killed by a signal or unknown. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

/** The number for a signal name or number ('SIGTERM', 'TERM', 15). */
export function signalNumber(signal: NodeJS.Signals | string | number): number {
  if (typeof signal === 'number') return signal;
  const name = (signal.startsWith('SIG') ? signal : `SIG${signal}`).toUpperCase();
  const n = (constants.signals as Record<string, number>)[name];
  if (n === undefined) throw new Error(`invalid signal: ${signal}`);
  return n;
}

export function signalName(n: number): NodeJS.Signals | null {
  const entry = Object.entries(constants.signals).find(([, v]) => v === n);
  return entry ? (entry[0] as NodeJS.Signals) : null;
}

/**
 * The pty master as a plain duplex stream. Reading a master whose slave side
 * is closed gives EIO: that is the end of output, not an error.
 *
 * libuv's end is not the end of the output: when the slave closes (POLLHUP)
 * right after a short read, libuv reports EOF without reading again, and what
 * the process wrote last may still be on its way into the master (the kernel
 * moves it there in a work item). So at the end we read the fd ourselves until
 * it says EIO: the kernel finishes that move before it answers.
 */
class PtyStream extends Duplex {
  readonly #socket: net.Socket;
  constructor(fd: number) {
    super();
    // tty.ReadStream wraps the fd in a libuv tty handle, which reads and writes.
    this.#socket = new tty.ReadStream(fd);
    this.#socket.on('data', (d: Buffer) => {
      if (!this.push(d)) this.#socket.pause();
    });
    // The handle (and the fd) close only after 'end' has been emitted, so the fd is still ours here.
    this.#socket.on('end', () => {
      for (const d of readRest(fd)) this.push(d);
      this.push(null);
    });
    // An EIO came from the kernel, after it had moved everything over: nothing is left (and the fd is closed by now).
    this.#socket.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EIO' ? this.push(null) : this.destroy(e)));
  }
  override _read(): void {
    this.#socket.resume();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#socket.write(chunk, cb);
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#socket.destroy();
    cb(err);
  }
}

/** What a pty master still holds once its slave side is closed: reads until EIO (or EAGAIN, if another holder keeps it open). */
function readRest(fd: number): Buffer[] {
  const out: Buffer[] = [];
  for (;;) {
    const buf = Buffer.allocUnsafe(65536);
    let n: number;
    try {
      n = readSync(fd, buf);
    } catch {
      return out;
    }
    if (n === 0) return out;
    out.push(buf.subarray(0, n));
  }
}

export class ContainerProcess {
  readonly pid: number;
  /** Pipes when started without a tty; stdin only when asked for. */
  readonly stdin: net.Socket | undefined;
  readonly stdout: net.Socket | undefined;
  readonly stderr: net.Socket | undefined;
  /** The terminal when started with a tty: output and input in one stream. */
  readonly pty: Duplex | undefined;
  /** Resolves once, when the process has exited and been reaped. */
  readonly exited: Promise<ExitStatus>;
  #pidfd: number | undefined;
  readonly #ptyFd: number | undefined;

  /** @internal spawn.ts and exec.ts build these. */
  constructor(pid: number, pidfd: number, launched: Launched, started: Started) {
    this.pid = pid;
    this.#pidfd = pidfd;
    this.#ptyFd = started.ptyMaster;
    this.pty = started.ptyMaster !== undefined ? new PtyStream(started.ptyMaster) : undefined;
    this.stdin = launched.stdin !== undefined ? new net.Socket({ fd: launched.stdin, readable: false, writable: true }) : undefined;
    this.stdout = launched.stdout !== undefined ? new net.Socket({ fd: launched.stdout, readable: true, writable: false }) : undefined;
    this.stderr = launched.stderr !== undefined ? new net.Socket({ fd: launched.stderr, readable: true, writable: false }) : undefined;
    this.stdin?.on('error', () => {}); // EPIPE once the process is gone: nothing to tell
    this.exited = new Promise((resolve) => {
      loadAddon().watchExit(pidfd, true, (exitCode, signal) => {
        closeSync(pidfd);
        this.#pidfd = undefined;
        resolve({ exitCode, signal: signal === null ? null : signalName(signal) });
      });
    });
  }

  /** Sends a signal; false when the process has already exited. */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    if (this.#pidfd === undefined) return false;
    try {
      loadAddon().sendSignal(this.#pidfd, signalNumber(signal));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
      throw err;
    }
  }

  /** Sets the terminal size (the process gets SIGWINCH); no-op without a tty. */
  resize(cols: number, rows: number): void {
    if (this.#ptyFd !== undefined && !this.pty?.destroyed) loadAddon().resize(this.#ptyFd, cols, rows);
  }
}

/** Closes what a failed start leaves behind: the pidfd and the stdio fds. */
export function closeLaunched(launched: Launched): void {
  for (const fd of [launched.pidfd, launched.stdin, launched.stdout, launched.stderr]) {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * A start failure from the child: for a command that could not be exec'd,
 * `exitCode` is what dockerd reports (127 not found, 126 not executable).
 */
export function withExitCode(err: unknown): unknown {
  const e = err as NodeJS.ErrnoException & { exitCode?: number };
  if (e && e.syscall === 'execve') e.exitCode = e.code === 'ENOENT' ? 127 : e.code === 'EACCES' ? 126 : 125;
  return err;
}

/**
 * Starts a launched child and wraps it, or cleans up and throws. `hook` runs
 * while the child waits at its gate (cgroup, network).
 */
export async function startLaunched(launched: Launched, isExec: boolean, hook?: (pid: number) => Promise<void> | void): Promise<ContainerProcess> {
  const addon = loadAddon();
  if (hook) {
    try {
      await hook(launched.pid);
    } catch (err) {
      // Closing the gate's write end makes the child exit; then reap it.
      closeSync(launched.syncFd);
      closeSync(launched.msgFd);
      try {
        addon.sendSignal(launched.pidfd, constants.signals.SIGKILL);
      } catch {
        /* already gone */
      }
      addon.reap(launched.pidfd);
      closeLaunched(launched);
      throw err;
    }
  }
  let started: Started;
  try {
    started = await addon.start(launched.syncFd, launched.msgFd, launched.pidfd, isExec);
  } catch (err) {
    closeLaunched(launched);
    throw withExitCode(err);
  }
  if (isExec) {
    closeSync(launched.pidfd); // the helper, already reaped
    return new ContainerProcess(started.pid!, started.pidfd!, launched, started);
  }
  return new ContainerProcess(launched.pid, launched.pidfd, launched, started);
}

/**
 * Resolves when a process the agent did not start (found again after a
 * restart) exits. Its exit status is not ours to read: both fields are null.
 */
export function watchPid(pid: number): Promise<ExitStatus> {
  const addon = loadAddon();
  const pidfd = addon.pidfdOpen(pid);
  return new Promise((resolve) => {
    addon.watchExit(pidfd, false, () => {
      closeSync(pidfd);
      resolve({ exitCode: null, signal: null });
    });
  });
}

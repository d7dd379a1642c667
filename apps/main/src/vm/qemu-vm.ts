// Runs the Berth VM under QEMU: makes the data disk on first start, launches
// QEMU, follows the serial console, falls back to TCG when a hardware
// accelerator stalls or fails, and stops the guest cleanly through QMP.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { hostOs } from './accel.js';
import { hostVmArch } from './arch.js';
import { ConsoleLog } from './console-log.js';
import { ensureDataDisk, type DiskFormat } from './data-disk.js';
import { qmpCommand } from './qmp.js';
import { buildQemuArgs, qemuBinary, type Accelerator, type HostOs, type QmpEndpoint, type VmArch } from './qemu-args.js';
import { VM_STATE_FILES } from '../util/berth-home.js';

export interface QemuVmOptions {
  /** Holds the data disk (data.disk), the console log (console.log) and the QMP socket. */
  stateDir: string;
  kernel: string;
  /**
   * The kernel unpacked (an ELF with a PVH entry, x86 only), booted under
   * TCG: there the decompressor of `kernel` is seconds of emulated work.
   * Hardware accelerators boot `kernel`.
   */
  tcgKernel?: string;
  initrd: string;
  /** The root file system image (root.erofs), attached read-only. */
  rootDisk: string;
  /** The accelerator to try first; anything but TCG falls back to TCG if it fails to boot. */
  accel: Accelerator;
  cpus: number;
  memoryMiB: number;
  /** Size of the data disk when it is created; an existing disk keeps its size. */
  diskSizeGiB: number;
  sshPort: number;
  share?: { hostPath: string; guestPath: string };
  extraShares?: { hostPath: string; guestPath: string }[];
  /** Guest paths covered where a share shows them (QemuConfig.hidden). */
  hidden?: string[];
  authorizedKey?: string;
  os?: HostOs;
  arch?: VmArch;
  /** The QEMU system emulator; by default qemu-system-<arch> from PATH. */
  qemuBinary?: string;
  /** qemu-img to make a qcow2 disk, or null for a raw sparse file. Default 'qemu-img' (raw if not installed). */
  qemuImg?: string | null;
  /** Windows QEMU has no Unix sockets for QMP: a loopback port instead. */
  qmpPort?: number;
  /** How long a hardware accelerator may print nothing before it counts as stalled. Default 6 s. */
  stallTimeoutMs?: number;
  /** How long TCG may print nothing before the boot is given up. Default 60 s. */
  firstOutputTimeoutMs?: number;
  onConsoleLine?: (line: string) => void;
}

export interface VmStarted {
  /** The accelerator the guest is running under. */
  accel: Accelerator;
  /** Set when the requested accelerator failed and TCG took over: remember it and say so. */
  fellBack?: { from: Accelerator; reason: string };
  disk: { path: string; format: DiskFormat; created: boolean };
  pid: number;
}

export interface VmExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when stop() asked for it. */
  expected: boolean;
  /** What happened, with the last console lines when it was not expected. */
  message: string;
}

export class VmStartError extends Error {
  override name = 'VmStartError';
  constructor(
    message: string,
    readonly consoleLines: string[],
  ) {
    super(message);
  }
}

type Attempt = { ok: true; child: ChildProcess; console: ConsoleLog; stderr: () => string } | { ok: false; reason: string; consoleLines: string[] };

const STDERR_KEEP = 4096;

export class QemuVm extends EventEmitter<{ exit: [VmExit]; console: [string] }> {
  private child: ChildProcess | null = null;
  private console: ConsoleLog | null = null;
  private stopping = false;
  private exited: Promise<void> = Promise.resolve();
  readonly consoleLogPath: string;
  readonly qmp: QmpEndpoint;
  /** When the last QEMU was spawned (ms since the epoch): the boot's first phase ends here (boot-phases.ts). */
  launchedAt = 0;
  /** When its console first showed output (the kernel's first line). */
  firstOutputAt = 0;

  constructor(private readonly opts: QemuVmOptions) {
    super();
    this.consoleLogPath = path.join(opts.stateDir, VM_STATE_FILES.consoleLog);
    this.qmp = opts.qmpPort !== undefined ? { tcpPort: opts.qmpPort } : { unix: path.join(opts.stateDir, VM_STATE_FILES.qmpSocket) };
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** The last lines the guest printed (of the current or last boot). */
  lastConsoleLines(n = 40): string[] {
    return this.console?.lastLines(n) ?? [];
  }

  /**
   * Boots the VM. Resolves once the guest prints on its console (the kernel
   * is running); readiness of the agent is for the caller to wait for.
   */
  async start(): Promise<VmStarted> {
    if (this.child) throw new Error('the VM is already running');
    const o = this.opts;
    for (const [what, file] of [
      ['kernel', o.kernel],
      ['initramfs', o.initrd],
      ['root image', o.rootDisk],
    ] as const) {
      if (!fs.existsSync(file)) throw new Error(`the VM ${what} ${file} is missing; run 'npm run build:vm'`);
    }
    fs.mkdirSync(o.stateDir, { recursive: true });
    const disk = await ensureDataDisk(path.join(o.stateDir, VM_STATE_FILES.dataDisk), o.diskSizeGiB, o.qemuImg === undefined ? 'qemu-img' : o.qemuImg);

    let accel = o.accel;
    let fellBack: VmStarted['fellBack'];
    let attempt = await this.launch(accel, disk);
    if (!attempt.ok && accel !== 'tcg') {
      fellBack = { from: accel, reason: attempt.reason };
      accel = 'tcg';
      attempt = await this.launch(accel, disk);
    }
    if (!attempt.ok) {
      const tail = attempt.consoleLines.length ? `\nLast console lines:\n${attempt.consoleLines.join('\n')}` : '';
      const first = fellBack ? `${fellBack.reason}; then ` : '';
      throw new VmStartError(`the VM did not boot: ${first}${attempt.reason}${tail}`, attempt.consoleLines);
    }
    this.adopt(attempt);
    return { accel, ...(fellBack ? { fellBack } : {}), disk, pid: attempt.child.pid! };
  }

  /**
   * Resolves with the first console line (of this boot, including lines
   * already seen) matching `pattern`; rejects on timeout or if QEMU exits.
   */
  waitForConsole(pattern: RegExp, timeoutMs: number): Promise<string> {
    const seen = this.lastConsoleLines().find((l) => pattern.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const onLine = (line: string) => {
        if (pattern.test(line)) finish(() => resolve(line));
      };
      const onExit = (e: VmExit) => finish(() => reject(new Error(`waiting for ${pattern} on the VM console: ${e.message}`)));
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(new Error(`the VM console showed no ${pattern} within ${timeoutMs / 1000} s; last lines:\n${this.lastConsoleLines(15).join('\n')}`)),
          ),
        timeoutMs,
      );
      const finish = (f: () => void) => {
        clearTimeout(timer);
        this.off('console', onLine);
        this.off('exit', onExit);
        f();
      };
      this.on('console', onLine);
      this.on('exit', onExit);
    });
  }

  /**
   * Asks the guest to power off (ACPI power button through QMP) and waits
   * for QEMU to exit; after timeoutMs tells QEMU to quit, then kills it.
   * Resolves with clean=true when the guest powered itself off.
   */
  async stop(timeoutMs = 30_000): Promise<{ clean: boolean }> {
    const child = this.child;
    if (!child) return { clean: true };
    this.stopping = true;
    const exited = this.exited;
    const within = (ms: number) => Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(r, ms, false).unref())]);
    try {
      await qmpCommand(this.qmp, 'system_powerdown');
      if (await within(timeoutMs)) return { clean: true };
    } catch {
      // QMP unreachable: fall through to quit / kill
    }
    try {
      await qmpCommand(this.qmp, 'quit', 2000);
    } catch {
      // already gone, or QMP dead
    }
    if (!(await within(5000))) child.kill('SIGKILL');
    await exited;
    return { clean: false };
  }

  private adopt(a: Extract<Attempt, { ok: true }>): void {
    this.child = a.child;
    this.console = a.console;
    this.stopping = false;
    this.exited = new Promise((resolve) => {
      a.child.once('exit', (code, signal) => {
        a.console.stop();
        this.child = null;
        const expected = this.stopping;
        const status = signal ? `signal ${signal}` : `status ${code}`;
        const err = a.stderr().trim();
        const message = expected
          ? `QEMU exited (${status})`
          : `QEMU exited unexpectedly (${status})${err ? `: ${err}` : ''}\nLast console lines:\n${a.console.lastLines(20).join('\n')}`;
        this.emit('exit', { code, signal, expected, message });
        resolve();
      });
    });
  }

  /** One QEMU run under `accel`, up to the first console output. */
  private async launch(accel: Accelerator, disk: { path: string; format: DiskFormat }): Promise<Attempt> {
    const o = this.opts;
    const os = o.os ?? hostOs();
    const arch = o.arch ?? hostVmArch();
    if ('unix' in this.qmp) fs.rmSync(this.qmp.unix, { force: true });
    fs.rmSync(this.consoleLogPath, { force: true });
    const args = buildQemuArgs({
      os,
      arch,
      accel,
      cpus: o.cpus,
      memoryMiB: o.memoryMiB,
      kernel: accel === 'tcg' && o.tcgKernel ? o.tcgKernel : o.kernel,
      initrd: o.initrd,
      rootDisk: o.rootDisk,
      dataDisk: disk,
      sshPort: o.sshPort,
      qmp: this.qmp,
      consoleLog: this.consoleLogPath,
      ...(o.share ? { share: o.share } : {}),
      ...(o.extraShares?.length ? { extraShares: o.extraShares } : {}),
      ...(o.hidden?.length ? { hidden: o.hidden } : {}),
      ...(o.authorizedKey ? { authorizedKey: o.authorizedKey } : {}),
    });
    const bin = o.qemuBinary ?? qemuBinary(arch);
    const console = new ConsoleLog(this.consoleLogPath, (line) => {
      o.onConsoleLine?.(line);
      this.emit('console', line);
    });
    this.launchedAt = Date.now();
    const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-STDERR_KEEP);
    });
    console.start();
    const limit = accel === 'tcg' ? (o.firstOutputTimeoutMs ?? 60_000) : (o.stallTimeoutMs ?? 6_000);
    const outcome = await new Promise<'output' | 'timeout' | { exit: string }>((resolve) => {
      const tick = setInterval(() => {
        if (console.bytesSeen > 0) finish('output');
      }, 50);
      const timer = setTimeout(() => finish('timeout'), limit);
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => finish({ exit: signal ? `signal ${signal}` : `status ${code}` });
      const onError = (err: NodeJS.ErrnoException) => finish({ exit: err.code === 'ENOENT' ? 'ENOENT' : err.message });
      const finish = (r: 'output' | 'timeout' | { exit: string }) => {
        clearInterval(tick);
        clearTimeout(timer);
        child.off('exit', onExit);
        child.off('error', onError);
        resolve(r);
      };
      child.once('exit', onExit);
      child.once('error', onError);
    });
    if (outcome === 'output') {
      this.firstOutputAt = Date.now();
      return { ok: true, child, console, stderr: () => stderr };
    }

    if (outcome === 'timeout') {
      await killAndWait(child);
    }
    console.stop();
    const consoleLines = console.lastLines(20);
    if (typeof outcome === 'object' && outcome.exit === 'ENOENT') {
      throw new VmStartError(`QEMU is not installed: ${bin} was not found (Debian/Ubuntu: apt install qemu-system-x86; macOS: brew install qemu)`, []);
    }
    const reason =
      outcome === 'timeout'
        ? `${accel} printed nothing on the console within ${limit / 1000} s (a stalled accelerator, as nested virtualization can be)`
        : `QEMU exited under ${accel} (${outcome.exit})${stderr.trim() ? `: ${lastLines(stderr, 3)}` : ''}`;
    return { ok: false, reason, consoleLines };
  }
}

function lastLines(text: string, n: number): string {
  return text.trim().split('\n').slice(-n).join(' / ');
}

function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

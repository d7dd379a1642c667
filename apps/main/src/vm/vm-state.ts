/**
 * The VM's paths under `$BERTH_HOME` (named in util/berth-home.ts), and the
 * run state the VM daemon publishes for `berth start|stop|status` and the
 * dashboard: run/state.json, written only by the daemon that holds
 * run/daemon.lock (its pid: one daemon per home).
 *
 * Contract of the run state: written atomically by the daemon that holds the
 * lock, every time its phase changes; `daemonPid` says whose it is. A state
 * whose daemon is gone describes the last run (how it ended, or that the
 * daemon died mid-way); readers decide by checking the pid.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { homeLayout, hostSocketAddress } from '../util/berth-home.js';
import { readJsonIfExists, writeJsonAtomic } from '../util/atomic-file.js';

export interface VmPaths {
  home: string;
  vmDir: string;
  runDir: string;
  stateFile: string;
  lockFile: string;
  socket: string;
  consoleLog: string;
  qmpSocket: string;
  daemonLog: string;
}

export function vmPaths(home: string): VmPaths {
  const at = homeLayout(home);
  return {
    home,
    vmDir: at.vmDir,
    runDir: at.runDir,
    stateFile: at.runStateFile,
    lockFile: at.daemonLockFile,
    socket: hostSocketAddress(home).path,
    consoleLog: at.consoleLog,
    qmpSocket: at.qmpSocket,
    daemonLog: at.daemonLog,
  };
}

/**
 * starting: QEMU is being launched; kernel: the guest prints; agent: init
 * started the agent; engine: the agent listens in the guest (host link
 * coming up); running: the host socket answers; stopping; stopped: a clean
 * end; failed: the boot failed or QEMU died (message and consoleTail say how).
 */
export const VM_PHASES = ['starting', 'kernel', 'agent', 'engine', 'running', 'stopping', 'stopped', 'failed'] as const;
export type VmPhase = (typeof VM_PHASES)[number];
/** The phases of a boot under way. */
export const BOOT_PHASES: readonly VmPhase[] = ['starting', 'kernel', 'agent', 'engine'];

const runStateSchema = z.object({
  daemonPid: z.int(),
  phase: z.enum(VM_PHASES),
  message: z.string(),
  /** Every message this daemon has said, in order: a watcher that polls prints the ones it has not seen, even short-lived ones. */
  steps: z.array(z.string()).optional(),
  startedAt: z.string(),
  readyAt: z.string().optional(),
  endedAt: z.string().optional(),
  qemuPid: z.int().optional(),
  accel: z.string().optional(),
  /** Said once at boot: why the accelerator is what it is (a fallback, or a remembered one). */
  accelNote: z.string().optional(),
  cpus: z.int().optional(),
  memoryMiB: z.int().optional(),
  sshPort: z.int().optional(),
  dockerHost: z.string().optional(),
  engineVersion: z.string().optional(),
  /** The SSH link to the agent: ready, or retrying when the agent does not answer. */
  link: z.string().optional(),
  consoleTail: z.array(z.string()).optional(),
  /** How long each phase of the boot took, up to the engine's first answer (boot-phases.ts). */
  bootPhases: z.array(z.object({ phase: z.string(), ms: z.number() })).optional(),
});

export type VmRunState = z.infer<typeof runStateSchema>;

export function writeRunState(paths: VmPaths, state: VmRunState): void {
  writeJsonAtomic(paths.stateFile, state);
}

/** The last published state, or undefined when there is none (or it is unreadable: treated as none). */
export function readRunState(paths: VmPaths): VmRunState | undefined {
  try {
    const r = runStateSchema.safeParse(readJsonIfExists(paths.stateFile));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/** True while a process with this pid exists (ours or not: EPERM counts as alive). */
export function pidAlive(pid: number | undefined): boolean {
  if (!pid || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid holding the daemon lock, if that process is alive. */
export function lockHolder(paths: VmPaths): number | undefined {
  try {
    const pid = Number(readFileSync(paths.lockFile, 'utf8').trim());
    return pidAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True when `pid` is a QEMU whose command line names this VM's directory (not a reused pid). */
export function isOurQemu(pid: number | undefined, paths: VmPaths): boolean {
  if (!pidAlive(pid)) return false;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('qemu-system') && cmdline.includes(paths.vmDir);
  } catch {
    // No /proc (macOS, Windows): trust the pid.
    return process.platform !== 'linux';
  }
}

/** The last `n` lines of a text file (the console log), or [] when it cannot be read. */
export function lastFileLines(file: string, n: number): string[] {
  try {
    const text = readFileSync(file, 'utf8');
    return text
      .split(/\r?\n/)
      .filter((l) => l.trim() !== '')
      .slice(-n);
  } catch {
    return [];
  }
}

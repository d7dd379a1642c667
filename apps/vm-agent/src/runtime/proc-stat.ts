/**
 * What the kernel says of processes and of the machine under /proc: a
 * process's start time and state (to tell a pid the agent started from a
 * reused one), CPU time and a namespace's interface counters (stats), and
 * the host's `ps` filtered to a container's pids (`docker top`).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { invalidParameter } from '../errors.js';

/** The fields of /proc/<pid>/stat after the command, which may hold spaces and parentheses; undefined once the process is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat: when the process started (clock ticks since boot). */
export function procStartTime(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

/** Kills a process a previous run of the agent started, if that pid is still that process (same start time). */
export function killIfSameProcess(pid: number, startTime: string | undefined): boolean {
  const now = procStartTime(pid);
  if (now === undefined || startTime === undefined || now !== startTime) return false;
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

/** Waits (up to 2 s) until a process is gone or a zombie (field 3 of its stat, "Z"). */
export async function waitGone(pid: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const state = statFields(pid)?.[0];
    if (state === undefined || state === 'Z') return;
    await sleep(10);
  }
}

/** The machine's CPU time in nanoseconds (first line of /proc/stat, USER_HZ 100), as dockerd computes system_cpu_usage. */
export function systemCpuNanos(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const ticks = line
    .split(/\s+/)
    .slice(1, 8)
    .map(Number)
    .reduce((a, b) => a + b, 0);
  return ticks * 10_000_000;
}

/** One interface's counters, as dockerd's stats name them. */
export interface NetworkStats {
  rx_bytes: number;
  rx_packets: number;
  rx_errors: number;
  rx_dropped: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errors: number;
  tx_dropped: number;
}

/** Interface counters of a process's network namespace, `lo` left out. */
export function netDev(pid: number): Record<string, NetworkStats> {
  const out: Record<string, NetworkStats> = {};
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/net/dev`, 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === 'lo') continue;
    const f = m[2]!.trim().split(/\s+/).map(Number);
    out[m[1]!] = {
      rx_bytes: f[0]!,
      rx_packets: f[1]!,
      rx_errors: f[2]!,
      rx_dropped: f[3]!,
      tx_bytes: f[8]!,
      tx_packets: f[9]!,
      tx_errors: f[10]!,
      tx_dropped: f[11]!,
    };
  }
  return out;
}

const run = promisify(execFile);

/** `docker top`: the host's ps with the given arguments, rows kept for the given pids (as dockerd does). */
export async function processTable(pids: number[], psArgs: string): Promise<{ Titles: string[]; Processes: string[][] }> {
  const args = psArgs.split(/\s+/).filter(Boolean);
  let stdout: string;
  try {
    ({ stdout } = await run('ps', args, { maxBuffer: 16 * 1024 * 1024 }));
  } catch (err) {
    throw invalidParameter(`ps: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`);
  }
  const lines = stdout.split('\n').filter(Boolean);
  const header = lines[0]?.trim().split(/\s+/) ?? [];
  const pidCol = header.indexOf('PID');
  if (pidCol === -1) throw invalidParameter(`Couldn't find PID field in ps output`);
  const wanted = new Set(pids.map(String));
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (!wanted.has(fields[pidCol]!)) continue;
    // The last column (the command) may contain spaces: keep it whole.
    processes.push([...fields.slice(0, header.length - 1), fields.slice(header.length - 1).join(' ')]);
  }
  return { Titles: header, Processes: processes };
}

// The boot's phase table, from the daemon's start to the engine's first
// answer: the host's own marks (QEMU launched, the SSH link up, the first
// /version answered) and the guest's, which init and the agent print on the
// console as `berth-init: [UPTIME] ...` with the seconds since the guest's
// kernel started (resources/vm/guest/, apps/vm-agent/src/util/startup-marks.ts).
// Pure: the daemon feeds it and publishes the result; `berth status` and
// bench/vm.mjs print it.

/** A console line of the guest's init or agent, with when the host read it. */
export interface ConsoleMark {
  /** Host time (ms since the epoch) the line was read; at or after the guest printed it. */
  at: number;
  line: string;
}

export interface HostMarks {
  /** The daemon started (before the data disk and QEMU). */
  daemonStart: number;
  qemuLaunch: number;
  /** The console's first output: the kernel prints (its clock is no help here: under TCG it loses early ticks). */
  firstOutput?: number;
  /** The SSH link to the agent is up. */
  linkReady?: number;
  /** The engine's first /version answer. */
  answered?: number;
}

export interface BootPhase {
  /** What ran in this phase (it ends at the milestone of the same row). */
  phase: string;
  ms: number;
}

/**
 * The guest's milestones, in boot order: the console line that ends each
 * phase. Node's start and the bundle's load run beside init's network, disk
 * and shares (rc.init starts the agent early): a phase shows only the time it
 * still took after the milestone before it, so the rows add up to the boot.
 */
const GUEST_MILESTONES: ReadonlyArray<[string, RegExp]> = [
  ['kernel (to stage 1)', /stage 1: mounting the root image/],
  ['stage 1: modules, root image', /stage 1: root is /],
  ['init: mounts, modules', /loaded modules:/],
  ['init: network, data disk, shares', /init done$/],
  ['node start', /agent: node started$/],
  ['agent bundle load', /agent: bundle loaded$/],
  ['agent: API and SSH listening', /agent: ssh listening$/],
];

const UPTIME = /^berth-init: \[([\d.]+)\] /;

const DAEMON = 'host: daemon, data disk';
const FIRMWARE = 'firmware, kernel load';
const LINK = 'host link (SSH)';
const ANSWER = 'first answer (/version)';

/** Every phase, in boot order: a boot that marks them all shows each once. */
export const BOOT_PHASE_NAMES: readonly string[] = [DAEMON, FIRMWARE, ...GUEST_MILESTONES.map(([phase]) => phase), LINK, ANSWER];

/**
 * The phases, each with how long it took; a milestone the console did not
 * show (an older image) folds its phase into the next one.
 */
export function bootPhases(host: HostMarks, console: readonly ConsoleMark[]): BootPhase[] {
  const marks = console.flatMap((m) => {
    const up = UPTIME.exec(m.line);
    return up ? [{ at: m.at, uptime: Number(up[1]) * 1000, line: m.line }] : [];
  });
  const phases: BootPhase[] = [];
  let last = host.daemonStart;
  const add = (phase: string, at: number | undefined) => {
    if (at === undefined) return;
    phases.push({ phase, ms: Math.max(0, Math.round(at - last)) });
    last = Math.max(last, at);
  };
  add(DAEMON, host.qemuLaunch);
  if (marks.length) {
    // The kernel's clock started at the host time that fits every line best:
    // each was read a little after it was printed, never before.
    const kernelZero = Math.min(...marks.map((m) => m.at - m.uptime));
    add(FIRMWARE, host.firstOutput ?? Math.max(host.qemuLaunch, kernelZero));
    for (const [phase, pattern] of GUEST_MILESTONES) {
      const m = marks.find((x) => pattern.test(x.line));
      if (m) add(phase, kernelZero + m.uptime);
    }
  }
  add(LINK, host.linkReady);
  add(ANSWER, host.answered);
  return phases;
}

/** The table as text lines, with the total. */
export function formatBootPhases(phases: readonly BootPhase[]): string[] {
  const width = Math.max(...phases.map((p) => p.phase.length));
  const total = phases.reduce((n, p) => n + p.ms, 0);
  return [
    ...phases.map((p) => `${p.phase.padEnd(width)}  ${(p.ms / 1000).toFixed(2).padStart(6)} s`),
    `${'total'.padEnd(width)}  ${(total / 1000).toFixed(2).padStart(6)} s`,
  ];
}

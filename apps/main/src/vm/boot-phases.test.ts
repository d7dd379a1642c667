import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BOOT_PHASE_NAMES, bootPhases, formatBootPhases, type ConsoleMark } from './boot-phases.js';

// Lines as a boot prints them (resources/vm/guest/ and the agent's startup-marks.ts), read by the host 50 ms late.
const T0 = 1_000_000;
const QEMU = T0 + 300;
const KERNEL_ZERO = QEMU + 1200;
const guest: Array<[number, string]> = [
  [4.47, 'stage 1: mounting the root image'],
  [5.16, 'stage 1: root is /dev/vdb (erofs, read-only) under a tmpfs overlay'],
  [5.79, 'mounted /proc /sys /dev /run; cgroup2 at /sys/fs/cgroup (controllers: cpuset cpu io memory pids)'],
  [9.79, 'loaded modules: virtio_ring virtio'],
  [12.18, 'init done'],
  [12.35, 'agent started (pid 250)'],
  [13.1, 'agent: node started'],
  [17.4, 'agent: bundle loaded'],
  [17.9, 'agent: listening'],
  [18.2, 'agent: ssh listening'],
  [24.0, 'agent: ready'],
];
const lines: ConsoleMark[] = guest.map(([up, text]) => ({ at: KERNEL_ZERO + up * 1000 + 50, line: `berth-init: [${up.toFixed(2)}] ${text}` }));
// kernel lines carry no berth-init mark and are left out
lines.unshift({ at: KERNEL_ZERO + 900, line: '[    0.839761] printk: console [ttyS0] enabled' });

describe('bootPhases', () => {
  it('lays the guest marks on the host clock and gives each phase, in boot order', () => {
    const phases = bootPhases({ daemonStart: T0, qemuLaunch: QEMU, linkReady: KERNEL_ZERO + 19_000, answered: KERNEL_ZERO + 19_400 }, lines);
    assert.deepEqual(
      phases.map((p) => p.phase),
      BOOT_PHASE_NAMES,
    );
    const ms = Object.fromEntries(phases.map((p) => [p.phase, p.ms]));
    assert.equal(ms['host: daemon, data disk'], 300);
    // the host read every line 50 ms late; the earliest-read estimate of the kernel's start is off by that much
    assert.equal(ms['firmware, kernel load'], 1250);
    assert.equal(ms['kernel (to stage 1)'], 4470);
    assert.equal(ms['init: mounts, modules'], 4630);
    assert.equal(ms['agent bundle load'], 4300);
    assert.equal(ms['first answer (/version)'], 400);
    // the phases add up to the daemon's start to the first answer (the agent's later "ready" is not on that path)
    assert.equal(
      phases.reduce((n, p) => n + p.ms, 0),
      KERNEL_ZERO + 19_400 - T0,
    );
    assert.match(formatBootPhases(phases).at(-1)!, /^total\s+20\.90 s$/);
  });

  it("ends the firmware's phase at the console's first output when the host saw it (the kernel's early clock can lag)", () => {
    const firstOutput = KERNEL_ZERO + 900;
    const phases = bootPhases({ daemonStart: T0, qemuLaunch: QEMU, firstOutput, answered: KERNEL_ZERO + 19_400 }, lines);
    const ms = Object.fromEntries(phases.map((p) => [p.phase, p.ms]));
    assert.equal(ms['firmware, kernel load'], 2100);
    assert.equal(ms['kernel (to stage 1)'], 4470 + 50 - 900);
    assert.equal(
      phases.reduce((n, p) => n + p.ms, 0),
      KERNEL_ZERO + 19_400 - T0,
    );
  });

  it('folds a phase an older image does not mark into the next one', () => {
    const old = lines.filter((l) => !l.line.includes('agent: '));
    const phases = bootPhases({ daemonStart: T0, qemuLaunch: QEMU, linkReady: KERNEL_ZERO + 19_000, answered: KERNEL_ZERO + 19_400 }, old);
    const names = phases.map((p) => p.phase);
    assert.ok(!names.includes('agent bundle load') && !names.includes('node start'));
    // (less the 50 ms the kernel's start is estimated late)
    assert.equal(phases.find((p) => p.phase === 'host link (SSH)')!.ms, 19_000 - 12_180 - 50);
  });

  it('without console marks: the host phases only', () => {
    const phases = bootPhases({ daemonStart: T0, qemuLaunch: QEMU, linkReady: QEMU + 5000 }, []);
    assert.deepEqual(phases, [
      { phase: 'host: daemon, data disk', ms: 300 },
      { phase: 'host link (SSH)', ms: 5000 },
    ]);
  });
});

/**
 * The VM daemon (`berth vm-daemon`, started detached by `berth start`): owns
 * QEMU and the host services for as long as the VM runs, and publishes what
 * it is doing in run/state.json (vm-state.ts).
 *
 * Life: take the lock (one daemon per $BERTH_HOME) → put away an orphaned
 * QEMU a killed daemon left → boot (QemuVm, TCG fallback remembered in the
 * settings) → wait for the agent's SSH → host socket, port forwarder, docker
 * context (startVmHostServices) → `running`. SIGTERM: close the host socket,
 * power the guest off through QMP (the agent stops containers with their
 * timeouts, init unmounts the disk), `stopped`, exit 0. QEMU dying on its
 * own: `failed` with the last console lines, host services closed, exit 1.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { findInCheckout } from '../util/checkout-path.js';
import { startVmHostServices, type VmHostServices } from '../host/vm-host-services.js';
import { freePort } from '../vm/free-port.js';
import { ensureLinkKeys } from '../link/keys.js';
import { linkEngine } from '../link/link-http.js';
import type { VmLink } from '../link/vm-link.js';
import { engineJson } from '../util/engine-client.js';
import { bootShares, planAccelerator, loadSettings, updateSettings, type AcceleratorChoice, type Settings } from '../settings/settings.js';
import { hostOs } from '../vm/accel.js';
import { hostVmArch, VM_ARCHES, type VmArch } from '../vm/arch.js';
import { bootPhases, type ConsoleMark } from '../vm/boot-phases.js';
import { qmpCommand } from '../vm/qmp.js';
import { guestPathFor } from '../vm/qemu-args.js';
import { QemuVm, VmStartError, type VmExit } from '../vm/qemu-vm.js';
import { BOOT_PHASES, isOurQemu, lockHolder, pidAlive, readRunState, vmPaths, writeRunState, type VmPaths, type VmRunState } from '../vm/vm-state.js';

export interface VmOverrides {
  accel?: AcceleratorChoice;
  cpus?: number;
  memoryMiB?: number;
  diskGiB?: number;
  /** The guest's architecture; default the host's. Another one runs under TCG (slow: for testing the image). */
  arch?: VmArch;
}

/** resources/vm/out (out-arm64 for arm64) of this checkout, or $BERTH_VM_IMAGE (a directory with vmlinuz, initramfs.cpio.gz and root.erofs). */
export function findVmImage(
  env: NodeJS.ProcessEnv = process.env,
  arch: VmArch = hostVmArch(),
): { kernel: string; tcgKernel?: string; initrd: string; rootDisk: string } | undefined {
  const dir = env.BERTH_VM_IMAGE || findInCheckout(join('resources', 'vm', VM_ARCHES[arch].imageDir, 'vmlinuz'))?.replace(/[/\\]vmlinuz$/, '');
  if (!dir) return undefined;
  // x86 images also hold the kernel unpacked (resources/vm/build.mjs), which TCG boots without the decompressor
  const vmlinux = join(dir, 'vmlinux');
  return {
    kernel: join(dir, 'vmlinuz'),
    ...(existsSync(vmlinux) ? { tcgKernel: vmlinux } : {}),
    initrd: join(dir, 'initramfs.cpio.gz'),
    rootDisk: join(dir, 'root.erofs'),
  };
}

/** How long the agent may take to answer SSH after the kernel starts (TCG on a busy 2-core host boots in ~20 s). */
const AGENT_TIMEOUT_MS = 300_000;

/**
 * How long a boot may take from the kernel's first line to the agent listening
 * before it counts as wedged: $BERTH_BOOT_STALL_SECONDS, else 120 s for the
 * host's own architecture (TCG needs about 10 s, a real accelerator under 2)
 * and no limit for an emulated foreign one, which is slow in ways not worth guessing.
 */
export function bootStallMs(env: NodeJS.ProcessEnv, emulatedArch: boolean): number | undefined {
  const s = Number(env.BERTH_BOOT_STALL_SECONDS);
  if (Number.isFinite(s) && s > 0) return s * 1000;
  return emulatedArch ? undefined : 120_000;
}

/** Takes the lock or says who holds it. A lock whose process is gone is taken over. */
function takeLock(paths: VmPaths): number | undefined {
  mkdirSync(paths.runDir, { recursive: true, mode: 0o700 });
  for (let i = 0; i < 3; i++) {
    try {
      const fd = openSync(paths.lockFile, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = lockHolder(paths);
      if (holder) return holder;
      rmSync(paths.lockFile, { force: true });
    }
  }
  throw new Error(`cannot take the VM lock ${paths.lockFile}`);
}

function releaseLock(paths: VmPaths): void {
  try {
    if (Number(readFileSync(paths.lockFile, 'utf8').trim()) === process.pid) rmSync(paths.lockFile, { force: true });
  } catch {
    // gone already
  }
}

/** A QEMU left by a daemon that was killed: power it off (its disk is ours), then kill it. */
async function putAwayOrphan(paths: VmPaths, log: (m: string) => void): Promise<void> {
  const last = readRunState(paths);
  if (!last?.qemuPid || !isOurQemu(last.qemuPid, paths)) return;
  log(`a QEMU (pid ${last.qemuPid}) from a daemon that died is still running; powering it off`);
  try {
    await qmpCommand({ unix: paths.qmpSocket }, 'system_powerdown');
    for (let i = 0; i < 600 && pidAlive(last.qemuPid); i++) await new Promise((r) => setTimeout(r, 100));
  } catch {
    // QMP gone: kill below
  }
  if (pidAlive(last.qemuPid)) process.kill(last.qemuPid, 'SIGKILL');
}

export async function runVmDaemon(home: string, overrides: VmOverrides): Promise<number> {
  const paths = vmPaths(home);
  const log = (m: string) => console.error(`${new Date().toISOString()} ${m}`);
  const holder = takeLock(paths);
  if (holder) {
    log(`another VM daemon (pid ${holder}) runs for ${home}`);
    return 2;
  }
  const daemonStart = Date.now();
  const startedAt = new Date(daemonStart).toISOString();
  let state: VmRunState = { daemonPid: process.pid, phase: 'starting', message: 'Starting the VM…', steps: ['Starting the VM…'], startedAt };
  const publish = (change: Partial<VmRunState>) => {
    // the boot's steps, up to and including how it ended (later link changes are not steps: the list stays short)
    const said = change.message !== undefined && change.message !== state.message && BOOT_PHASES.includes(state.phase);
    state = { ...state, ...change, ...(said ? { steps: [...(state.steps ?? []), change.message!] } : {}) };
    writeRunState(paths, state);
    log(`${state.phase}: ${state.message}`);
  };
  publish({});

  let vm: QemuVm | undefined;
  let services: VmHostServices | undefined;
  let ending = false;
  const fail = async (message: string, consoleTail: string[]) => {
    ending = true;
    await services?.close().catch(() => {});
    publish({ phase: 'failed', message, consoleTail, endedAt: new Date().toISOString(), link: 'closed' });
    releaseLock(paths);
    return 1;
  };

  let stopRequested: (() => void) | undefined;
  const stopSignal = new Promise<void>((resolve) => (stopRequested = resolve));
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => stopRequested?.());
  process.on('SIGHUP', () => {}); // detached: a closing terminal is not a stop

  try {
    await putAwayOrphan(paths, log);
    let settings: Settings = loadSettings(home);
    settings = {
      ...settings,
      ...(overrides.cpus ? { cpus: overrides.cpus } : {}),
      ...(overrides.memoryMiB ? { memoryMiB: overrides.memoryMiB } : {}),
      ...(overrides.diskGiB ? { diskGiB: overrides.diskGiB } : {}),
    };
    const os = hostOs();
    const arch = overrides.arch ?? hostVmArch();
    // a hypervisor runs its own architecture only
    const plan =
      arch === hostVmArch()
        ? planAccelerator(overrides.accel ?? settings.accelerator, settings.acceleratorFallback, os)
        : { accel: 'tcg' as const, note: `an ${arch} guest on an ${hostVmArch()} host runs under TCG (software emulation), which is slow` };
    const image = findVmImage(process.env, arch);
    if (!image) {
      const { buildArch, imageDir } = VM_ARCHES[arch];
      return await fail(
        `The ${arch} VM image is not built: run \`npm run build:vm -- --arch ${buildArch}\` (it makes resources/vm/${imageDir}), or set BERTH_VM_IMAGE.`,
        [],
      );
    }
    const keys = ensureLinkKeys(home);
    // The console log and the QMP socket (which can power the VM off) are the user's alone.
    mkdirSync(paths.vmDir, { recursive: true, mode: 0o700 });
    const { share, extraShares, skipped } = bootShares(settings.fileShares, os);
    if (skipped.length) log(`not sharing ${skipped.join(', ')}: ${os === 'win32' ? 'QEMU on Windows has no 9p' : 'no such folder'}`);
    const stallMs = bootStallMs(process.env, arch !== hostVmArch());
    // The boot's marks: init's and the agent's console lines, with when they were read (boot-phases.ts).
    let bootMarks: ConsoleMark[] = [];
    let qemuLaunch = 0;
    let firstOutput = 0;
    let link: VmLink | undefined;
    let first: { services: VmHostServices } | { exit: VmExit } | { stop: true } | { stalledMs: number };
    let vmExit: Promise<VmExit>;
    for (let attempt = 1; ; attempt++) {
      const sshPort = await freePort();
      publish({
        message: `Booting the VM${attempt > 1 ? ' again' : ''} (${plan.accel}, ${settings.cpus} CPUs, ${settings.memoryMiB} MiB)…`,
        accel: plan.accel,
        ...(plan.note ? { accelNote: plan.note } : {}),
        cpus: settings.cpus,
        memoryMiB: settings.memoryMiB,
        sshPort,
      });
      const booting: QemuVm = new QemuVm({
        stateDir: paths.vmDir,
        ...image,
        accel: plan.accel,
        arch,
        cpus: settings.cpus,
        memoryMiB: settings.memoryMiB,
        diskSizeGiB: settings.diskGiB,
        sshPort,
        ...(share ? { share } : {}),
        ...(extraShares.length ? { extraShares } : {}),
        // $BERTH_HOME (default ~/.berth) lies inside the shared home: the guest covers it.
        ...(share ? { hidden: [guestPathFor(os, home)] } : {}),
        authorizedKey: keys.publicKey,
        onConsoleLine: (line) => {
          if (line.startsWith('berth-init: [')) bootMarks.push({ at: Date.now(), line });
          // The agent's SSH has just begun to listen: connect now, not when the link's back-off says.
          if (/^berth-init: \[[\d.]+\] agent: ssh listening$/.test(line)) link?.retryNow();
          if (state.phase === 'kernel' && /berth-init: .*agent started/.test(line)) publish({ phase: 'agent', message: 'The agent is starting…' });
          else if ((state.phase === 'kernel' || state.phase === 'agent') && /berth-init: .*agent is listening/.test(line)) {
            publish({ phase: 'engine', message: 'The engine is up in the VM; connecting…' });
          }
        },
      });
      vm = booting;
      bootMarks = [];
      const started = await booting.start();
      qemuLaunch = booting.launchedAt;
      firstOutput = booting.firstOutputAt;
      if (started.fellBack) {
        const { from, reason } = started.fellBack;
        updateSettings(home, (s) => ({ ...s, acceleratorFallback: { from: from as 'kvm' | 'hvf' | 'whpx', reason, at: new Date().toISOString() } }));
        publish({
          accel: 'tcg',
          accelNote: `${reason}; using TCG (software emulation), which is slower. Remembered for the next start (--accel ${from} tries it again).`,
        });
      } else if (started.accel !== 'tcg') {
        const had = settings.acceleratorFallback;
        if (had?.from === started.accel) updateSettings(home, (s) => ({ ...s, acceleratorFallback: undefined }));
      }
      publish({ phase: 'kernel', message: 'The kernel is booting…', qemuPid: started.pid });
      vmExit = new Promise<VmExit>((resolve) => booting.once('exit', resolve));

      const giveUp = new AbortController();
      link = undefined;
      const bringUp = startVmHostServices({ home, sshPort, readyTimeoutMs: AGENT_TIMEOUT_MS, log, signal: giveUp.signal, onLink: (l) => (link = l) });
      // A guest whose agent has not come up long after its kernel started is wedged, not slow
      // (seen once under TCG after a kill -9: a task stuck in exec, the console silent for minutes).
      // It gets one more boot rather than the whole agent timeout.
      const stallAfter = attempt === 1 ? stallMs : undefined;
      let stallTimer: NodeJS.Timeout | undefined;
      const stalled = new Promise<{ stalledMs: number }>((resolve) => {
        if (stallAfter !== undefined)
          stallTimer = setTimeout(() => (state.phase === 'kernel' || state.phase === 'agent') && resolve({ stalledMs: stallAfter }), stallAfter);
      });
      first = await Promise.race([
        bringUp.then((s) => ({ services: s })),
        vmExit.then((e) => ({ exit: e })),
        stopSignal.then(() => ({ stop: true as const })),
        stalled,
      ]);
      clearTimeout(stallTimer);
      if (!('services' in first))
        bringUp.then(
          (s) => s.close(),
          () => {},
        );
      if (!('stalledMs' in first)) break;
      giveUp.abort();
      const where = state.phase === 'agent' ? 'its agent started but does not answer' : 'its agent never started';
      log(`the VM made no progress in ${first.stalledMs / 1000} s (${where}); its last console lines:\n${booting.lastConsoleLines(30).join('\n')}`);
      publish({ phase: 'starting', message: `The VM made no progress in ${first.stalledMs / 1000} s (${where}); killing it and booting again…` });
      await booting.stop(0);
    }
    if ('exit' in first) return await fail(`The VM stopped while booting: ${first.exit.message}`, vm.lastConsoleLines(20));
    if ('stop' in first) return await stop();
    services = first.services;
    const linkReady = Date.now();
    const version = await engineJson<{ Version?: string }>(linkEngine(services.link), { method: 'GET', path: '/version', timeoutMs: 60_000 });
    services.link.on('state', (s: string) => {
      if (ending) return;
      publish({
        link: s,
        message:
          s === 'ready'
            ? `The engine is running: DOCKER_HOST=${services!.dockerHost}`
            : `The engine in the VM does not answer (${services!.link.lastError}); retrying`,
      });
    });
    const phases = bootPhases({ daemonStart, qemuLaunch, firstOutput, linkReady, answered: Date.now() }, bootMarks);
    publish({
      phase: 'running',
      bootPhases: phases,
      message: `The engine is running: DOCKER_HOST=${services.dockerHost}`,
      readyAt: new Date().toISOString(),
      dockerHost: services.dockerHost,
      engineVersion: version.body.Version ?? 'unknown',
      link: 'ready',
    });

    const end = await Promise.race([vmExit.then((e) => ({ exit: e })), stopSignal.then(() => ({ stop: true as const }))]);
    if ('exit' in end) return await fail(`The VM stopped unexpectedly: ${end.exit.message}`, vm.lastConsoleLines(20));
    return await stop();
  } catch (err) {
    const lines = err instanceof VmStartError ? err.consoleLines : (vm?.lastConsoleLines(20) ?? []);
    if (vm?.running) await vm.stop(10_000).catch(() => {});
    return await fail(err instanceof Error ? err.message : String(err), lines);
  }

  async function stop(): Promise<number> {
    ending = true;
    publish({ phase: 'stopping', message: 'Stopping: the engine stops its containers, then the VM powers off…' });
    await services?.close().catch(() => {});
    const result = vm ? await vm.stop(60_000) : { clean: true };
    publish({
      phase: 'stopped',
      message: result.clean ? 'The VM is stopped.' : 'The VM did not power off within 60 s and was killed; its disk may need a check at the next boot.',
      endedAt: new Date().toISOString(),
      link: 'closed',
      ...(result.clean ? {} : { consoleTail: vm?.lastConsoleLines(20) ?? [] }),
    });
    releaseLock(paths);
    return 0;
  }
}

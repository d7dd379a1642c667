/**
 * berth: the headless entry point and the composition root of web mode.
 *
 *   berth start [--accel A] [--cpus N] [--memory MiB] [--disk GiB] [--arch A]
 *   berth stop | status [--json] | shell [-- CMD...] | settings [KEY VALUE]
 *   berth web [--engine native|vm] [--engine-socket PATH] [--port N] [--no-open]
 *   berth dashboard [same flags]   the Electron app if it can run, else web mode
 *   berth vm-daemon [start flags]  (internal) what `start` runs detached
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { findBundledDir } from './bundled/bundled-images.js';
import { findInCheckout } from './util/checkout-path.js';
import { chooseEngine } from './engines/choose-engine.js';
import { createDashboardService } from './dashboard/dashboard-service.js';
import { berthHome, homeLayout, hostSocketAddress } from './util/berth-home.js';
import { findElectron } from './util/electron-binary.js';
import { openBrowser, removeLaunchPage } from './web/open-browser.js';
import { startWebServer } from './web/web-server.js';
import { refuseFromVm } from './web/vm-refused-port.js';
import {
  ACCELERATOR_CHOICES,
  loadSettings,
  parseSettingValue,
  settingsPath,
  updateSettings,
  USER_SETTINGS,
  type AcceleratorChoice,
} from './settings/settings.js';
import { parseVmArch } from './vm/arch.js';
import { formatBootPhases } from './vm/boot-phases.js';
import { runVmDaemon, type VmOverrides } from './daemon/vm-daemon.js';
import { startVm, stopVm, vmShell, vmStatus, VmError } from './daemon/vm-control.js';

const USAGE = `Usage: berth COMMAND [options]

Commands:
  start      boot the Berth VM in the background and wait until its engine answers
  stop       stop the containers and power the VM off cleanly
  status     what runs and where (--json for a machine-readable answer)
  shell      a root shell in the VM; \`berth shell -- CMD ARGS\` runs a command
  settings   show the settings, or \`berth settings KEY VALUE\` to change one
  web        serve the dashboard to your browser on 127.0.0.1
  dashboard  open the desktop app (Electron), or web mode when it cannot run

Options (start; for this start only: \`berth settings\` changes them for good):
  --accel kvm|hvf|whpx|tcg|auto  the accelerator (auto: the host's hypervisor, TCG if it stalls)
  --cpus N              virtual CPUs
  --memory MiB          guest memory
  --disk GiB            data disk size when it is first made
  --arch arm64|amd64    the guest's architecture (default the host's; another one
                        runs under TCG, slowly: for trying the other image)

Options (web, dashboard):
  --engine vm|native    the engine: the Berth VM (default; started if needed), or the
                        agent natively (Linux, as root); both under $BERTH_HOME (default ~/.berth)
  --engine-socket PATH  use the engine already serving this Docker API socket
  --port N              the dashboard's port (default: a free one)
  --no-open             do not open the browser`;

interface WebFlags {
  engine?: string;
  engineSocket?: string;
  port: number;
  open: boolean;
}

function parseWebFlags(args: string[]): WebFlags {
  const { values } = parseArgs({
    args,
    options: {
      engine: { type: 'string' },
      'engine-socket': { type: 'string' },
      port: { type: 'string', default: '0' },
      'no-open': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number, got ${values.port}`);
  if (values.engine && values['engine-socket']) throw new Error('--engine and --engine-socket exclude each other: choose one');
  return { engine: values.engine, engineSocket: values['engine-socket'], port, open: !values['no-open'] };
}

async function web(flags: WebFlags): Promise<void> {
  const home = berthHome();
  const target = chooseEngine({ engine: flags.engine, engineSocket: flags.engineSocket, home });
  target.onChange((s) => console.error(`engine: ${s.state}: ${s.message}`));
  const rendererDir = findInCheckout(join('apps', 'renderer', 'dist', 'index.html'))?.replace(/[/\\]index\.html$/, '');
  if (!rendererDir) console.error('warning: the dashboard is not built (apps/renderer/dist): run `npm run build:renderer`');
  const server = await startWebServer({ service: createDashboardService(target, { bundledDir: findBundledDir() }), rendererDir, port: flags.port });
  console.log(`Dashboard: ${server.url}`);
  // Containers in the VM reach the host's loopback; not this port.
  const refused = refuseFromVm(target, server.port, (m) => console.error(`warning: ${m}`));
  const runDir = homeLayout(home).runDir;
  if (flags.open) openBrowser(runDir, server.port, server.url);
  const engineStarted = target.start();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`berth: ${signal}, stopping`);
    await server.close();
    await refused.release();
    // The token dies with this run, but leave nothing that looks like a live link.
    removeLaunchPage(runDir, server.port);
    await engineStarted.catch(() => {});
    await target.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  await engineStarted;
  if (target.state.state === 'error') console.error(`The dashboard is up, but: ${target.state.message}`);
}

async function dashboard(args: string[]): Promise<void> {
  const flags = parseWebFlags(args);
  const electron = findElectron();
  if (!electron.ok) {
    console.error(`Opening the dashboard in your browser instead of the desktop app: ${electron.reason}`);
    return web(flags);
  }
  // The app reads its engine choice from the environment (electron/main.ts).
  const env = { ...process.env, BERTH_ENGINE: flags.engine ?? '', BERTH_ENGINE_SOCKET: flags.engineSocket ?? '' };
  const child = spawn(electron.binary, [electron.appMain], { stdio: 'inherit', env });
  child.once('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

function parseStartFlags(args: string[]): VmOverrides {
  const { values } = parseArgs({
    args,
    options: { accel: { type: 'string' }, cpus: { type: 'string' }, memory: { type: 'string' }, disk: { type: 'string' }, arch: { type: 'string' } },
    strict: true,
  });
  const out: VmOverrides = {};
  if (values.accel !== undefined) {
    if (!(ACCELERATOR_CHOICES as readonly string[]).includes(values.accel))
      throw new Error(`--accel must be one of ${ACCELERATOR_CHOICES.join(', ')}, not "${values.accel}"`);
    out.accel = values.accel as AcceleratorChoice;
  }
  if (values.cpus !== undefined) out.cpus = parseSettingValue('cpus', values.cpus).cpus!;
  if (values.memory !== undefined) out.memoryMiB = parseSettingValue('memoryMiB', values.memory).memoryMiB!;
  if (values.disk !== undefined) out.diskGiB = parseSettingValue('diskGiB', values.disk).diskGiB!;
  if (values.arch !== undefined) out.arch = parseVmArch(values.arch);
  return out;
}

function printConsoleTail(lines: string[] | undefined): void {
  if (!lines?.length) return;
  console.error('Last console lines:');
  for (const l of lines) console.error(`  ${l}`);
}

async function start(args: string[]): Promise<void> {
  const overrides = parseStartFlags(args);
  const home = berthHome();
  const t0 = Date.now();
  const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s]`;
  let noted = false;
  try {
    const result = await startVm({
      home,
      overrides,
      onProgress: (_phase, message, state) => {
        console.log(`${stamp()} ${message}`);
        if (state.accelNote && !noted) {
          noted = true;
          console.log(`        ${state.accelNote}`);
        }
      },
    });
    const s = result.state;
    if (result.alreadyRunning) console.log(`The Berth VM is already running (${s.accel}, engine ${s.engineVersion}).`);
    else console.log(`Engine ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (${s.accel}).`);
    console.log(`DOCKER_HOST=${hostSocketAddress(home).dockerHost}`);
    console.log('The `berth` docker context points there too: `docker context use berth`.');
  } catch (err) {
    if (err instanceof VmError) {
      console.error(`berth: the VM did not start: ${err.message}`);
      printConsoleTail(err.consoleTail);
      process.exit(1);
    }
    throw err;
  }
}

async function stop(): Promise<void> {
  const result = await stopVm(berthHome(), (m) => console.log(m));
  if (!result.wasRunning) {
    console.log('The Berth VM is not running.');
    return;
  }
  console.log(result.state?.message ?? 'The VM is stopped.');
  if (result.state?.phase !== 'stopped') process.exitCode = 1;
}

function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const sec = seconds % 60;
  return h ? `${h} h ${m} min` : m ? `${m} min ${sec} s` : `${sec} s`;
}

async function status(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, strict: true });
  const st = await vmStatus(berthHome());
  if (values.json) {
    console.log(JSON.stringify({ ...st, paths: undefined, home: st.paths.home }, null, 2));
  } else {
    const r = st.run;
    console.log(`State:        ${st.state}: ${st.summary}`);
    console.log(`BERTH_HOME:   ${st.paths.home}`);
    if (r && (st.daemonAlive || st.qemuAlive)) {
      console.log(`Accelerator:  ${r.accel ?? '?'}${r.cpus ? `, ${r.cpus} CPUs, ${r.memoryMiB} MiB` : ''}`);
      if (r.accelNote) console.log(`              ${r.accelNote}`);
      console.log(`Daemon:       pid ${r.daemonPid}${st.daemonAlive ? '' : ' (gone)'}`);
      if (r.qemuPid) console.log(`QEMU:         pid ${r.qemuPid}${st.qemuAlive ? '' : ' (gone)'}`);
    }
    if (st.state === 'running') {
      console.log(`DOCKER_HOST:  ${r?.dockerHost}`);
      console.log(`Engine:       berth-agent ${st.engineVersion}`);
      if (st.uptimeSeconds !== undefined) console.log(`Uptime:       ${duration(st.uptimeSeconds)}`);
      if (r?.bootPhases?.length) {
        console.log("Boot phases:  (the daemon's start to the engine's first answer)");
        for (const line of formatBootPhases(r.bootPhases)) console.log(`  ${line}`);
      }
    }
    console.log(`Console log:  ${st.paths.consoleLog}`);
    printConsoleTail(st.state === 'running' ? undefined : st.consoleTail);
  }
  if (st.state === 'failed' || st.state === 'broken') process.exitCode = 1;
  else if (st.state !== 'running') process.exitCode = 3;
}

async function shell(args: string[]): Promise<void> {
  const sep = args.indexOf('--');
  const before = sep === -1 ? args : args.slice(0, sep);
  if (before.length) throw new Error(`unexpected arguments ${before.join(' ')}: run a command with \`berth shell -- CMD ARGS\``);
  const cmd = sep === -1 ? undefined : args.slice(sep + 1);
  if (cmd && !cmd.length) throw new Error('nothing after --: give the command to run');
  // One argument is taken as a shell command line; several are quoted for /bin/sh.
  const line = cmd === undefined ? undefined : cmd.length === 1 ? cmd[0]! : cmd.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  try {
    process.exitCode = await vmShell(berthHome(), line);
  } catch (err) {
    if (err instanceof VmError) throw new Error(err.message);
    throw err;
  }
}

function settings(args: string[]): void {
  const home = berthHome();
  if (args.length === 0) {
    const s = loadSettings(home);
    for (const k of USER_SETTINGS) console.log(`${k.padEnd(12)} ${s[k]}`);
    if (s.acceleratorFallback)
      console.log(
        `(${s.acceleratorFallback.from} did not boot on ${s.acceleratorFallback.at}: auto uses TCG until a start with --accel ${s.acceleratorFallback.from} works)`,
      );
    console.log(`File: ${settingsPath(home)}`);
    return;
  }
  if (args.length !== 2) throw new Error(`usage: berth settings [KEY VALUE]; keys: ${USER_SETTINGS.join(', ')}`);
  const change = parseSettingValue(args[0]!, args[1]!);
  updateSettings(home, (s) => ({ ...s, ...change }));
  console.log(`${args[0]} = ${args[1]} (from the next \`berth start\`${args[0] === 'diskGiB' ? '; an existing disk keeps its size' : ''})`);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return start(rest);
    case 'stop':
      return stop();
    case 'status':
      return status(rest);
    case 'shell':
      return shell(rest);
    case 'settings':
      return settings(rest);
    case 'vm-daemon':
      // The daemon's handles (signal listeners, closed sockets) must not keep it alive once the VM is down.
      process.exit(await runVmDaemon(berthHome(), parseStartFlags(rest)));
    case 'web':
      return web(parseWebFlags(rest));
    case 'dashboard':
      return dashboard(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      console.log(USAGE);
      return;
    default:
      throw new Error(`unknown command "${command}"\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(`berth: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});

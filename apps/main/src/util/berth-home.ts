/**
 * `$BERTH_HOME` (default `~/.berth`): everything Berth writes on the host,
 * and the one place each path under it is named. Modules take their paths
 * from `homeLayout(home)`; factory reset deletes `HOME_ENTRIES`, the top
 * level, so whatever the layout holds is reset with it. A new file or folder
 * goes here, under one of the entries or as a new entry, never as a `join`
 * of its own.
 *
 *   settings.json        settings (settings/settings.ts)
 *   window-state.json    the window's bounds (electron/window-bounds.ts)
 *   ssh/                 the host key pair and the VM's pinned host key (link/keys.ts)
 *   vm/                  the data disk, the guest console log, QMP (vm/qemu-vm.ts)
 *   native/data          the native engine's data root (engines/native-engine.ts)
 *   builds/ID.json       the dashboard's build history (dashboard/builds.ts)
 *   logs/                the VM daemon's and the native engine's output
 *   run/                 the host Docker socket (0600; a named pipe on Windows),
 *                        the daemon's run state and lock (vm/vm-state.ts),
 *                        the dashboard's launch pages (web/open-browser.ts)
 */
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** The top-level entries of the home, and what each holds (the reset dialog lists them). */
export const HOME_ENTRIES = {
  settings: { name: 'settings.json', what: 'settings' },
  windowState: { name: 'window-state.json', what: 'the window position' },
  ssh: { name: 'ssh', what: 'the SSH keys to the VM' },
  vm: { name: 'vm', what: 'the VM’s data disk (images, containers, volumes) and console log' },
  native: { name: 'native', what: 'the native engine’s images, containers and volumes' },
  builds: { name: 'builds', what: 'the dashboard’s build history' },
  logs: { name: 'logs', what: 'logs' },
  run: { name: 'run', what: 'run state and the Docker socket' },
} as const;

/** The files QemuVm keeps in its state directory (the home's vm/, or a test's own). */
export const VM_STATE_FILES = { dataDisk: 'data.disk', consoleLog: 'console.log', qmpSocket: 'qmp.sock' } as const;

/** Every path Berth uses under `home`. */
export function homeLayout(home: string) {
  const entry = (e: keyof typeof HOME_ENTRIES) => join(home, HOME_ENTRIES[e].name);
  const [ssh, vm, logs, run] = [entry('ssh'), entry('vm'), entry('logs'), entry('run')];
  return {
    settingsFile: entry('settings'),
    windowStateFile: entry('windowState'),
    sshDir: ssh,
    sshPrivateKey: join(ssh, 'id_ed25519'),
    sshPublicKey: join(ssh, 'id_ed25519.pub'),
    sshKnownHost: join(ssh, 'known_host'),
    vmDir: vm,
    dataDisk: join(vm, VM_STATE_FILES.dataDisk),
    consoleLog: join(vm, VM_STATE_FILES.consoleLog),
    qmpSocket: join(vm, VM_STATE_FILES.qmpSocket),
    nativeDataRoot: join(entry('native'), 'data'),
    buildsDir: entry('builds'),
    logsDir: logs,
    daemonLog: join(logs, 'vm-daemon.log'),
    nativeEngineLog: join(logs, 'native-engine.log'),
    runDir: run,
    runStateFile: join(run, 'state.json'),
    daemonLockFile: join(run, 'daemon.lock'),
    /** The host Docker socket's file on Unix (hostSocketAddress gives the address on every platform). */
    dockerSocket: join(run, 'docker.sock'),
  };
}

export type HomeLayout = ReturnType<typeof homeLayout>;

/** `$BERTH_HOME`, default `~/.berth`. */
export function berthHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.BERTH_HOME || join(homedir(), '.berth'));
}

/**
 * Where the host socket of the engine under `home` listens, and the
 * DOCKER_HOST that reaches it. Unix: `home/run/docker.sock`. Windows: a
 * named pipe (the docker CLI's `npipe://` scheme; `unix://` is not what
 * Windows clients use), named after `home` so that two Berth homes (a test
 * run beside the user's) each get their own.
 */
export function hostSocketAddress(home: string, platform: NodeJS.Platform = process.platform): { path: string; dockerHost: string } {
  if (platform === 'win32') {
    // Windows paths are case-insensitive: C:\Users\A and c:\users\a are one home.
    const name = `berth_engine-${createHash('sha256').update(home.toLowerCase()).digest('hex').slice(0, 8)}`;
    return { path: `\\\\.\\pipe\\${name}`, dockerHost: `npipe:////./pipe/${name}` };
  }
  const path = homeLayout(home).dockerSocket;
  return { path, dockerHost: `unix://${path}` };
}

/** `\\.\pipe\NAME`: a Windows named pipe, which has no file to make, clean up or chmod. */
export function isNamedPipe(path: string): boolean {
  return /^\\\\[.?]\\pipe\\/i.test(path);
}

/**
 * One run of a container's init, the parts that do not touch its record:
 * the runtime spec made from the record (rootfs, /etc files and mounts,
 * user, cgroup and devices, namespaces, confinement, the network attached at
 * the start gate), its output fed to the log and the attached clients, and
 * the teardown once it has exited. containers.ts records what happens.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Cgroup } from '../runtime/cgroups.js';
import type { ContainerProcess } from '../runtime/process.js';
import { spawnContainer } from '../runtime/spawn.js';
import { trace } from '../util/trace.js';
import { deviceAccess } from './container-devices.js';
import { withInit } from './container-init.js';
import { cgroupLimits, ulimitsOf } from './container-limits.js';
import { groupAddOf, namespaceSpec, oomScoreAdjOf } from './container-namespaces.js';
import type { ContainerRegistry } from './container-registry.js';
import { processConfinement } from './container-security.js';
import type { ContainerRecord } from './container-types.js';
import { resolveUser } from './container-user.js';
import type { JsonFileLog } from './json-log.js';
import type { LiveState } from './live-state.js';
import { etcFiles, mountRootfs, unmountRootfs } from './rootfs.js';

/**
 * Mounts the rootfs, makes the cgroup and spawns the init, network attached
 * before it runs. On a failure what was made is undone and the error thrown.
 */
export async function spawnInit(reg: ContainerRegistry, rec: ContainerRecord): Promise<{ proc: ContainerProcess; cgroup: Cgroup }> {
  const dir = reg.store.dir(rec.Id);
  let cgroup: Cgroup | undefined;
  try {
    trace(rec.Id, 'start');
    const image = reg.images.resolve(rec.Image);
    const rootfs = await mountRootfs(dir, reg.images.layerDirs(image));
    trace(rec.Id, 'rootfs mounted');
    const binds = [...(await etcFiles(dir, rec.Config.Hostname)), ...((await reg.mounts?.runtimeMounts(rec, rootfs)) ?? [])];
    const user = await resolveUser(rootfs, rec.Config.User, groupAddOf(rec.HostConfig));
    cgroup = Cgroup.create(rec.Id);
    cgroup.setLimits(cgroupLimits(rec.HostConfig));
    const devices = deviceAccess(rec.HostConfig);
    cgroup.allowDevices(devices.cgroupRules);
    trace(rec.Id, 'etc files, mounts, cgroup');
    const [cols, rows] = rec.HostConfig.ConsoleSize;
    const init = withInit(rec.HostConfig, [rec.Path, ...rec.Args]);
    const network = reg.network;
    const proc = await spawnContainer({
      rootfs,
      args: init.args,
      env: await reg.environment(rec, { tty: rec.Config.Tty, rootfs, uid: user.uid }),
      cwd: rec.Config.WorkingDir || '/',
      user,
      tty: rec.Config.Tty,
      stdin: rec.Config.OpenStdin,
      ...(cols && rows ? { consoleSize: { cols, rows } } : {}),
      hostname: rec.Config.Hostname,
      oomScoreAdj: oomScoreAdjOf(rec.HostConfig),
      ...(await namespaceSpec(reg, rec, [...binds, ...init.binds])), // its binds: these and --init's, with a shared /dev/shm
      cgroup,
      mountCgroup2: cgroup.version === 2,
      readonlyRootfs: rec.HostConfig.ReadonlyRootfs === true,
      hostNetwork: rec.HostConfig.NetworkMode === 'host' && !rec.Config.NetworkDisabled,
      shmSize: typeof rec.HostConfig.ShmSize === 'number' ? rec.HostConfig.ShmSize : 0,
      ulimits: ulimitsOf(rec.HostConfig),
      ...processConfinement(rec.HostConfig),
      ...devices.runtime,
      beforeStart: network ? (pid) => network.attach(rec, pid) : undefined,
    });
    return { proc, cgroup };
  } catch (err) {
    unmountRootfs(dir);
    await cgroup?.remove().catch(() => {});
    throw err;
  }
}

/**
 * Feeds the init's output to the log and the attached clients; the promises
 * settle when each stream has ended. Called before the first await after the
 * spawn: a process as short as `true` can be done, and its pipes at their
 * end, while the record is saved; a stream that ended before anyone listened
 * would never say so, and the exit handling would wait for it until its time
 * limit.
 */
export function feedOutput(l: LiveState, log: JsonFileLog | undefined, proc: ContainerProcess): Promise<void>[] {
  log?.beginRun();
  const drained: Promise<void>[] = [];
  const feed = (stream: 'stdout' | 'stderr', src: NodeJS.ReadableStream | undefined) => {
    if (!src) return;
    drained.push(
      new Promise((resolve) => {
        src.on('data', (d: Buffer) => {
          log?.write(stream, d);
          l.hub.output(stream, d);
        });
        src.once('end', resolve);
        src.once('close', resolve);
        src.once('error', () => resolve());
      }),
    );
  };
  if (proc.pty) feed('stdout', proc.pty);
  feed('stdout', proc.stdout);
  feed('stderr', proc.stderr);
  l.hub.setStdin(proc.pty ?? proc.stdin);
  return drained;
}

/**
 * After the init exited: its output drained (at most 2 s: a grandchild
 * holding the pipes open must not stall us), stdio closed, rootfs unmounted,
 * cgroup and network endpoints removed (`forgetNetwork`: the container's
 * network configuration too, for a container removed next). Says whether the kernel's OOM killer
 * acted in the cgroup (read before it goes).
 */
export async function tearDownRun(
  reg: ContainerRegistry,
  rec: ContainerRecord,
  proc: ContainerProcess,
  drained: Promise<void>[],
  warn: (msg: string) => void,
  forgetNetwork: boolean,
): Promise<{ oomKilled: boolean }> {
  const l = reg.liveState(rec);
  trace(rec.Id, 'exited');
  await Promise.race([Promise.all(drained), sleep(2000)]);
  trace(rec.Id, 'drained');
  l.log?.endRun();
  l.hub.closeAll();
  l.hub.setStdin(undefined);
  proc.stdin?.destroy();
  proc.pty?.destroy();
  try {
    unmountRootfs(reg.store.dir(rec.Id));
  } catch (err) {
    warn(`unmounting the rootfs of ${rec.Id.slice(0, 12)}: ${(err as Error).message}`);
  }
  const oomKilled = (l.cgroup?.oomKills() ?? 0) > 0;
  if (oomKilled) reg.emit(rec, 'oom');
  trace(rec.Id, 'rootfs unmounted');
  await l.cgroup?.remove().catch((err) => warn((err as Error).message));
  trace(rec.Id, 'cgroup removed');
  // A container removed next leaves its networks for good now: one write of the network state instead of two.
  const network = reg.network;
  await (forgetNetwork && network?.forget ? network.forget(rec) : network?.detach(rec))?.catch((err) => warn((err as Error).message));
  trace(rec.Id, 'network detached');
  l.proc = undefined;
  l.cgroup = undefined;
  return { oomKilled };
}

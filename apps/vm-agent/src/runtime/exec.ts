/**
 * Running a process inside a running container (docker exec): it joins the
 * init's namespaces and the given cgroup, with its own env, user, working
 * directory and optional pty. Same errors as spawnContainer.
 */
import { loadAddon } from './native.js';
import { startLaunched, type ContainerProcess } from './process.js';
import { nativeProcessSpec, type ProcessSpec } from './spawn.js';

/** `pid` is the container's init as the agent sees it (ContainerProcess.pid). */
export function execInContainer(pid: number, spec: ProcessSpec): Promise<ContainerProcess> {
  const launched = loadAddon().exec(pid, nativeProcessSpec(spec));
  return startLaunched(launched, true);
}

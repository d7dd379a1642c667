/**
 * HostConfig.Init (`docker run --init`), as dockerd applies it: the
 * container's PID 1 is a small init bound read-only at /sbin/docker-init and
 * run as `/sbin/docker-init -- ENTRYPOINT CMD`. It forwards the signals it
 * gets to the command, reaps every zombie (orphans are re-parented to PID 1)
 * and exits with the command's status, 128+N when signal N killed it.
 *
 * Berth's init is its exec shim run under that name (native/shim/init.c):
 * one static program the agent already carries, so there is nothing else to
 * build for each guest architecture. Init unset (null) takes the daemon's
 * default, which is off, as in dockerd. The container's Path and Args stay
 * what the user asked for (inspect shows them, as dockerd does); only the
 * process started changes.
 */
import type { BindMount } from '../runtime/spawn.js';
import { shimPath } from '../runtime/native.js';
import type { HostConfig } from './container-types.js';

/** Where dockerd binds its docker-init, and so where images and users expect it. */
export const INIT_PATH = '/sbin/docker-init';
/** The name dockerd reports as InitBinary in `docker info`. */
export const INIT_BINARY = 'docker-init';

/** The daemon's default for a container that does not say (dockerd's `init` setting, false). */
const DAEMON_INIT_DEFAULT = false;

/** The command and extra bind for the container's process: unchanged without --init. */
export function withInit(hc: Partial<HostConfig>, args: string[]): { args: string[]; binds: BindMount[] } {
  const init = (hc as { Init?: boolean | null }).Init ?? DAEMON_INIT_DEFAULT;
  if (!init) return { args, binds: [] };
  return {
    args: [INIT_PATH, '--', ...args],
    binds: [{ source: shimPath(), destination: INIT_PATH, readonly: true }],
  };
}

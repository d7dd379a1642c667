import type { Cgroup } from '../runtime/cgroups.js';
import { systemError } from '../errors.js';

/**
 * One container's freeze for work on its filesystem that must not race its
 * processes: `docker cp` (as dockerd, against CVE-2018-15664: a process that
 * swaps a directory for a symlink between our resolving a path and using it
 * could make the copy read or write the host) and `docker commit`.
 *
 * It is not a pause: the record stays `running` and no event is sent, since
 * the client asked for a copy. Overlapping copies share one freeze, and the
 * last one out thaws, unless the container was paused meanwhile (it stays
 * paused) or has gone. A signal sent meanwhile (docker stop) takes effect once
 * the copy ends; on cgroup v2 a SIGKILL does at once.
 *
 * On a machine with no cgroup freezer at all (cgroup v1 without the freezer
 * hierarchy and no cgroup2 mount) the work runs unfrozen, as dockerd's does
 * there: its commit ignores the failed pause, and its cp never pauses.
 */
export class CopyFreeze {
  #holders = 0;
  #frozen: Promise<void> | undefined;

  /**
   * Runs `work` with the container frozen. `running()` is the cgroup of the
   * container if it runs (undefined when stopped or paused: left as it is),
   * asked again at the end, so a container that died or was restarted
   * meanwhile is not thawed by mistake.
   */
  async run<T>(id: string, running: () => Cgroup | undefined, work: () => Promise<T>): Promise<T> {
    const cgroup = running();
    if (!cgroup || !cgroup.canFreeze) return work();
    this.#holders++;
    try {
      // A second copy waits for the first one's freeze rather than starting unprotected.
      this.#frozen ??= cgroup.freeze().catch((err: unknown) => {
        throw systemError(`pausing container ${id} for the copy: ${(err as Error).message}`, err);
      });
      await this.#frozen;
      return await work();
    } finally {
      if (--this.#holders === 0) {
        this.#frozen = undefined;
        if (running() === cgroup) {
          await cgroup.thaw().catch((err: unknown) => {
            throw systemError(`unpausing container ${id} after the copy: ${(err as Error).message}`, err);
          });
        }
      }
    }
  }
}

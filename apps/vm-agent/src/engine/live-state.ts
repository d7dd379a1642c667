/** What the engine holds in memory for a container besides its record: gone with the agent, rebuilt at its next start. */
import type { Cgroup } from '../runtime/cgroups.js';
import type { ContainerProcess } from '../runtime/process.js';
import type { ContainerRecord } from './container-types.js';
import { CopyFreeze } from './copy-freeze.js';
import type { JsonFileLog } from './json-log.js';
import { StdioHub } from './stdio-hub.js';

/** The answer of POST /containers/{id}/wait. */
export interface WaitResult {
  StatusCode: number;
  Error: { Message: string } | null;
}

export class LiveState {
  proc: ContainerProcess | undefined;
  cgroup: Cgroup | undefined;
  readonly hub: StdioHub;
  log: JsonFileLog | undefined;
  restartTimer: NodeJS.Timeout | undefined;
  backoffMs = 0;
  /** Resolved at the end of the exit handling of the current run. */
  exitWaiters: ((r: WaitResult) => void)[] = [];
  removedWaiters: ((r: WaitResult) => void)[] = [];
  queue: Promise<unknown> = Promise.resolve();
  readonly copyFreeze = new CopyFreeze();

  constructor(rec: ContainerRecord) {
    this.hub = new StdioHub(rec.Config.StdinOnce, rec.Config.OpenStdin);
  }
}

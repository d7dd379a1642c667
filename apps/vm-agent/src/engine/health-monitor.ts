/**
 * Runs containers' health checks: from each start (or unpause) until the
 * container dies, pauses or is removed, the probe runs as an exec in the
 * container every interval (the start interval while it is still starting
 * within its start period), is killed at the timeout, and its result moves
 * State.Health (health-rules.ts). A status change is published as the
 * `health_status: <status>` event, as dockerd does; clients (Testcontainers'
 * Wait.forHealthCheck, compose's service_healthy) watch inspect or events.
 *
 * Health lives in memory: after an agent restart a container's checks start
 * again from `starting`, as they do after any start.
 */
import { nowRfc3339, timeMs } from './container-types.js';
import type { ContainerService } from './containers.js';
import type { ExecService } from './exec-service.js';
import { applyResult, healthTimings, MAX_OUTPUT_BYTES, probeCommand, type Health, type HealthConfig, type HealthResult } from './health-rules.js';

interface Watch {
  timer?: NodeJS.Timeout;
  stopped: boolean;
}

export class HealthMonitor {
  private readonly health = new Map<string, Health>();
  private readonly watches = new Map<string, Watch>();

  constructor(
    private readonly containers: ContainerService,
    private readonly execs: ExecService,
  ) {
    containers.events.subscribe((ev) => {
      if (ev.Type !== 'container') return;
      const id = ev.Actor.ID;
      if (ev.Action === 'start') this.begin(id, true);
      else if (ev.Action === 'unpause') this.begin(id, false);
      else if (ev.Action === 'die' || ev.Action === 'pause') this.end(id);
      else if (ev.Action === 'destroy') {
        this.end(id);
        this.health.delete(id);
      }
    });
    // Containers restored (and restarted) before the monitor existed.
    for (const c of containers.list()) if (c.State.Status === 'running') this.begin(c.Id, true);
  }

  /** State.Health of a container with a health check that has started; undefined otherwise. */
  of(id: string): Health | undefined {
    return this.health.get(id);
  }

  /** Stops every check (agent shutdown). */
  close(): void {
    for (const id of [...this.watches.keys()]) this.end(id);
  }

  private config(id: string): HealthConfig | undefined {
    try {
      return this.containers.get(id).Config.Healthcheck;
    } catch {
      return undefined; // removed meanwhile
    }
  }

  private begin(id: string, fresh: boolean): void {
    const hc = this.config(id);
    if (!probeCommand(hc)) return;
    this.end(id);
    if (fresh || !this.health.has(id)) this.health.set(id, { Status: 'starting', FailingStreak: 0, Log: [] });
    const watch: Watch = { stopped: false };
    this.watches.set(id, watch);
    this.schedule(id, watch);
  }

  private end(id: string): void {
    const w = this.watches.get(id);
    if (!w) return;
    w.stopped = true;
    clearTimeout(w.timer);
    this.watches.delete(id);
  }

  private inStartPeriod(id: string, startPeriodMs: number): boolean {
    const rec = this.containers.get(id);
    return Date.now() - timeMs(rec.State.StartedAt) < startPeriodMs;
  }

  private schedule(id: string, watch: Watch): void {
    const t = healthTimings(this.config(id));
    const starting = this.health.get(id)?.Status === 'starting' && this.inStartPeriod(id, t.startPeriodMs);
    watch.timer = setTimeout(() => void this.probe(id, watch), starting ? t.startIntervalMs : t.intervalMs);
    watch.timer.unref();
  }

  private async probe(id: string, watch: Watch): Promise<void> {
    const hc = this.config(id);
    const cmd = probeCommand(hc);
    if (watch.stopped || !cmd) return;
    const t = healthTimings(hc);
    let result: HealthResult;
    try {
      result = await this.run(id, cmd, t.timeoutMs);
    } catch (err) {
      // The container stopped between the timer and the exec, most likely.
      if (watch.stopped) return;
      result = { Start: nowRfc3339(), End: nowRfc3339(), ExitCode: -1, Output: (err as Error).message };
    }
    if (watch.stopped) return;
    const before = this.health.get(id) ?? { Status: 'starting' as const, FailingStreak: 0, Log: [] };
    const after = applyResult(before, result, t.retries, this.inStartPeriod(id, t.startPeriodMs));
    this.health.set(id, after);
    if (after.Status !== before.Status) this.containers.emit(this.containers.get(id), `health_status: ${after.Status}`);
    this.schedule(id, watch);
  }

  /** One probe as an exec, output kept up to 4 KiB, killed at the timeout; the exec instance is forgotten after. */
  private async run(id: string, cmd: string[], timeoutMs: number): Promise<HealthResult> {
    const exec = this.execs.create(id, { Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const start = nowRfc3339();
    let output = '';
    const keep = (d: Buffer | string) => {
      if (output.length < MAX_OUTPUT_BYTES) output += d.toString();
    };
    exec.hub.attach({ stdout: true, stderr: true }, { write: (_s, d) => keep(d), end: () => {} });
    try {
      await this.execs.start(exec.ID, {}, keep);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        (exec.done ?? Promise.resolve()).then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs))),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        exec.proc?.kill('SIGKILL');
        return { Start: start, End: nowRfc3339(), ExitCode: -1, Output: `Health check exceeded timeout (${timeoutMs / 1000}s)` };
      }
      return { Start: start, End: nowRfc3339(), ExitCode: exec.ExitCode ?? -1, Output: output };
    } finally {
      this.execs.forget(exec.ID);
    }
  }
}

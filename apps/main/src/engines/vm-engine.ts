/**
 * The Berth VM as the dashboard's engine target (the default): `start()`
 * starts the VM daemon if it is not running (or joins a start under way) and
 * shows each boot phase in the status bar; the engine is then reached on the
 * host socket, as the docker CLI reaches it.
 *
 * The VM outlives the dashboard, as Docker Desktop's does its window: `stop()`
 * only disconnects (the docker CLI may still be using the engine); `berth
 * stop` powers it off. `restart()` does stop and start the VM.
 *
 * While running, the daemon's run state is checked every 2 s: a QEMU that
 * died, or an agent that stopped answering, turns into an error state with
 * the last console lines.
 */
import { EngineStateHolder, type EngineTarget } from './engine-target.js';
import { hostSocketAddress } from '../util/berth-home.js';
import type { EngineState } from '@berth/api';
import { startVm, stopVm, vmStatus, VmError, type StartOptions } from '../daemon/vm-control.js';

export interface VmEngineOptions {
  home: string;
  daemonCommand?: string[];
  /** How often the running VM is checked (default 2 s). */
  watchIntervalMs?: number;
}

export class VmEngine extends EngineStateHolder implements EngineTarget {
  #watch: NodeJS.Timeout | undefined;
  #starting: Promise<void> | undefined;

  constructor(private readonly opts: VmEngineOptions) {
    super({ state: 'stopped', mode: 'vm', message: 'The Berth VM is not started.', canRestart: true });
  }

  start(): Promise<void> {
    this.#starting ??= this.#start().finally(() => (this.#starting = undefined));
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.#unwatch();
    this.set({ state: 'starting', mode: 'vm', message: 'Starting the Berth VM…', canRestart: true });
    const start: StartOptions = {
      home: this.opts.home,
      onProgress: (_phase, message) => this.set({ state: 'starting', mode: 'vm', message, canRestart: true }),
      ...(this.opts.daemonCommand ? { daemonCommand: this.opts.daemonCommand } : {}),
    };
    try {
      const r = await startVm(start);
      const note = r.state.accelNote ? ` ${r.state.accelNote}` : '';
      this.set(this.#running(r.socket, `The Berth VM is running (${r.state.accel}): DOCKER_HOST=${hostSocketAddress(this.opts.home).dockerHost}.${note}`));
      this.#watchRunning(r.socket);
    } catch (err) {
      this.set({
        state: 'error',
        mode: 'vm',
        message: `The Berth VM did not start: ${(err as Error).message}`,
        canRestart: true,
        ...(err instanceof VmError && err.consoleTail.length ? { logTail: err.consoleTail } : {}),
      });
    }
  }

  async restart(): Promise<void> {
    this.#unwatch();
    this.set({ state: 'starting', mode: 'vm', message: 'Restarting the Berth VM…', canRestart: true });
    await stopVm(this.opts.home).catch(() => {});
    await this.start();
  }

  async stop(): Promise<void> {
    this.#unwatch();
    if (this.state.state !== 'stopped') {
      this.set({ state: 'stopped', mode: 'vm', message: 'Disconnected; the Berth VM keeps running (`berth stop` powers it off).', canRestart: true });
    }
  }

  #running(socket: string, message: string): EngineState {
    return { state: 'running', mode: 'vm', message, socket, canRestart: true };
  }

  #watchRunning(socket: string): void {
    let last = '';
    this.#watch = setInterval(() => {
      void vmStatus(this.opts.home).then((st) => {
        if (!this.#watch) return;
        const key = `${st.state}:${st.summary}`;
        if (key === last) return;
        last = key;
        if (st.state === 'running') {
          if (this.state.state !== 'running')
            this.set(this.#running(socket, `The Berth VM is running again: DOCKER_HOST=${hostSocketAddress(this.opts.home).dockerHost}`));
        } else {
          this.set({
            state: 'error',
            mode: 'vm',
            message: `${st.summary} Press Restart to start it again.`,
            canRestart: true,
            ...(st.consoleTail?.length ? { logTail: st.consoleTail } : {}),
          });
        }
      });
    }, this.opts.watchIntervalMs ?? 2000);
    this.#watch.unref();
  }

  #unwatch(): void {
    clearInterval(this.#watch);
    this.#watch = undefined;
  }
}

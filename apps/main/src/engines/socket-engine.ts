/**
 * An engine someone else runs, reached by its socket (`--engine-socket`):
 * running while it answers /_ping; we never start or stop it.
 */
import { enginePing } from '../util/engine-client.js';
import { EngineStateHolder, type EngineTarget } from './engine-target.js';

export class SocketEngine extends EngineStateHolder implements EngineTarget {
  constructor(readonly socket: string) {
    super({ state: 'starting', mode: 'socket', message: `Connecting to unix://${socket}…`, socket, canRestart: true });
  }

  /** Checks the socket: running if it answers, an error saying so if not. */
  async start(): Promise<void> {
    if (await enginePing(this.socket)) {
      this.set({ state: 'running', mode: 'socket', message: `Connected to the engine at unix://${this.socket}`, socket: this.socket, canRestart: true });
    } else {
      this.set({
        state: 'error',
        mode: 'socket',
        message: `Nothing answers on unix://${this.socket}: start the engine, then press Retry.`,
        socket: this.socket,
        canRestart: true,
      });
    }
  }

  restart(): Promise<void> {
    return this.start();
  }

  async stop(): Promise<void> {
    this.set({ state: 'stopped', mode: 'socket', message: `Disconnected from unix://${this.socket}.`, socket: this.socket, canRestart: true });
  }
}

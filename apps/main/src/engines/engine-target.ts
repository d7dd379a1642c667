/**
 * The seam between the dashboard and whatever runs the engine.
 *
 * A target owns one engine (the VM, the native agent, or a socket the user
 * named) and says where its Docker API socket is and what state it is in.
 * Contract:
 * - `socket` is set whenever `state.state === 'running'`; requests go there.
 * - `onChange` listeners get every state change, in order, after `state` is
 *   updated; the current state is not replayed (read `state`).
 * - `start()` resolves once the engine answers or has failed (the state says
 *   which); it does not throw for an engine that fails to start.
 * - `stop()` is idempotent and leaves the state `stopped`.
 */
import type { EngineState } from '@berth/api';

export interface EngineTarget {
  readonly state: EngineState;
  onChange(fn: (s: EngineState) => void): () => void;
  start(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Holds a target's state and tells listeners; targets extend it. */
export class EngineStateHolder {
  private current: EngineState;
  private readonly listeners = new Set<(s: EngineState) => void>();

  constructor(initial: EngineState) {
    this.current = initial;
  }

  get state(): EngineState {
    return this.current;
  }

  onChange(fn: (s: EngineState) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  protected set(next: EngineState): void {
    this.current = next;
    for (const fn of [...this.listeners]) fn(next);
  }
}

/** No engine can run here (yet): explains why in the state, forever. */
export class NoEngine extends EngineStateHolder implements EngineTarget {
  constructor(reason: string) {
    super({ state: 'error', mode: 'none', message: reason, canRestart: false });
  }
  async start(): Promise<void> {}
  async restart(): Promise<void> {}
  async stop(): Promise<void> {}
}

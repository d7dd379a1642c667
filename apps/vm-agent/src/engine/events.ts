import { EventEmitter } from 'node:events';

/** A Docker event as `GET /events` streams it. */
export interface EngineEvent {
  Type: 'container' | 'image' | 'network' | 'volume' | 'daemon';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
  // Legacy fields older clients (and `docker events` formatting) still read.
  status?: string;
  id?: string;
  from?: string;
}

export type EventInput = Pick<EngineEvent, 'Type' | 'Action'> & { id: string; attributes?: Record<string, string> };

/**
 * The engine's event bus. Keeps the last events so `docker events --since`
 * can replay them; live subscribers get every event after they subscribe.
 * Invariant: events are delivered in the order they were published.
 */
export class EventBus {
  private readonly emitter = new EventEmitter();
  private readonly history: EngineEvent[] = [];

  constructor(private readonly historyLimit = 1000) {
    this.emitter.setMaxListeners(0);
  }

  publish(input: EventInput): EngineEvent {
    const nowNs = BigInt(Date.now()) * 1_000_000n + BigInt(process.hrtime.bigint() % 1_000_000n);
    const attributes = input.attributes ?? {};
    const ev: EngineEvent = {
      Type: input.Type,
      Action: input.Action,
      Actor: { ID: input.id, Attributes: attributes },
      scope: 'local',
      time: Number(nowNs / 1_000_000_000n),
      timeNano: Number(nowNs),
    };
    if (input.Type === 'container' || input.Type === 'image') {
      ev.status = input.Action;
      ev.id = input.id;
      if (input.Type === 'container' && attributes.image) ev.from = attributes.image;
    }
    this.history.push(ev);
    if (this.history.length > this.historyLimit) this.history.shift();
    this.emitter.emit('event', ev);
    return ev;
  }

  /** Events already published with time in [sinceNs, untilNs]. */
  past(sinceNs: bigint, untilNs?: bigint): EngineEvent[] {
    return this.history.filter((e) => BigInt(e.timeNano) >= sinceNs && (untilNs === undefined || BigInt(e.timeNano) <= untilNs));
  }

  subscribe(fn: (ev: EngineEvent) => void): () => void {
    this.emitter.on('event', fn);
    return () => this.emitter.off('event', fn);
  }
}

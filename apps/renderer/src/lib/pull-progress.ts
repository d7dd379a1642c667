/**
 * Folds a pull's JSON-lines stream (POST /images/create) into what the
 * dashboard draws: one bar per layer, in the order layers appeared, and the
 * summary lines (`Digest: …`, `Status: …`). Pure, so it is unit-tested.
 */
import type { ProgressMessage } from '@berth/api';

export interface LayerProgress {
  id: string;
  status: string;
  /** 0..1 when the engine sent byte counts for the current phase. */
  fraction?: number;
  done: boolean;
}

export interface PullState {
  layers: LayerProgress[];
  /** Lines without a layer: `Pulling from …`, `Digest: …`, `Status: …`. */
  messages: string[];
  error?: string;
}

export const initialPull: PullState = { layers: [], messages: [] };

const LAYER_DONE = /^(Pull complete|Already exists)$/;

export function foldPull(state: PullState, m: ProgressMessage): PullState {
  if (m.error || m.errorDetail?.message) return { ...state, error: m.errorDetail?.message ?? m.error };
  const status = m.status ?? '';
  // `{"status":"Pulling from x","id":"latest"}`: the id is the tag, not a layer.
  if (!m.id || status.startsWith('Pulling from')) {
    return status ? { ...state, messages: [...state.messages, m.id && !status.includes(m.id) ? `${status} (${m.id})` : status] } : state;
  }
  const { current, total } = m.progressDetail ?? {};
  const fraction = total && total > 0 && current !== undefined ? Math.min(1, current / total) : undefined;
  const done = LAYER_DONE.test(status);
  const next: LayerProgress = { id: m.id, status, done, ...(done ? { fraction: 1 } : fraction !== undefined ? { fraction } : {}) };
  const i = state.layers.findIndex((l) => l.id === m.id);
  const layers = i === -1 ? [...state.layers, next] : state.layers.map((l, j) => (j === i ? next : l));
  return { ...state, layers };
}

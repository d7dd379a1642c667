/** The container actions every page offers, as the Engine API requests that do them. */
import { en, type StringKey } from '../i18n/en.js';
import type { T } from '../i18n/i18n.js';
import type { BerthClient } from './client.js';

export type ContainerAction = 'start' | 'stop' | 'restart' | 'pause' | 'unpause' | 'delete';

export async function runContainerAction(client: BerthClient, id: string, action: ContainerAction): Promise<void> {
  const path = `/containers/${encodeURIComponent(id)}`;
  if (action === 'delete') await client.docker('DELETE', `${path}?force=1`);
  else await client.docker('POST', `${path}/${action}`);
}

/** A container state in the dashboard's language (the containerState.* keys); a state the engine adds later shows as it is. */
export function stateLabel(t: T, state: string): string {
  const key = `containerState.${state}`;
  return key in en ? t(key as StringKey) : state;
}

/** Which actions make sense in a state (the others are hidden or disabled). */
export function actionsFor(state: string): ContainerAction[] {
  switch (state) {
    case 'running':
    case 'restarting':
      return ['stop', 'restart', 'pause', 'delete'];
    case 'paused':
      return ['unpause', 'stop', 'delete'];
    default:
      return ['start', 'delete'];
  }
}

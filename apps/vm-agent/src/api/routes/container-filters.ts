/**
 * `docker ps --filter` and `docker container prune --filter`, as dockerd
 * reads them: values of one key are OR-ed, keys are AND-ed.
 */
import type { ContainerService } from '../../engine/containers.js';
import type { ContainerRecord } from '../../engine/container-types.js';
import type { Health } from '../../engine/health-rules.js';
import { invalidParameter } from '../../errors.js';
import { checkFilterKeys } from '../http-io.js';

const STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];

/** `label=key` or `label=key=value` against a label map. */
export function labelMatches(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf('=');
  if (eq === -1) return filter in labels;
  return labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}

/** `health` filter values, as dockerd names them ("none": no health check). */
const HEALTH = ['starting', 'healthy', 'unhealthy', 'none'];

export function containerFilter(
  svc: ContainerService,
  filters: Map<string, string[]>,
  health: (id: string) => Health | undefined = () => undefined,
): (c: ContainerRecord) => boolean {
  checkFilterKeys(filters, [
    'id',
    'name',
    'label',
    'label!',
    'status',
    'ancestor',
    'exited',
    'before',
    'since',
    'until',
    'health',
    'network',
    'volume',
    'publish',
    'expose',
    'is-task',
  ]);
  const status = filters.get('status') ?? [];
  for (const s of status) if (!STATUSES.includes(s)) throw invalidParameter(`invalid filter 'status=${s}'`);
  const healths = filters.get('health') ?? [];
  for (const h of healths) if (!HEALTH.includes(h)) throw invalidParameter(`Unrecognised filter value for health: ${h}`);
  const exited = (filters.get('exited') ?? []).map((v) => {
    if (!/^-?\d+$/.test(v)) throw invalidParameter(`invalid filter 'exited=${v}'`);
    return Number(v);
  });
  const ancestors = new Set<string>();
  for (const a of filters.get('ancestor') ?? []) {
    try {
      ancestors.add(svc.images.resolve(a).id);
    } catch {
      ancestors.add(a); // an image no longer here can still match by the name containers were created with
    }
  }
  const created = (term: string) => Date.parse(svc.get(term).Created);
  const before = filters.get('before')?.map(created);
  const since = filters.get('since')?.map(created);
  const any = <T>(values: T[] | undefined, f: (v: T) => boolean) => values === undefined || values.length === 0 || values.some(f);
  return (c) =>
    any(filters.get('id'), (v) => c.Id.startsWith(v)) &&
    any(filters.get('name'), (v) => new RegExp(v).test(c.Name)) &&
    (filters.get('label') ?? []).every((l) => labelMatches(c.Config.Labels, l)) &&
    !(filters.get('label!') ?? []).some((l) => labelMatches(c.Config.Labels, l)) &&
    any(status, (s) => c.State.Status === s) &&
    any(healths, (h) => (health(c.Id)?.Status ?? 'none') === h) &&
    (exited.length === 0 || (c.State.Status === 'exited' && exited.includes(c.State.ExitCode))) &&
    (ancestors.size === 0 || ancestors.has(c.Image) || ancestors.has(c.Config.Image)) &&
    (before === undefined || before.every((t) => Date.parse(c.Created) < t)) &&
    (since === undefined || since.every((t) => Date.parse(c.Created) > t));
}

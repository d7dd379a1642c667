/**
 * Volume routes (`docker volume create|ls|inspect|rm|prune`), and the volume
 * rows of `system df`.
 */
import { invalidParameter } from '../../errors.js';
import { ANONYMOUS_LABEL, type CreateVolumeRequest, type Volume, type VolumeService } from '../../volumes/volume-service.js';
import { VOLUME_CREATE, checkBody } from '../body-shapes.js';
import { checkFilterKeys, parseFilters, queryBool, readJson, sendJson, sendNoContent } from '../http-io.js';
import type { Router } from '../router.js';

function labelMatch(v: Volume, want: string): boolean {
  const i = want.indexOf('=');
  if (i === -1) return want in v.Labels;
  return v.Labels[want.slice(0, i)] === want.slice(i + 1);
}

function isTrue(v: string): boolean {
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw invalidParameter(`invalid filter 'dangling=${v}'`);
}

/** ls filters: dangling, label, name (substring), driver. */
function matches(svc: VolumeService, v: Volume, filters: Map<string, string[]>): boolean {
  const any = (key: string, test: (x: string) => boolean) => !filters.has(key) || filters.get(key)!.some(test);
  return (
    any('name', (x) => v.Name.includes(x)) &&
    any('driver', (x) => x === v.Driver) &&
    (!filters.has('label') || filters.get('label')!.every((x) => labelMatch(v, x))) &&
    any('dangling', (x) => isTrue(x) === (svc.inUseBy(v.Name).length === 0))
  );
}

export function volumeRoutes(r: Router, svc: VolumeService): void {
  r.get('/volumes', ({ res, query }) => {
    const filters = parseFilters(query);
    checkFilterKeys(filters, ['name', 'driver', 'label', 'dangling']);
    sendJson(res, 200, { Volumes: svc.list().filter((v) => matches(svc, v, filters)), Warnings: [] });
  });

  r.post('/volumes/create', async ({ req, res }) => {
    const body = checkBody<CreateVolumeRequest>((await readJson(req)) ?? {}, VOLUME_CREATE);
    sendJson(res, 201, await svc.create(body));
  });

  r.post('/volumes/prune', async ({ res, query }) => {
    const filters = parseFilters(query);
    checkFilterKeys(filters, ['label', 'label!', 'all']);
    // Since API 1.42 only anonymous volumes go, unless all=true.
    const all = (filters.get('all') ?? []).some((x) => isTrue(x));
    const { deleted, reclaimed } = await svc.prune(
      (v) =>
        (all || ANONYMOUS_LABEL in v.Labels) &&
        (filters.get('label') ?? []).every((x) => labelMatch(v, x)) &&
        !(filters.get('label!') ?? []).some((x) => labelMatch(v, x)),
    );
    sendJson(res, 200, { VolumesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed });
  });

  r.get('/volumes/{name}', ({ res, params }) => {
    sendJson(res, 200, svc.get(params.name!));
  });

  r.delete('/volumes/{name}', async ({ res, params, query }) => {
    await svc.remove(params.name!, { force: queryBool(query, 'force') });
    sendNoContent(res);
  });
}

/** The `Volumes` of GET /system/df: each with its size and how many containers use it. */
export async function volumeUsage(svc: VolumeService): Promise<unknown[]> {
  return Promise.all(svc.list().map(async (v) => ({ ...v, UsageData: { Size: await svc.size(v.Name), RefCount: svc.inUseBy(v.Name).length } })));
}

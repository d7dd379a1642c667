/**
 * Container routes: create, list, inspect, lifecycle, wait, rename, top,
 * prune. Streams (attach, logs) are in container-io-routes.ts, exec in
 * exec.ts, filesystem (cp, diff, commit) in container-fs-routes.ts.
 */
import type { CreateRequest } from '../../engine/container-create.js';
import { planResources } from '../../engine/container-limits.js';
import type { ContainerService } from '../../engine/containers.js';
import type { Health } from '../../engine/health-rules.js';
import { conflict, invalidParameter, notFound } from '../../errors.js';
import { processTable } from '../../runtime/proc-stat.js';
import { CONTAINER_CREATE, CONTAINER_UPDATE, checkBody } from '../body-shapes.js';
import { parseFilters, queryBool, queryInt, readJson, sendJson, sendNoContent } from '../http-io.js';
import type { Router } from '../router.js';
import { formatPlatform, imagePlatform, parsePlatformSpec, platformMatches } from '../../images/platform-spec.js';
import { containerFilter } from './container-filters.js';
import { containerInspect, containerSizes, containerSummary } from './container-views.js';

export interface ContainerRoutesDeps {
  containers: ContainerService;
  /** Exec instance IDs of a container, for inspect's ExecIDs. */
  execIds: (containerId: string) => string[];
  /** State.Health of a container whose health check runs. */
  health?: (containerId: string) => Health | undefined;
}

export function containerRoutes(r: Router, deps: ContainerRoutesDeps): void {
  const svc = deps.containers;

  r.get('/containers/json', async ({ res, query }) => {
    const filter = containerFilter(svc, parseFilters(query), (id) => deps.health?.(id));
    const limit = queryInt(query, 'limit') ?? -1;
    const all = queryBool(query, 'all') || limit > 0;
    let list = svc.list().filter((c) => (all || c.State.Status === 'running' || c.State.Status === 'paused' || c.State.Status === 'restarting') && filter(c));
    list.sort((a, b) => Date.parse(b.Created) - Date.parse(a.Created) || (b.Id < a.Id ? -1 : 1));
    if (limit > 0) list = list.slice(0, limit);
    const withSize = queryBool(query, 'size');
    sendJson(
      res,
      200,
      await Promise.all(list.map(async (c) => ({ ...containerSummary(c, svc, deps.health?.(c.Id)), ...(withSize ? await containerSizes(svc, c) : {}) }))),
    );
  });

  r.post('/containers/create', async ({ req, res, query }) => {
    const raw = await readJson(req);
    if (!raw || typeof raw !== 'object') throw invalidParameter('config cannot be empty in order to create a container');
    const body = checkBody<CreateRequest>(raw, CONTAINER_CREATE);
    const platform = query.get('platform');
    if (platform && body.Image) await checkImagePlatform(svc, body.Image, platform);
    const rec = await svc.create(body, query.get('name') || undefined);
    sendJson(res, 201, { Id: rec.Id, Warnings: planResources(body.HostConfig ?? {}).warnings });
  });

  r.get('/containers/{id}/json', async ({ res, params, query }) => {
    const rec = svc.get(params.id!);
    const sizes = queryBool(query, 'size') ? await containerSizes(svc, rec) : {};
    sendJson(res, 200, { ...containerInspect(svc, rec, deps.execIds(rec.Id), deps.health?.(rec.Id)), ...sizes });
  });

  r.post('/containers/{id}/start', async ({ res, params }) => {
    await svc.start(params.id!);
    sendNoContent(res);
  });

  r.post('/containers/{id}/stop', async ({ res, params, query }) => {
    await svc.stop(params.id!, queryInt(query, 't'), query.get('signal') || undefined);
    sendNoContent(res);
  });

  r.post('/containers/{id}/restart', async ({ res, params, query }) => {
    await svc.restart(params.id!, queryInt(query, 't'), query.get('signal') || undefined);
    sendNoContent(res);
  });

  r.post('/containers/{id}/kill', async ({ res, params, query }) => {
    await svc.kill(params.id!, query.get('signal') || 'SIGKILL');
    sendNoContent(res);
  });

  // `docker rm --link /webapp/db`: the CLI sends the link's name, "webapp/db"
  r.delete(
    '/containers/{parent}/{alias}',
    async ({ res, params, query }) => {
      if (!queryBool(query, 'link')) throw notFound(`No such container: ${params.parent}/${params.alias}`);
      await svc.removeLink(params.parent!, params.alias!);
      sendNoContent(res);
    },
    { catchAll: true },
  );

  r.delete('/containers/{id}', async ({ res, params, query }) => {
    if (queryBool(query, 'link')) throw conflict('Conflict, cannot remove the default link name of the container');
    await svc.remove(params.id!, { force: queryBool(query, 'force'), volumes: queryBool(query, 'v') });
    sendNoContent(res);
  });

  r.post('/containers/{id}/wait', async ({ res, params, query }) => {
    const waiting = svc.wait(params.id!, query.get('condition') ?? '');
    // Headers go out at once: the CLI waits (before start) and must not block on us.
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    const result = await waiting;
    res.end(JSON.stringify(result) + '\n');
  });

  r.post('/containers/{id}/rename', async ({ res, params, query }) => {
    const name = query.get('name');
    if (!name) throw invalidParameter('Neither old nor new names may be empty');
    await svc.rename(params.id!, name);
    sendNoContent(res);
  });

  r.post('/containers/{id}/update', async ({ req, res, params }) => {
    const body = checkBody<Record<string, unknown>>((await readJson(req)) ?? {}, CONTAINER_UPDATE);
    sendJson(res, 200, { Warnings: await svc.update(params.id!, body) });
  });

  r.post('/containers/{id}/pause', async ({ res, params }) => {
    await svc.pause(params.id!);
    sendNoContent(res);
  });

  r.post('/containers/{id}/unpause', async ({ res, params }) => {
    await svc.unpause(params.id!);
    sendNoContent(res);
  });

  r.get('/containers/{id}/top', async ({ res, params, query }) => {
    const rec = svc.get(params.id!);
    const cgroup = svc.liveState(rec).cgroup;
    if (!cgroup || (rec.State.Status !== 'running' && rec.State.Status !== 'paused')) throw conflict(`Container ${rec.Id} is not running`);
    sendJson(res, 200, await processTable(cgroup.pids(), query.get('ps_args') || '-ef'));
  });

  r.post('/containers/prune', async ({ res, query }) => {
    const filters = parseFilters(query);
    const until = filters.get('until')?.[0];
    filters.delete('until');
    const match = containerFilter(svc, filters);
    const untilMs = until === undefined ? undefined : parseUntil(until);
    const { deleted, reclaimed } = await svc.prune((c) => match(c) && (untilMs === undefined || Date.parse(c.Created) < untilMs));
    svc.events.publish({ Type: 'container', Action: 'prune', id: '', attributes: { reclaimed: String(reclaimed) } });
    sendJson(res, 200, { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed });
  });
}

function parseUntil(v: string): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const rel = /^(\d+)([smh])$/.exec(v);
  if (rel) return Date.now() - Number(rel[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[rel[2] as 's' | 'm' | 'h'];
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw invalidParameter(`invalid filter 'until=${v}'`);
  return t;
}

/**
 * Create's `platform` (`docker run --platform`): the image must be one for
 * it, as dockerd 20.10 checks; its 404 makes the CLI pull for that platform
 * and create again.
 */
async function checkImagePlatform(svc: ContainerService, name: string, spec: string): Promise<void> {
  const want = parsePlatformSpec(spec);
  const have = imagePlatform(await svc.images.config(svc.images.resolve(name).id));
  if (!platformMatches(want, have))
    throw notFound(
      `image with reference ${name} was found but does not match the specified platform: wanted ${formatPlatform(want)}, actual: ${formatPlatform(have)}`,
    );
}

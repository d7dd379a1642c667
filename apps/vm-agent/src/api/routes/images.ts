import { invalidParameter } from '../../errors.js';
import type { ImageService } from '../../images/image-service.js';
import type { ImageRecord } from '../../images/image-store.js';
import { familiarName, familiarString, parseReference } from '../../images/reference.js';
import { parsePlatformSpec } from '../../images/platform-spec.js';
import { compareApiVersions } from '../version.js';
import { JsonLines, checkFilterKeys, parseFilters, queryBool, readJson, sendJson } from '../http-io.js';
import type { RegistryCredentials } from '../../images/registry-client.js';
import { registryAuthFrom } from '../registry-auth-header.js';
import { legacyImageFields } from './image-legacy-fields.js';
import { importFromRequest } from './image-import.js';
import type { Router } from '../router.js';

export interface ImageRoutesDeps {
  images: ImageService;
  /** How many containers use each image (the engine's answer); -1 when unknown. */
  containersUsing: (imageId: string) => number;
}

export function imageRoutes(r: Router, deps: ImageRoutesDeps): void {
  const { images } = deps;

  r.get('/images/json', async ({ res, query, apiVersion }) => {
    const filters = parseFilters(query);
    checkFilterKeys(filters, ['dangling', 'reference', 'label', 'before', 'since', 'until']);
    let list = await filterImages(images, images.list(), filters);
    if (!queryBool(query, 'all')) {
      // As dockerd: untagged images that are parents of others (a build's
      // intermediate steps) show only with --all.
      const parents = new Set(
        images
          .list()
          .map((i) => i.parent)
          .filter(Boolean),
      );
      list = list.filter((img) => parents.has(img.id) === false || images.ctx.images.refsOf(img.id).length > 0);
    }
    const out = await Promise.all(list.map((img) => imageSummary(deps, img, apiVersion, queryBool(query, 'shared-size'))));
    out.sort((a, b) => b.Created - a.Created);
    sendJson(res, 200, out);
  });

  r.post('/images/create', async (ctx) => {
    const { req, res, query } = ctx;
    const fromImage = query.get('fromImage');
    if (!fromImage && query.get('fromSrc')) return importFromRequest(ctx, images);
    if (!fromImage) throw invalidParameter('fromImage is required: the image to pull, or fromSrc to import');
    const tag = query.get('tag');
    // The CLI sends the tag (or digest) separately; join them back into one reference.
    const name = tag ? (tag.startsWith('sha256:') ? `${fromImage}@${tag}` : `${fromImage}:${tag}`) : fromImage;
    parseReference(name); // a 400 before the stream starts
    // `docker pull --platform`: an index's entry for it (a bad value is a 400 in
    // containerd's words); a single-platform image comes as it is, as on dockerd 20.10.
    const platformSpec = query.get('platform');
    const platform = platformSpec ? parsePlatformSpec(platformSpec) : undefined;
    const credentials = registryAuthFrom(req);
    const out = new JsonLines(res);
    // The client going away cancels the pull (nothing half made is kept).
    const abort = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    try {
      await images.pull(name, (m) => out.write(m), credentials, abort.signal, platform);
    } catch (err) {
      if (!out.hasStarted) throw err;
      out.error(err);
    }
    out.end();
  });

  r.get('/images/{name:.*}/json', async ({ res, params, apiVersion }) => {
    const img = images.resolve(params.name!);
    sendJson(res, 200, await imageInspect(images, img, apiVersion));
  });

  r.get('/images/{name:.*}/history', async ({ res, params }) => {
    const img = images.resolve(params.name!);
    sendJson(res, 200, await imageHistory(images, img));
  });

  r.post('/images/{name:.*}/tag', async ({ res, params, query }) => {
    const repo = query.get('repo');
    if (!repo) throw invalidParameter('repository name (repo) is required');
    const tag = query.get('tag');
    await images.tag(params.name!, tag ? `${repo}:${tag}` : repo);
    res.writeHead(201).end();
  });

  r.delete('/images/{name:.*}', async ({ res, params, query }) => {
    const items = await images.remove(params.name!, { force: queryBool(query, 'force'), prune: !queryBool(query, 'noprune') });
    sendJson(res, 200, items);
  });

  r.post('/images/prune', async ({ res, query }) => {
    const filters = parseFilters(query);
    checkFilterKeys(filters, ['dangling', 'until', 'label', 'label!']);
    const dangling = filters.get('dangling')?.[0];
    const all = dangling !== undefined && ['false', '0'].includes(dangling);
    const until = untilFilter(filters.get('until')?.[0]);
    const labels = filters.get('label') ?? [];
    const notLabels = filters.get('label!') ?? [];
    const configs = new Map<string, Record<string, string>>();
    for (const img of images.list()) configs.set(img.id, (await images.config(img.id)).config?.Labels ?? {});
    const { deleted, reclaimed } = await images.prune({
      all,
      keep: (img) => {
        const created = Date.parse(img.addedAt) / 1000;
        if (until !== undefined && created >= until) return false;
        const l = configs.get(img.id) ?? {};
        if (!labels.every((f) => labelMatches(l, f))) return false;
        if (notLabels.some((f) => labelMatches(l, f))) return false;
        return true;
      },
    });
    sendJson(res, 200, { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed });
  });
}

export async function imageSummary(deps: ImageRoutesDeps, img: ImageRecord, apiVersion: string, _shared: boolean) {
  const { images } = deps;
  const config = await images.config(img.id);
  const store = images.ctx.images;
  const summary: Record<string, unknown> = {
    Id: img.id,
    ParentId: img.parent ?? '',
    RepoTags: store.tagsOf(img.id).map(familiarString),
    RepoDigests: store.digestRefsOf(img.id).map(familiarString),
    Created: createdSeconds(config.created, img.addedAt),
    Size: img.size,
    SharedSize: -1,
    Labels: config.config?.Labels ?? {},
    Containers: deps.containersUsing(img.id),
  };
  if (compareApiVersions(apiVersion, '1.44') < 0) summary.VirtualSize = img.size;
  return summary as { Created: number } & Record<string, unknown>;
}

export async function imageInspect(images: ImageService, img: ImageRecord, apiVersion: string) {
  const config = await images.config(img.id);
  const store = images.ctx.images;
  const dirs = images.layerDirs(img);
  const out: Record<string, unknown> = {
    Id: img.id,
    RepoTags: store.tagsOf(img.id).map(familiarString),
    RepoDigests: store.digestRefsOf(img.id).map(familiarString),
    Parent: img.parent ?? '',
    Comment: config.history?.at(-1)?.comment ?? '',
    Created: config.created ?? img.addedAt,
    DockerVersion: typeof config.docker_version === 'string' ? config.docker_version : '',
    Author: config.author ?? '',
    Config: config.config ?? null,
    Architecture: config.architecture ?? '',
    Os: config.os ?? 'linux',
    Size: img.size,
    GraphDriver: {
      Name: 'overlay2',
      Data: dirs.length ? { LowerDir: dirs.slice().reverse().join(':') } : {},
    },
    RootFS: { Type: 'layers', Layers: img.layers.map((l) => l.diffID) },
    Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
  };
  if (config.variant) out.Variant = config.variant;
  if (compareApiVersions(apiVersion, '1.44') < 0) out.VirtualSize = img.size;
  return { ...out, ...legacyImageFields(config) };
}

async function imageHistory(images: ImageService, img: ImageRecord) {
  const config = await images.config(img.id);
  const history: NonNullable<typeof config.history> = config.history ?? img.layers.map(() => ({}));
  const rows: Array<Record<string, unknown>> = [];
  let layerIndex = 0;
  for (const h of history) {
    let size = 0;
    if (!h.empty_layer) {
      const layer = img.layers[layerIndex++];
      if (layer) size = (await images.ctx.layers.get(layer.diffID))?.size ?? 0;
    }
    rows.push({
      Id: '<missing>',
      Created: createdSeconds(h.created, img.addedAt),
      CreatedBy: h.created_by ?? '',
      Tags: null,
      Size: size,
      Comment: h.comment ?? '',
    });
  }
  rows.reverse();
  // As dockerd: the newest row is the image, each older row its parent while
  // the chain is held here (a built image shows every step's image).
  let current: ImageRecord | undefined = img;
  for (const row of rows) {
    if (!current) break;
    row.Id = current.id;
    row.Tags = images.ctx.images.tagsOf(current.id).map(familiarString);
    current = current.parent ? images.ctx.images.get(current.parent) : undefined;
  }
  return rows;
}

function createdSeconds(created: string | undefined, fallback: string): number {
  const t = Date.parse(created ?? '') || Date.parse(fallback) || 0;
  return Math.floor(t / 1000);
}

async function filterImages(images: ImageService, list: ImageRecord[], filters: Map<string, string[]>): Promise<ImageRecord[]> {
  const store = images.ctx.images;
  const dangling = filters.get('dangling')?.[0];
  const refs = filters.get('reference') ?? [];
  const labels = filters.get('label') ?? [];
  const before = filters.get('before')?.[0];
  const since = filters.get('since')?.[0];
  const beforeT = before ? Date.parse(images.resolve(before).addedAt) : undefined;
  const sinceT = since ? Date.parse(images.resolve(since).addedAt) : undefined;
  if (dangling !== undefined && !['true', 'false', '1', '0'].includes(dangling)) {
    throw invalidParameter(`Invalid filter 'dangling=${dangling}'`);
  }
  const out: ImageRecord[] = [];
  for (const img of list) {
    const tags = store.tagsOf(img.id);
    if (dangling !== undefined && (['true', '1'].includes(dangling) ? tags.length > 0 : tags.length === 0)) continue;
    if (refs.length && !refs.some((p) => [...tags, ...store.digestRefsOf(img.id)].some((t) => referenceMatches(p, t)))) continue;
    if (labels.length) {
      const l = (await images.config(img.id)).config?.Labels ?? {};
      if (!labels.every((f) => labelMatches(l, f))) continue;
    }
    const t = Date.parse(img.addedAt);
    if (beforeT !== undefined && t >= beforeT) continue;
    if (sinceT !== undefined && t <= sinceT) continue;
    out.push(img);
  }
  return out;
}

/** dockerd's reference filter: a shell-style pattern on the familiar name, with or without the tag. */
function referenceMatches(pattern: string, ref: ReturnType<typeof parseReference>): boolean {
  const re = globToRegExp(pattern);
  return re.test(familiarString(ref)) || re.test(familiarName(ref));
}

function globToRegExp(p: string): RegExp {
  const body = p
    .replace(/[.+^${}()|\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

function labelMatches(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf('=');
  if (eq === -1) return filter in labels;
  return labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}

/** `until` is a Unix timestamp or a duration like 24h, as in dockerd. */
function untilFilter(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const d = /^(\d+(?:\.\d+)?)(s|m|h)$/.exec(v);
  if (d) return Date.now() / 1000 - Number(d[1]) * { s: 1, m: 60, h: 3600 }[d[2] as 's' | 'm' | 'h'];
  const n = Number(v);
  if (Number.isFinite(n)) return n;
  const t = Date.parse(v);
  if (Number.isFinite(t)) return t / 1000;
  throw invalidParameter(`invalid until filter: ${v}`);
}

export function imageTransferRoutes(r: Router, images: ImageService): void {
  r.post('/images/{name:.*}/push', async ({ req, res, params, query }) => {
    const credentials = registryAuthFrom(req);
    const tag = query.get('tag') || undefined;
    parseReference(params.name!);
    const out = new JsonLines(res);
    try {
      await images.push(params.name!, tag, (m) => out.write(m), credentials);
    } catch (err) {
      out.error(err);
    }
    out.end();
  });

  const save = (res: import('node:http').ServerResponse, names: string[]) => {
    if (names.length === 0) throw invalidParameter('no image names given to save');
    const stream = images.save(names);
    res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    stream.on('error', (err) => res.destroy(err));
    stream.pipe(res);
  };
  r.get('/images/get', ({ res, query }) => save(res, query.getAll('names')));
  r.get('/images/{name:.*}/get', ({ res, params }) => save(res, [params.name!]));

  r.post('/images/load', async ({ req, res, query }) => {
    const quiet = queryBool(query, 'quiet');
    const out = new JsonLines(res);
    try {
      await images.load(req, (line) => {
        if (!quiet || line.startsWith('Loaded')) out.write({ stream: `${line}\n` });
      });
    } catch (err) {
      req.resume();
      out.error(err);
    }
    out.end();
  });

  r.post('/auth', async ({ req, res }) => {
    const body = (await readJson(req)) as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object') throw invalidParameter('login needs a JSON body with username, password and serveraddress');
    const str = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : undefined);
    const credentials: RegistryCredentials = {};
    const username = str('username');
    const password = str('password');
    const identitytoken = str('identitytoken');
    if (username) credentials.username = username;
    if (password) credentials.password = password;
    if (identitytoken) credentials.identitytoken = identitytoken;
    const result = await images.login(str('serveraddress') ?? 'docker.io', credentials);
    sendJson(res, 200, { Status: result.status, IdentityToken: result.identityToken ?? '' });
  });
}

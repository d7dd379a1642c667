import { errorMessage, invalidParameter, isEngineError, notFound, unavailable } from '../errors.js';
import { tee } from '../util/tee.js';
import { trace } from '../util/trace.js';
import { shortId } from './digest.js';
import { collectGarbage } from './gc.js';
import type { ImageContext } from './image-context.js';
import type { ImageLayer, ImageRecord } from './image-store.js';
import {
  MANIFEST_ACCEPT,
  isLayerMediaType,
  parseImageConfig,
  parseManifest,
  selectPlatform,
  type Descriptor,
  type ImageManifest,
  type Platform,
} from './manifest.js';
import { throttledProgress, type ProgressSink } from './progress.js';
import { familiarName, familiarString, parseNormalizedNamed, type Reference } from './reference.js';
import type { RegistryClient, RegistryCredentials } from './registry-client.js';

/** How many layers download at once (dockerd's default is 3). */
const DOWNLOAD_CONCURRENCY = 4;

export interface PullResult {
  id: string;
  ref: Reference;
  /** The digest the CLI prints: the index's when the tag named an index. */
  digest: string;
  upToDate: boolean;
}

/**
 * Pulls `name` (normalized, `latest` by default) for the engine's platform,
 * or from a multi-platform index the entry for `platform` (a build's FROM --platform).
 *
 * Each layer is downloaded and unpacked at the same time (one stream, teed),
 * all layers in parallel: the compressed bytes are verified against the
 * manifest's digest, the unpacked ones against the config's diff ID. Nothing
 * is recorded until every piece verified; on any failure the blobs and layers
 * this pull made are removed, so a failed pull keeps nothing.
 *
 * `signal` cancels the pull (its client went away): the registry exchanges
 * in flight are aborted, downloads and unpacks stop and are removed, and no
 * image is recorded. Work another pull shares with this one goes on for it
 * (see LayerStore.create).
 */
export async function pullImage(
  ctx: ImageContext,
  name: string,
  progress: ProgressSink,
  credentials?: RegistryCredentials,
  signal?: AbortSignal,
  platform?: Platform,
): Promise<PullResult> {
  const ref = parseNormalizedNamed(name);
  const repo = { domain: ref.domain, path: ref.path };
  const client = ctx.registry(credentials);
  const created = { layers: [] as string[], blobs: [] as string[] };
  const pinned: string[] = [];
  const pin = (k: string) => {
    ctx.pins.pin(k);
    pinned.push(k);
  };
  try {
    trace('pull', `start ${name}`);
    const top = await client.fetchManifest(repo, ref.digest ?? ref.tag!, MANIFEST_ACCEPT, signal).catch((err: unknown) => {
      // dockerd answers 404 here, not 401: the repository may simply not exist,
      // and a 401 would make the CLI prompt for a login.
      if (isEngineError(err, 'unauthorized')) {
        throw notFound(
          `pull access denied for ${familiarName(ref)}, repository does not exist or may require 'docker login': denied: requested access to the resource is denied`,
          err,
        );
      }
      throw err;
    });
    // As dockerd: nothing is streamed until the manifest resolved, so "no such
    // image" and "access denied" come back as plain HTTP errors.
    progress({ status: `Pulling from ${ref.path}`, id: ref.digest ?? ref.tag ?? 'latest' });
    const manifests = [top.digest];
    let parsed = parseManifest(top.body, top.mediaType);
    let manifestBody = top.body;
    if (parsed.kind === 'index') {
      const entry = selectPlatform(parsed.index, platform);
      const child = await client.fetchManifest(repo, entry, MANIFEST_ACCEPT, signal);
      parsed = parseManifest(child.body, child.mediaType);
      if (parsed.kind !== 'manifest') throw invalidParameter(`the index ${top.digest} points at another index, which is not supported`);
      manifests.push(child.digest);
      manifestBody = child.body;
    }
    const manifest = parsed.manifest;
    trace('pull', 'manifest');

    const configDigest = manifest.config.digest;
    pin(configDigest);
    const configBody = await fetchSmallBlob(ctx, client, repo, manifest.config, created.blobs, signal);
    const config = parseImageConfig(configBody);
    trace('pull', 'config');
    if (config.os && config.os !== 'linux') throw invalidParameter(`image operating system "${config.os}" cannot be used on this platform: linux`);
    const diffIDs = config.rootfs.diff_ids;
    const layerDescs = manifest.layers.filter((l) => isLayerMediaType(l.mediaType));
    if (layerDescs.length !== manifest.layers.length) {
      const odd = manifest.layers.find((l) => !isLayerMediaType(l.mediaType));
      throw invalidParameter(`unsupported layer media type ${odd?.mediaType} in ${familiarString(ref)}`);
    }
    if (diffIDs.length !== layerDescs.length) {
      throw invalidParameter(`invalid image: the manifest has ${layerDescs.length} layers but the config lists ${diffIDs.length} diff IDs`);
    }

    const layers = await fetchLayers(ctx, client, repo, manifest, diffIDs, progress, pin, created, signal);
    trace('pull', 'layers done');
    for (const d of manifests) {
      pin(d);
    }
    await storeBlob(ctx, top.body, top.digest, created.blobs);
    if (manifestBody !== top.body) await storeBlob(ctx, manifestBody, manifests[1]!, created.blobs);

    const id = configDigest;
    // The last moment to stop: from here on the image is recorded whole.
    throwIfCancelled(signal, ref);
    const existing = ctx.images.get(id);
    const size = await layersSize(ctx, diffIDs);
    const record: ImageRecord = existing
      ? { ...existing, manifests: [...new Set([...existing.manifests, ...manifests])] }
      : { id, layers, size, manifests, addedAt: new Date().toISOString() };
    await ctx.images.add(record);
    let upToDate = true;
    if (ref.tag !== undefined && ref.digest === undefined) {
      const before = ctx.images.lookupRef(ref);
      upToDate = before === id;
      await ctx.images.setRef(ref, id);
    }
    const digestRef: Reference = { domain: ref.domain, path: ref.path, digest: top.digest };
    const hadDigestRef = ctx.images.lookupRef(digestRef) === id;
    await ctx.images.setRef(digestRef, id);
    if (ref.digest !== undefined) upToDate = hadDigestRef;

    trace('pull', 'recorded');
    progress({ status: `Digest: ${top.digest}` });
    progress({ status: `Status: ${upToDate ? 'Image is up to date' : 'Downloaded newer image'} for ${familiarString(ref)}` });
    ctx.emit({ Action: 'pull', id: familiarString(ref), attributes: { name: familiarName(ref) } });
    return { id, ref, digest: top.digest, upToDate };
  } catch (err) {
    // Unpin first: what this pull made is exactly what must now be collected.
    for (const k of pinned.splice(0)) ctx.pins.unpin(k);
    await collectGarbage(ctx, created).catch(() => undefined);
    // Whatever broke first (an aborted fetch, a destroyed stream), the cause is the cancel.
    if (signal?.aborted) throw cancelled(ref, err);
    throw err;
  } finally {
    for (const k of pinned) ctx.pins.unpin(k);
  }
}

/** dockerd's word for it is "context canceled"; said here with what was canceled and why. */
function cancelled(ref: Reference, cause?: unknown) {
  return unavailable(`the pull of ${familiarString(ref)} was canceled: the client went away`, cause);
}

function throwIfCancelled(signal: AbortSignal | undefined, ref: Reference): void {
  if (signal?.aborted) throw cancelled(ref);
}

async function storeBlob(ctx: ImageContext, body: Buffer, digest: string, created: string[]): Promise<void> {
  if (await ctx.content.has(digest)) return;
  await ctx.content.put(body, digest);
  created.push(digest);
}

/** Configs are small: fetched whole, verified, stored. */
async function fetchSmallBlob(
  ctx: ImageContext,
  client: RegistryClient,
  repo: { domain: string; path: string },
  desc: Descriptor,
  created: string[],
  signal?: AbortSignal,
): Promise<Buffer> {
  if (await ctx.content.has(desc.digest)) return ctx.content.read(desc.digest);
  if (desc.size > 16 * 1024 * 1024) throw invalidParameter(`the image config ${desc.digest} is too large (${desc.size} bytes)`);
  const { body } = await client.fetchBlob(repo, desc, signal);
  await ctx.content.ingest(body, desc.digest);
  created.push(desc.digest);
  return ctx.content.read(desc.digest);
}

async function layersSize(ctx: ImageContext, diffIDs: string[]): Promise<number> {
  let size = 0;
  for (const d of new Set(diffIDs)) size += (await ctx.layers.get(d))?.size ?? 0;
  return size;
}

async function fetchLayers(
  ctx: ImageContext,
  client: RegistryClient,
  repo: { domain: string; path: string },
  manifest: ImageManifest,
  diffIDs: string[],
  progress: ProgressSink,
  pin: (k: string) => void,
  created: { layers: string[]; blobs: string[] },
  signal?: AbortSignal,
): Promise<ImageLayer[]> {
  const layers: ImageLayer[] = [];
  const todo = new Map<string, { desc: Descriptor; diffID: string; haveLayer: boolean }>();
  for (const [i, desc] of manifest.layers.entries()) {
    const diffID = diffIDs[i]!;
    pin(diffID);
    pin(desc.digest);
    const haveLayer = await ctx.layers.has(diffID);
    // A layer we already hold (from another image, pulled or loaded) is not
    // fetched again: the image names the blob we have for it.
    const held = haveLayer && !(await ctx.content.has(desc.digest)) ? heldBlob(ctx, diffID) : undefined;
    layers.push({ diffID, blob: held ?? { digest: desc.digest, mediaType: desc.mediaType, size: desc.size } });
    if (todo.has(desc.digest)) continue;
    if (haveLayer && (held || (await ctx.content.has(desc.digest)))) {
      progress({ status: 'Already exists', progressDetail: {}, id: shortId(desc.digest) });
      continue;
    }
    todo.set(desc.digest, { desc, diffID, haveLayer });
  }
  // As dockerd: every layer is announced, those beyond the parallel limit wait.
  [...todo.keys()].forEach((digest, i) => {
    progress({ status: 'Pulling fs layer', progressDetail: {}, id: shortId(digest) });
    if (i >= DOWNLOAD_CONCURRENCY) progress({ status: 'Waiting', progressDetail: {}, id: shortId(digest) });
  });
  const jobs = [...todo.values()].map(({ desc, diffID, haveLayer }) => async () => {
    // A cancelled pull starts no more layers (those waiting their turn).
    if (signal?.aborted) throw new Error('cancelled');
    await downloadLayer(ctx, client, repo, desc, diffID, haveLayer, progress, created, signal);
    progress({ status: 'Pull complete', progressDetail: {}, id: shortId(desc.digest) });
  });
  await runLimited(jobs, DOWNLOAD_CONCURRENCY);
  return layers;
}

/** Downloads one layer blob and, unless already unpacked, unpacks it from the same stream. */
async function downloadLayer(
  ctx: ImageContext,
  client: RegistryClient,
  repo: { domain: string; path: string },
  desc: Descriptor,
  diffID: string,
  haveLayer: boolean,
  progress: ProgressSink,
  created: { layers: string[]; blobs: string[] },
  signal?: AbortSignal,
): Promise<void> {
  const id = shortId(desc.digest);
  trace(id, `fetch (diffID ${shortId(diffID)}, ${desc.size} bytes)`);
  const { body, size } = await client.fetchBlob(repo, desc, signal);
  trace(id, 'response headers');
  body.once('end', () => trace(id, 'last byte'));
  const meter = throttledProgress(progress, id, 'Downloading', size ?? desc.size);
  const [toStore, toUnpack] = tee(body, haveLayer ? 1 : 2);
  // A registry that stops sending mid-layer would otherwise hold this layer
  // (and every later pull of it, which waits on this one) forever.
  const stalled = setTimeout(() => {
    body.destroy(unavailable(`the registry stopped sending layer ${id} (nothing for ${Math.round(ctx.stallMs / 1000)} s); try the pull again`));
  }, ctx.stallMs);
  // The body's fetch is aborted too; destroying it here does not depend on how fetch ends it.
  const onAbort = () => body.destroy(new Error('cancelled'));
  signal?.addEventListener('abort', onAbort);
  if (signal?.aborted) onAbort();
  const storing = ctx.content
    .ingest(toStore!, desc.digest, (chunk) => {
      stalled.refresh();
      meter.add(chunk.length);
    })
    .then(() => {
      trace(id, 'blob stored');
      created.blobs.push(desc.digest);
    });
  // If this joins another pull's unpack of the layer and that one fails
  // (cancelled, say), it is unpacked again from the blob this pull stored.
  const again = () => storing.then(() => ctx.content.open(desc.digest));
  const unpacking = toUnpack
    ? ctx.layers.create(diffID, toUnpack, { maxBytes: ctx.maxLayerBytes, again }).then(() => {
        created.layers.push(diffID);
      })
    : Promise.resolve();
  const results = await Promise.allSettled([storing, unpacking]);
  clearTimeout(stalled);
  signal?.removeEventListener('abort', onAbort);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    const err = failure.reason;
    if (isEngineError(err)) throw err;
    throw invalidParameter(`failed to register layer ${id}: ${errorMessage(err)}`, err);
  }
  trace(id, 'layer done');
  meter.done();
  progress({ status: 'Verifying Checksum', progressDetail: {}, id });
  progress({ status: 'Download complete', progressDetail: {}, id });
  const total = (await ctx.layers.get(diffID))?.size ?? 0;
  progress({ status: 'Extracting', id, progressDetail: { current: total, total }, progress: '' });
}

/** The blob an image we hold keeps for this layer, if any. */
function heldBlob(ctx: ImageContext, diffID: string): ImageLayer['blob'] | undefined {
  for (const img of ctx.images.list()) {
    const l = img.layers.find((x) => x.diffID === diffID);
    if (l) return l.blob;
  }
  return undefined;
}

/** Runs async jobs with at most `limit` at once; rejects with the first failure after all settle. */
export async function runLimited(jobs: Array<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  let firstError: unknown;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      try {
        await job();
      } catch (err) {
        firstError ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  if (firstError !== undefined) throw firstError;
}

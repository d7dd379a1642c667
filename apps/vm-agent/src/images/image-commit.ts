/**
 * Making a new image from a parent (or none), an optional new layer and a
 * config: what `docker commit` and each build step do.
 *
 * Contract: the layer tar (plain, as packLayer writes it) is stored in the
 * content store and unpacked into the layer store before the record is
 * written; the image ID is the digest of the config as stored. The caller
 * gives the whole config except `rootfs` (the parent's diff IDs plus the new
 * layer's) — history included, so it decides how the step is described.
 * Nothing is tagged here. Blobs and layers stay pinned only while this runs:
 * once the record exists they are named by it.
 */
import type { Readable } from 'node:stream';
import { collectGarbage } from './gc.js';
import type { ImageContext } from './image-context.js';
import type { ImageLayer, ImageRecord } from './image-store.js';
import { PLAIN_LAYER_MEDIA_TYPE } from './layer-blob.js';
import type { ImageConfig } from './manifest.js';

/** An image config without `rootfs` (which the commit fills in); the known fields keep their types. */
export type ImageConfigBody = { [K in keyof ImageConfig as K extends 'rootfs' ? never : K]: ImageConfig[K] };

export interface CommitInput {
  parent: ImageRecord | undefined;
  /** The new layer (an uncompressed tar), or none for a metadata-only image. */
  layer?: Readable;
  /** Or a layer another image already has, added as it is (a build's --cache-from). */
  reuse?: ImageLayer;
  /** The new image's config; `rootfs` is filled in here. */
  config: ImageConfigBody;
}

export async function commitImage(ctx: ImageContext, input: CommitInput): Promise<ImageRecord> {
  const parentLayers = input.parent?.layers ?? [];
  let layer: ImageLayer | undefined;
  // What this commit stored, collected again if it fails (a full disk while unpacking, say).
  const made: { layers: string[]; blobs: string[] } = { layers: [], blobs: [] };
  try {
    if (input.layer) {
      const { digest, size } = await ctx.content.ingest(input.layer);
      ctx.pins.pin(digest);
      layer = { diffID: digest, blob: { digest, size, mediaType: PLAIN_LAYER_MEDIA_TYPE } };
      made.blobs.push(digest);
      made.layers.push(digest);
      await ctx.layers.create(digest, ctx.content.open(digest), { maxBytes: ctx.maxLayerBytes });
    }
    const added = layer ?? input.reuse;
    const layers = added ? [...parentLayers, added] : parentLayers;
    const config = { ...input.config, rootfs: { type: 'layers' as const, diff_ids: layers.map((l) => l.diffID) } };
    const id = await ctx.content.put(Buffer.from(JSON.stringify(config)));
    const existing = ctx.images.get(id);
    if (existing) return existing;
    made.blobs.push(id);
    let size = 0;
    for (const d of new Set(config.rootfs.diff_ids)) size += (await ctx.layers.get(d))?.size ?? 0;
    const record: ImageRecord = { id, layers, size, manifests: [], addedAt: new Date().toISOString(), ...(input.parent ? { parent: input.parent.id } : {}) };
    await ctx.images.add(record);
    return record;
  } catch (err) {
    // Unpinned first: what only this commit made is what must be collected (gc keeps what a record names).
    if (layer) ctx.pins.unpin(layer.diffID);
    layer = undefined;
    await collectGarbage(ctx, made).catch(() => undefined);
    throw err;
  } finally {
    if (layer) ctx.pins.unpin(layer.diffID);
  }
}

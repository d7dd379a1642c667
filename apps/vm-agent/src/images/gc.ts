import type { ImageContext } from './image-context.js';

/**
 * Removes layers and blobs no image record names and no operation in flight
 * has pinned. With `candidates`, only those are considered (after a failed
 * pull or a delete); without, everything is (at start-up, after a crash).
 * Returns the bytes of unpacked layers freed.
 */
export async function collectGarbage(ctx: ImageContext, candidates?: { layers?: string[]; blobs?: string[] }): Promise<number> {
  const usedLayers = new Set<string>();
  const usedBlobs = new Set<string>();
  for (const rec of ctx.images.list()) {
    usedBlobs.add(rec.id);
    for (const m of rec.manifests) usedBlobs.add(m);
    for (const l of rec.layers) {
      usedLayers.add(l.diffID);
      usedBlobs.add(l.blob.digest);
    }
  }
  let freed = 0;
  for (const diffID of candidates ? (candidates.layers ?? []) : await ctx.layers.list()) {
    if (usedLayers.has(diffID) || ctx.pins.has(diffID)) continue;
    const rec = await ctx.layers.get(diffID);
    await ctx.layers.delete(diffID);
    freed += rec?.size ?? 0;
  }
  for (const digest of candidates ? (candidates.blobs ?? []) : await ctx.content.list()) {
    if (usedBlobs.has(digest) || ctx.pins.has(digest)) continue;
    await ctx.content.delete(digest);
  }
  return freed;
}

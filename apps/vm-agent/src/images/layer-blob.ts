import { createGunzip, createGzip } from 'node:zlib';
import { Readable, Transform } from 'node:stream';
import type { ImageContext } from './image-context.js';
import type { BlobRef, ImageRecord } from './image-store.js';
import { MediaType } from './manifest.js';

const GZIP_MEDIA_TYPES: string[] = [MediaType.dockerLayerGzip, MediaType.dockerForeignLayerGzip, MediaType.ociLayerGzip, MediaType.ociLayerNondistGzip];
export const PLAIN_LAYER_MEDIA_TYPE = 'application/vnd.docker.image.rootfs.diff.tar';

export function isGzipLayer(blob: BlobRef): boolean {
  return GZIP_MEDIA_TYPES.includes(blob.mediaType);
}

/** The layer's plain tar, whose sha256 is its diff ID (for save). */
export function openPlainLayer(ctx: ImageContext, blob: BlobRef): Readable {
  const raw = ctx.content.open(blob.digest);
  return isGzipLayer(blob) ? raw.pipe(createGunzip()) : raw;
}

/**
 * A gzip blob for each layer, as registries want them: loaded and committed
 * layers are held plain and are compressed (once, then kept) on first push.
 * The image record is updated to name the compressed blob.
 */
export async function ensureCompressedLayers(ctx: ImageContext, img: ImageRecord): Promise<ImageRecord> {
  let changed = false;
  const layers = [];
  for (const l of img.layers) {
    if (isGzipLayer(l.blob)) {
      layers.push(l);
      continue;
    }
    const gz = ctx.content.open(l.blob.digest).pipe(createGzip({ level: 6 }));
    ctx.pins.pin(l.diffID);
    try {
      const { digest, size } = await ctx.content.ingest(gz);
      layers.push({ diffID: l.diffID, blob: { digest, size, mediaType: MediaType.dockerLayerGzip } });
    } finally {
      ctx.pins.unpin(l.diffID);
    }
    changed = true;
  }
  if (!changed) return img;
  const updated = { ...img, layers };
  await ctx.images.add(updated);
  return updated;
}

/** Counts bytes passing through, for progress. */
export function byteCounter(onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      onBytes(chunk.length);
      cb(null, chunk);
    },
  });
}

/**
 * `docker import`: an image of one layer made from a tar stream, as dockerd's
 * ImportImage makes it. The config holds the platform, the creation time, the
 * message as `comment` (and as the one history entry's), and a run config
 * only when `--change` gave one; the layer is the tar as sent, decompressed
 * if it was gzipped. Tagged when a reference is given; an `import` event
 * either way.
 *
 * Contract: nothing is kept of a failed import (commitImage collects what it
 * stored); the tar is unpacked with the same rules as any layer (bzip2, xz
 * and zstd are refused there, by name).
 */
import type { Readable } from 'node:stream';
import { maybeGunzip } from '../util/decompress.js';
import { commitImage, type ImageConfigBody } from './image-commit.js';
import type { ImageContext } from './image-context.js';
import type { ImageRecord } from './image-store.js';
import type { Platform } from './manifest.js';
import { familiarString, type Reference } from './reference.js';

export interface ImportInput {
  /** A tar, plain or gzipped. */
  archive: Readable;
  /** The run config `--change` made; absent, the image has none (as dockerd's). */
  config?: ImageConfigBody['config'];
  /** The `message`, or "Imported from -". */
  comment: string;
  platform: Platform;
  /** Tagged with this when given. */
  reference?: Reference;
}

export async function importImage(ctx: ImageContext, input: ImportInput): Promise<ImageRecord> {
  const created = new Date().toISOString();
  const { os, architecture, variant } = input.platform;
  // Gunzipped here so the layer's diff ID is the plain tar's digest; other compressions
  // are refused by the layer unpacker, which names them.
  const layer = maybeGunzip(input.archive);
  const image = await commitImage(ctx, {
    parent: undefined,
    layer,
    config: {
      architecture,
      os,
      ...(variant ? { variant } : {}),
      created,
      comment: input.comment,
      ...(input.config ? { config: input.config } : {}),
      history: [{ created, comment: input.comment }],
    },
  });
  if (input.reference) {
    await ctx.images.setRef(input.reference, image.id);
    ctx.emit({ Action: 'tag', id: image.id, attributes: { name: familiarString(input.reference) } });
  }
  ctx.emit({ Action: 'import', id: image.id });
  return image;
}

/**
 * `docker commit`: a new image whose layers are the container's image's
 * plus one made from the container's upper dir, and whose config is the
 * container's (Cmd, Env, WorkingDir...), with history and parent recorded.
 *
 * It writes through the image service's stores (content, layers, records);
 * an ImageService.commit would be the better home (see the report).
 */
import type { ImageService } from '../images/image-service.js';
import type { ImageLayer, ImageRecord } from '../images/image-store.js';
import { PLAIN_LAYER_MEDIA_TYPE } from '../images/layer-blob.js';
import { packLayer } from '../images/layer-pack.js';
import { familiarString, parseNormalizedNamed, withDefaultTag } from '../images/reference.js';
import type { ContainerRecord } from './container-types.js';

export interface CommitOptions {
  /** "repo" or "repo:tag"; untagged when absent. */
  reference?: string;
  comment?: string;
  author?: string;
}

export async function commitContainer(images: ImageService, rec: ContainerRecord, upperDir: string, opts: CommitOptions): Promise<string> {
  const ctx = images.ctx;
  const named = opts.reference ? withDefaultTag(parseNormalizedNamed(opts.reference)) : undefined; // a 400 before any work
  const parent: ImageRecord = images.resolve(rec.Image);
  const parentConfig = await images.config(parent.id);
  const { digest, size } = await ctx.content.ingest(packLayer(upperDir));
  ctx.pins.pin(digest);
  try {
    await ctx.layers.create(digest, ctx.content.open(digest), { maxBytes: ctx.maxLayerBytes });
    const layer: ImageLayer = { diffID: digest, blob: { digest, size, mediaType: PLAIN_LAYER_MEDIA_TYPE } };
    const created = new Date().toISOString();
    const { Hostname: _h, Domainname: _d, ...runConfig } = rec.Config;
    const config = {
      ...parentConfig,
      created,
      ...(opts.author ? { author: opts.author } : {}),
      ...(opts.comment ? { comment: opts.comment } : {}),
      container: rec.Id,
      config: { ...runConfig, Image: parent.id, Hostname: '', Domainname: '' },
      rootfs: { type: 'layers' as const, diff_ids: [...parentConfig.rootfs.diff_ids, digest] },
      history: [
        ...(parentConfig.history ?? []),
        { created, created_by: [rec.Path, ...rec.Args].join(' '), ...(opts.author ? { author: opts.author } : {}), ...(opts.comment ? { comment: opts.comment } : {}) },
      ],
    };
    const id = await ctx.content.put(Buffer.from(JSON.stringify(config)));
    let total = 0;
    for (const d of new Set(config.rootfs.diff_ids)) total += (await ctx.layers.get(d))?.size ?? 0;
    if (!ctx.images.get(id)) {
      await ctx.images.add({ id, layers: [...parent.layers, layer], size: total, manifests: [], addedAt: created, parent: parent.id });
    }
    if (named) {
      await ctx.images.setRef(named, id);
      ctx.emit({ Action: 'tag', id, attributes: { name: familiarString(named) } });
    }
    return id;
  } finally {
    ctx.pins.unpin(digest);
  }
}

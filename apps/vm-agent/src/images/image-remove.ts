import { conflict } from '../errors.js';
import { shortId } from './digest.js';
import { collectGarbage } from './gc.js';
import type { ImageContext } from './image-context.js';
import type { ImageRecord } from './image-store.js';
import { familiarString, looksLikeImageId, parseReference, withDefaultTag, type Reference } from './reference.js';

export interface DeleteResponseItem {
  Untagged?: string;
  Deleted?: string;
}

/** Which containers use an image; the engine answers, images/ knows nothing of containers. */
export type ImageUsage = (imageId: string) => { running: string[]; stopped: string[] };

/**
 * `docker rmi` as dockerd decides it: a name untags, and deletes the image
 * only when that was its last tag; an ID deletes the image with all its names
 * (refused without force when several repositories name it). An image a
 * container uses is never deleted: stopped ones can be forced to untag only,
 * running ones cannot be forced.
 */
export async function removeImage(ctx: ImageContext, term: string, opts: { force: boolean; prune: boolean }, usage: ImageUsage): Promise<DeleteResponseItem[]> {
  const img = ctx.images.resolve(term);
  const out: DeleteResponseItem[] = [];
  const used = usage(img.id);
  const byName = namedRef(term, img);

  if (byName) {
    const tags = ctx.images.tagsOf(img.id);
    const others = tags.filter((t) => familiarString(t) !== familiarString(byName));
    if (others.length > 0 || (byName.digest !== undefined && tags.length > 0)) {
      await untag(ctx, img, byName, out);
      // A repository left with only digest names loses those too, as dockerd does.
      if (!others.some((t) => t.domain === byName.domain && t.path === byName.path)) {
        for (const d of ctx.images.digestRefsOf(img.id)) if (d.domain === byName.domain && d.path === byName.path) await untag(ctx, img, d, out);
      }
      return out;
    }
    const user = used.running[0] ?? used.stopped[0];
    if (user !== undefined) {
      if (!opts.force) {
        throw conflict(
          `conflict: unable to remove repository reference "${term}" (must force) - container ${shortId(user)} is using its referenced image ${shortId(img.id)}`,
        );
      }
      await untag(ctx, img, byName, out);
      return out;
    }
  } else {
    const repos = new Set(
      ctx.images.refsOf(img.id).map((r) => {
        const p = parseReference(r);
        return `${p.domain}/${p.path}`;
      }),
    );
    if (repos.size > 1 && !opts.force) {
      throw conflict(`conflict: unable to delete ${shortId(img.id)} (must be forced) - image is referenced in multiple repositories`);
    }
    if (used.running.length > 0) {
      throw conflict(
        `conflict: unable to delete ${shortId(img.id)} (cannot be forced) - image is being used by running container ${shortId(used.running[0]!)}`,
      );
    }
    if (used.stopped.length > 0 && !opts.force) {
      throw conflict(`conflict: unable to delete ${shortId(img.id)} (must be forced) - image is being used by stopped container ${shortId(used.stopped[0]!)}`);
    }
    if (used.stopped.length > 0) {
      // Forced with a stopped user: untag everything, keep the image for the container.
      for (const r of ctx.images.refsOf(img.id)) await untag(ctx, img, parseReference(r), out);
      return out;
    }
  }
  const children = ctx.images.list().filter((r) => r.parent === img.id);
  if (children.length > 0) {
    throw conflict(`conflict: unable to delete ${shortId(img.id)} (cannot be forced) - image has dependent child images`);
  }
  for (const r of ctx.images.refsOf(img.id)) await untag(ctx, img, parseReference(r), out);
  await deleteRecord(ctx, img, out);
  if (opts.prune) await pruneParents(ctx, img, usage, out);
  return out;
}

/**
 * dockerd's rmi without --no-prune: the deleted image's parents go too, up
 * the chain (a build's intermediate images), while each is untagged, has no
 * other child and no container uses it; the first that is kept ends it,
 * quietly.
 */
async function pruneParents(ctx: ImageContext, img: ImageRecord, usage: ImageUsage, out: DeleteResponseItem[]): Promise<void> {
  for (let p = img.parent ? ctx.images.get(img.parent) : undefined; p !== undefined; p = p.parent ? ctx.images.get(p.parent) : undefined) {
    const used = usage(p.id);
    const parentId = p.id;
    if (ctx.images.refsOf(p.id).length > 0 || used.running.length + used.stopped.length > 0) return;
    if (ctx.images.list().some((r) => r.parent === parentId)) return;
    await deleteRecord(ctx, p, out);
  }
}

/** Deletes an untagged image record and collects what only it used. */
export async function deleteRecord(ctx: ImageContext, img: ImageRecord, out: DeleteResponseItem[]): Promise<number> {
  await ctx.images.remove(img.id);
  out.push({ Deleted: img.id });
  const before = new Set(await ctx.layers.list());
  const freed = await collectGarbage(ctx, {
    layers: img.layers.map((l) => l.diffID),
    blobs: [img.id, ...img.manifests, ...img.layers.map((l) => l.blob.digest)],
  });
  const after = new Set(await ctx.layers.list());
  for (const d of before) if (!after.has(d)) out.push({ Deleted: d });
  ctx.emit({ Action: 'delete', id: img.id });
  return freed;
}

async function untag(ctx: ImageContext, img: ImageRecord, ref: Reference, out: DeleteResponseItem[]): Promise<void> {
  if (await ctx.images.removeRef(ref)) {
    out.push({ Untagged: familiarString(ref) });
    ctx.emit({ Action: 'untag', id: img.id, attributes: { name: familiarString(ref) } });
  }
}

/** The reference a term names, if it is a name (not an ID) that points at `img`. */
function namedRef(term: string, img: ImageRecord): Reference | undefined {
  const bare = term.replace(/^sha256:/, '');
  if (looksLikeImageId(term) && img.id.slice(7).startsWith(bare)) return undefined;
  let ref: Reference;
  try {
    ref = withDefaultTag(parseReference(term));
  } catch {
    return undefined;
  }
  return ref;
}

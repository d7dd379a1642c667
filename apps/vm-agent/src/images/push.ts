import { notFound } from '../errors.js';
import { shortId } from './digest.js';
import type { ImageContext } from './image-context.js';
import type { ImageRecord } from './image-store.js';
import { byteCounter, ensureCompressedLayers } from './layer-blob.js';
import { MediaType, parseManifest } from './manifest.js';
import { throttledProgress, type ProgressSink } from './progress.js';
import { familiarName, familiarString, parseReference, type Reference } from './reference.js';
import type { RegistryClient, RegistryCredentials } from './registry-client.js';
import { runLimited } from './pull.js';

/**
 * Pushes `name` (with `tag`, or every tag of the repository when none is
 * given) as dockerd does: layers the registry has are skipped ("Layer
 * already exists"), blobs another repository on the same registry holds are
 * mounted, the rest uploaded and verified by the registry. A pulled image
 * keeps its manifest bytes, so its digest does not change.
 */
export async function pushImage(
  ctx: ImageContext,
  name: string,
  tag: string | undefined,
  progress: ProgressSink,
  credentials?: RegistryCredentials,
): Promise<void> {
  const repoRef = parseReference(name);
  const repo = { domain: repoRef.domain, path: repoRef.path };
  const tags: Reference[] = tag
    ? [{ ...repo, tag }]
    : ctx.images
        .list()
        .flatMap((img) => ctx.images.tagsOf(img.id))
        .filter((t) => t.domain === repo.domain && t.path === repo.path);
  if (tags.length === 0) throw notFound(`An image does not exist locally with the tag: ${familiarName(repo)}`);
  progress({ status: `The push refers to repository [${repoRef.domain}/${repoRef.path}]` });
  const client = ctx.registry(credentials);
  for (const t of tags) {
    const id = ctx.images.lookupRef(t);
    if (!id) throw notFound(`tag does not exist: ${familiarString(t)}`);
    const img = await ensureCompressedLayers(ctx, ctx.images.get(id)!);
    await pushOne(ctx, client, repo, t, img, progress);
  }
}

async function pushOne(
  ctx: ImageContext,
  client: RegistryClient,
  repo: { domain: string; path: string },
  ref: Reference,
  img: ImageRecord,
  progress: ProgressSink,
): Promise<void> {
  // Another repository on the same registry that names this image may hold the blobs: mount from it.
  const mountFrom = ctx.images
    .refsOf(img.id)
    .map((r) => parseReference(r))
    .find((r) => r.domain === repo.domain && r.path !== repo.path)?.path;
  const layers = [...new Map(img.layers.map((l) => [l.blob.digest, l.blob])).values()].reverse();
  for (const b of layers) progress({ status: 'Preparing', progressDetail: {}, id: shortId(b.digest) });
  await runLimited(
    layers.map((b) => async () => {
      const id = shortId(b.digest);
      if (await client.blobExists(repo, b.digest)) {
        progress({ status: 'Layer already exists', progressDetail: {}, id });
        return;
      }
      const meter = throttledProgress(progress, id, 'Pushing', b.size);
      const opts = mountFrom ? { mountFrom } : {};
      await client.uploadBlob(repo, b.digest, b.size, () => ctx.content.open(b.digest).pipe(byteCounter((n) => meter.add(n))), opts);
      meter.done();
      progress({ status: 'Pushed', progressDetail: {}, id });
    }),
    5,
  );
  const configSize = await ctx.content.size(img.id);
  if (!(await client.blobExists(repo, img.id))) {
    await client.uploadBlob(repo, img.id, configSize, () => ctx.content.open(img.id));
  }
  const { body, mediaType } = await manifestFor(ctx, img, configSize);
  const digest = await client.putManifest(repo, ref.tag!, mediaType, body);
  if (!(await ctx.content.has(digest))) await ctx.content.put(body, digest);
  if (!img.manifests.includes(digest)) await ctx.images.add({ ...img, manifests: [...img.manifests, digest] });
  await ctx.images.setRef({ ...repo, digest }, img.id);
  progress({ status: `${ref.tag}: digest: ${digest} size: ${body.length}` });
  progress({ progressDetail: {}, aux: { Tag: ref.tag, Digest: digest, Size: body.length } });
  ctx.emit({ Action: 'push', id: familiarString(ref), attributes: { name: familiarName(ref) } });
}

/** The image manifest we hold for this exact config and blobs, or a new Docker schema 2 one. */
async function manifestFor(ctx: ImageContext, img: ImageRecord, configSize: number): Promise<{ body: Buffer; mediaType: string }> {
  for (const d of img.manifests) {
    const body = await ctx.content.read(d).catch(() => undefined);
    if (!body) continue;
    let parsed;
    try {
      parsed = parseManifest(body, '');
    } catch {
      continue;
    }
    if (parsed.kind !== 'manifest') continue;
    const m = parsed.manifest;
    const same = m.config.digest === img.id && m.layers.length === img.layers.length && m.layers.every((l, i) => l.digest === img.layers[i]!.blob.digest);
    if (same) return { body, mediaType: m.mediaType ?? MediaType.dockerManifest };
  }
  // Layers pulled as OCI keep their media types, and then the manifest is OCI too.
  const oci = img.layers.some((l) => l.blob.mediaType.startsWith('application/vnd.oci.'));
  const mediaType = oci ? MediaType.ociManifest : MediaType.dockerManifest;
  const manifest = {
    schemaVersion: 2,
    mediaType,
    config: { mediaType: oci ? MediaType.ociConfig : MediaType.dockerConfig, size: configSize, digest: img.id },
    layers: img.layers.map((l) => ({ mediaType: l.blob.mediaType, size: l.blob.size, digest: l.blob.digest })),
  };
  return { body: Buffer.from(JSON.stringify(manifest, null, 3)), mediaType };
}

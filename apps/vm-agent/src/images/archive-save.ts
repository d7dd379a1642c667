import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { digestHex, sha256Digest } from './digest.js';
import type { ImageContext } from './image-context.js';
import type { ImageRecord } from './image-store.js';
import { isGzipLayer, openPlainLayer } from './layer-blob.js';
import { MediaType } from './manifest.js';
import { familiarString, referenceString, type Reference } from './reference.js';

export interface SaveItem {
  image: ImageRecord;
  /** The names asked for that point at this image (empty when asked by ID). */
  tags: Reference[];
}

/**
 * Writes images as a docker-archive tar (`docker save`), in the layout
 * dockerd 25+ writes, which is also an OCI image layout: `blobs/sha256/*`
 * (configs, plain layer tars whose digests are their diff IDs, manifests),
 * `manifest.json` for `docker load`, `index.json` and `oci-layout` for OCI
 * tools, and `repositories` for old clients. Every byte of a layer is what
 * the registry served (decompressed), so diff IDs hold on any engine.
 */
export function saveImages(ctx: ImageContext, items: SaveItem[], tmpRoot: string): Readable {
  const pack = tar.pack();
  const pinned = items.flatMap((i) => [i.image.id, ...i.image.layers.flatMap((l) => [l.diffID, l.blob.digest])]);
  pinned.forEach((k) => ctx.pins.pin(k));
  void (async () => {
    const tmp = await mkdtemp(join(tmpRoot, 'save-'));
    try {
      const written = new Set<string>();
      const manifestJson: unknown[] = [];
      const index: unknown[] = [];
      const repositories: Record<string, Record<string, string>> = {};
      const entry = (name: string, body: Buffer) =>
        new Promise<void>((res, rej) => pack.entry({ name, mode: 0o644, mtime: new Date(0) }, body, (e) => (e ? rej(e) : res())));
      for (const { image, tags } of items) {
        const configPath = `blobs/sha256/${digestHex(image.id)}`;
        const config = await ctx.content.read(image.id);
        if (!written.has(configPath)) {
          await entry(configPath, config);
          written.add(configPath);
        }
        const layerPaths: string[] = [];
        const ociLayers: unknown[] = [];
        for (const l of image.layers) {
          const path = `blobs/sha256/${digestHex(l.diffID)}`;
          layerPaths.push(path);
          const size = await writePlainLayer(ctx, pack, l, path, tmp, written);
          ociLayers.push({ mediaType: MediaType.ociLayer, digest: l.diffID, size });
        }
        const ociManifest = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: MediaType.ociManifest,
            config: { mediaType: MediaType.ociConfig, digest: image.id, size: config.length },
            layers: ociLayers,
          }),
        );
        const manifestDigest = sha256Digest(ociManifest);
        const manifestPath = `blobs/sha256/${digestHex(manifestDigest)}`;
        if (!written.has(manifestPath)) {
          await entry(manifestPath, ociManifest);
          written.add(manifestPath);
        }
        manifestJson.push({ Config: configPath, RepoTags: tags.length ? tags.map(familiarString) : null, Layers: layerPaths });
        const desc = { mediaType: MediaType.ociManifest, digest: manifestDigest, size: ociManifest.length };
        if (tags.length === 0) index.push(desc);
        for (const t of tags) {
          index.push({ ...desc, annotations: { 'io.containerd.image.name': referenceString(t), 'org.opencontainers.image.ref.name': t.tag } });
          (repositories[familiarString({ domain: t.domain, path: t.path })] ??= {})[t.tag!] = digestHex(image.layers.at(-1)?.diffID ?? image.id);
        }
      }
      await entry('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: index })));
      await entry('manifest.json', Buffer.from(JSON.stringify(manifestJson)));
      await entry('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
      if (Object.keys(repositories).length) await entry('repositories', Buffer.from(JSON.stringify(repositories)));
      pack.finalize();
    } catch (err) {
      pack.destroy(err as Error);
    } finally {
      pinned.forEach((k) => ctx.pins.unpin(k));
      await rm(tmp, { recursive: true, force: true });
    }
  })();
  // tar-stream's streams are streamx ones; hand Node a real Readable.
  return Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
}

/** A tar entry needs its size up front: gzip layers are decompressed to a temp file first. */
async function writePlainLayer(
  ctx: ImageContext,
  pack: tar.Pack,
  l: ImageRecord['layers'][number],
  path: string,
  tmp: string,
  written: Set<string>,
): Promise<number> {
  let file = ctx.content.path(l.blob.digest);
  if (isGzipLayer(l.blob)) {
    file = join(tmp, digestHex(l.diffID));
    await pipeline(openPlainLayer(ctx, l.blob), createWriteStream(file));
  }
  const size = (await stat(file)).size;
  if (written.has(path)) return size;
  written.add(path);
  await new Promise<void>((resolve, reject) => {
    const sink = pack.entry({ name: path, size, mode: 0o644, mtime: new Date(0) }, (e) => (e ? reject(e) : resolve()));
    createReadStream(file).on('error', reject).pipe(sink);
  });
  if (file.startsWith(tmp)) await rm(file, { force: true });
  return size;
}

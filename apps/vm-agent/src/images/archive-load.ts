import { posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable, type Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { invalidParameter } from '../errors.js';
import { maybeGunzip } from '../util/decompress.js';
import { finishDigest, newDigester } from './digest.js';
import { collectGarbage } from './gc.js';
import type { ImageContext } from './image-context.js';
import type { ImageLayer, ImageRecord } from './image-store.js';
import { PLAIN_LAYER_MEDIA_TYPE } from './layer-blob.js';
import { MediaType, parseImageConfig } from './manifest.js';
import { familiarString, parseNormalizedNamed } from './reference.js';

interface ManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/**
 * `docker load`: reads a docker-archive tar (plain or gzip), legacy or OCI
 * layout. Every file is streamed into the content store as it comes (its
 * digest computed on the way), then `manifest.json` says which blobs make
 * which image. Layers are verified against the config's diff IDs before
 * anything is recorded; on failure nothing the load made is kept.
 * `report` gets the lines the CLI prints ("Loaded image: busybox:latest").
 */
export async function loadImages(ctx: ImageContext, input: Readable, report: (line: string) => void): Promise<string[]> {
  const files = new Map<string, { digest: string; size: number }>();
  const links = new Map<string, string>();
  const created = { layers: [] as string[], blobs: [] as string[] };
  try {
    const extract = tar.extract();
    const reading = (async () => {
      for await (const entry of extract) {
        const name = archivePath(entry.header.name);
        if (entry.header.type === 'file' || entry.header.type === 'contiguous-file') {
          const { digest, size } = await ctx.content.ingest(entry as unknown as Readable);
          created.blobs.push(digest);
          files.set(name, { digest, size });
        } else {
          if (entry.header.type === 'symlink' && entry.header.linkname) {
            links.set(name, archivePath(posix.join(posix.dirname(name), entry.header.linkname)));
          }
          entry.resume();
        }
      }
    })();
    await Promise.all([pipeline(maybeGunzip(input), extract), reading]);

    const find = (path: string) => {
      const p = archivePath(path);
      const f = files.get(p) ?? files.get(links.get(p) ?? '');
      if (!f) throw invalidParameter(`invalid archive: ${path} is named in manifest.json but not in the archive`);
      return f;
    };
    const manifestFile = files.get('manifest.json');
    if (!manifestFile) throw invalidParameter('invalid archive: it has no manifest.json (is it a `docker save` archive?)');
    let manifest: ManifestEntry[];
    try {
      manifest = JSON.parse((await ctx.content.read(manifestFile.digest)).toString('utf8')) as ManifestEntry[];
      if (!Array.isArray(manifest)) throw new Error('not a list');
    } catch (err) {
      throw invalidParameter(`invalid archive: manifest.json is not valid: ${(err as Error).message}`);
    }

    const loaded: string[] = [];
    for (const m of manifest) {
      if (typeof m?.Config !== 'string' || !Array.isArray(m.Layers)) throw invalidParameter('invalid archive: manifest.json entry without Config or Layers');
      const configBlob = find(m.Config);
      const config = parseImageConfig(await ctx.content.read(configBlob.digest));
      const diffIDs = config.rootfs.diff_ids;
      if (diffIDs.length !== m.Layers.length) {
        throw invalidParameter(`invalid archive: ${m.Config} lists ${diffIDs.length} diff IDs but the manifest has ${m.Layers.length} layers`);
      }
      const layers: ImageLayer[] = [];
      for (const [i, path] of m.Layers.entries()) {
        const blob = find(path);
        const diffID = diffIDs[i]!;
        const plain = blob.digest === diffID;
        if (!plain && (await plainDigest(ctx, blob.digest)) !== diffID) {
          throw invalidParameter(`invalid archive: layer ${path} does not match diff ID ${diffID} of its image config`);
        }
        ctx.pins.pin(diffID);
        try {
          if (!(await ctx.layers.has(diffID))) {
            await ctx.layers.create(diffID, ctx.content.open(blob.digest), { maxBytes: ctx.maxLayerBytes });
            created.layers.push(diffID);
          }
        } finally {
          ctx.pins.unpin(diffID);
        }
        layers.push({ diffID, blob: { digest: blob.digest, size: blob.size, mediaType: plain ? PLAIN_LAYER_MEDIA_TYPE : MediaType.dockerLayerGzip } });
      }
      const id = configBlob.digest;
      const existing = ctx.images.get(id);
      let size = 0;
      for (const d of new Set(diffIDs)) size += (await ctx.layers.get(d))?.size ?? 0;
      const record: ImageRecord = existing ?? { id, layers, size, manifests: [], addedAt: new Date().toISOString() };
      await ctx.images.add(record);
      const tags = (m.RepoTags ?? []).map((t) => parseNormalizedNamed(t));
      for (const t of tags) {
        const before = await ctx.images.setRef(t, id);
        if (before !== undefined) report(`The image ${familiarString(t)} already exists, renaming the old one with ID ${before} to empty string`);
        report(`Loaded image: ${familiarString(t)}`);
      }
      if (tags.length === 0) report(`Loaded image ID: ${id}`);
      ctx.emit({ Action: 'load', id });
      loaded.push(id);
    }
    // The archive's own metadata files (manifest.json, index.json, ...) are not kept.
    await collectGarbage(ctx, { blobs: created.blobs });
    return loaded;
  } catch (err) {
    await collectGarbage(ctx, created).catch(() => undefined);
    throw err;
  }
}

/** Archive member names, normalized; names that climb out are refused. */
function archivePath(name: string): string {
  const p = posix.normalize(name.replace(/^\.?\/+/, ''));
  if (p.startsWith('../') || p === '..' || posix.isAbsolute(p))
    throw invalidParameter(`invalid archive: entry ${JSON.stringify(name)} points outside the archive`);
  return p.replace(/\/$/, '');
}

/** sha256 of a blob's decompressed bytes. */
async function plainDigest(ctx: ImageContext, digest: string): Promise<string> {
  const h = newDigester();
  await pipeline(
    maybeGunzip(ctx.content.open(digest)),
    new Writable({
      write(chunk: Buffer, _e, cb) {
        h.update(chunk);
        cb();
      },
    }),
  );
  return finishDigest(h);
}

import { join } from 'node:path';
import { notFound } from '../errors.js';
import { ContentStore } from './content-store.js';
import { collectGarbage } from './gc.js';
import { Pins, type ImageContext, type ImageEventInput } from './image-context.js';
import { deleteRecord, removeImage, type DeleteResponseItem, type ImageUsage } from './image-remove.js';
import { ImageStore, type ImageRecord } from './image-store.js';
import { LayerStore } from './layer-store.js';
import { parseImageConfig, type ImageConfig } from './manifest.js';
import { pullImage, type PullResult } from './pull.js';
import type { ProgressSink } from './progress.js';
import { familiarString, parseNormalizedNamed, parseReference } from './reference.js';
import { RegistryClient, type RegistryCredentials } from './registry-client.js';

export interface ImageServiceOptions {
  /** Where images live: `<data-root>/images`. */
  root: string;
  emit: (ev: ImageEventInput) => void;
  userAgent: string;
  maxLayerBytes?: number;
}

/**
 * Everything about images, behind one object the API and the engine call.
 * The parts (stores, pull, push, archives) are separate files; this wires
 * them to one context and answers the questions that need several of them.
 */
export class ImageService {
  readonly ctx: ImageContext;
  private readonly configs = new Map<string, ImageConfig>();
  private usage: ImageUsage = () => ({ running: [], stopped: [] });

  constructor(opts: ImageServiceOptions) {
    const clients = new Map<string, RegistryClient>();
    this.ctx = {
      content: new ContentStore(opts.root),
      layers: new LayerStore(opts.root),
      images: new ImageStore(opts.root),
      registry: (credentials?: RegistryCredentials) => {
        // One client (and token cache) per credential set.
        const key = JSON.stringify(credentials ?? null);
        let c = clients.get(key);
        if (!c) {
          c = new RegistryClient({ credentials: () => credentials, userAgent: opts.userAgent });
          clients.set(key, c);
        }
        return c;
      },
      emit: opts.emit,
      pins: new Pins(),
      maxLayerBytes: opts.maxLayerBytes ?? 64 * 1024 ** 3,
    };
  }

  /** Opens the stores and removes what a crash left half made. */
  async init(): Promise<void> {
    await this.ctx.content.init();
    await this.ctx.layers.init();
    await this.ctx.content.sweep();
    await this.ctx.layers.sweep();
    await this.ctx.images.init();
    await collectGarbage(this.ctx);
  }

  /** The engine tells which containers use an image (for rmi and prune). */
  setUsage(usage: ImageUsage): void {
    this.usage = usage;
  }

  list(): ImageRecord[] {
    return this.ctx.images.list();
  }

  resolve(term: string): ImageRecord {
    return this.ctx.images.resolve(term);
  }

  async config(id: string): Promise<ImageConfig> {
    let c = this.configs.get(id);
    if (!c) {
      c = parseImageConfig(await this.ctx.content.read(id));
      this.configs.set(id, c);
    }
    return c;
  }

  pull(name: string, progress: ProgressSink, credentials?: RegistryCredentials): Promise<PullResult> {
    return pullImage(this.ctx, name, progress, credentials);
  }

  /** `docker tag SOURCE TARGET`. */
  async tag(source: string, target: string): Promise<void> {
    const img = this.resolve(source);
    const ref = parseReference(target);
    if (ref.digest !== undefined) throw notFound(`refusing to create a tag with a digest reference`);
    const named = parseNormalizedNamed(target);
    await this.ctx.images.setRef(named, img.id);
    this.ctx.emit({ Action: 'tag', id: img.id, attributes: { name: familiarString(named) } });
  }

  remove(term: string, opts: { force: boolean; prune: boolean }): Promise<DeleteResponseItem[]> {
    return removeImage(this.ctx, term, opts, this.usage);
  }

  /**
   * `docker image prune`: dangling images (no tags), or with `all` every
   * image no container uses. `keep` filters (until, label) are the caller's.
   */
  async prune(opts: { all: boolean; keep: (img: ImageRecord) => boolean }): Promise<{ deleted: DeleteResponseItem[]; reclaimed: number }> {
    const deleted: DeleteResponseItem[] = [];
    let reclaimed = 0;
    for (const img of this.list()) {
      const used = this.usage(img.id);
      if (used.running.length + used.stopped.length > 0) continue;
      const tags = this.ctx.images.tagsOf(img.id);
      if (!opts.all && tags.length > 0) continue;
      if (!opts.keep(img)) continue;
      if (this.list().some((r) => r.parent === img.id)) continue;
      for (const r of this.ctx.images.refsOf(img.id)) {
        await this.ctx.images.removeRef(parseReference(r));
        deleted.push({ Untagged: familiarString(parseReference(r)) });
      }
      reclaimed += await deleteRecord(this.ctx, img, deleted);
    }
    this.ctx.emit({ Action: 'prune', id: '', attributes: { reclaimed: String(reclaimed) } });
    return { deleted, reclaimed };
  }

  /** Unique bytes of all unpacked layers (`docker system df`). */
  async layersSize(): Promise<number> {
    let total = 0;
    for (const d of await this.ctx.layers.list()) total += (await this.ctx.layers.get(d))?.size ?? 0;
    return total;
  }

  /** The directories to stack for a container's rootfs, lowest first. */
  layerDirs(img: ImageRecord): string[] {
    return img.layers.map((l) => this.ctx.layers.diffDir(l.diffID));
  }

  static rootFor(dataRoot: string): string {
    return join(dataRoot, 'images');
  }
}

import { join } from 'node:path';
import { mkdir, rm } from 'node:fs/promises';
import { notFound } from '../errors.js';
import { ContentStore } from './content-store.js';
import { collectGarbage } from './gc.js';
import { Pins, type ImageContext, type ImageEventInput } from './image-context.js';
import { deleteRecord, removeImage, type DeleteResponseItem, type ImageUsage } from './image-remove.js';
import { ImageStore, type ImageRecord } from './image-store.js';
import { LayerStore } from './layer-store.js';
import { parseImageConfig, type ImageConfig, type Platform } from './manifest.js';
import { pullImage, type PullResult } from './pull.js';
import { pushImage } from './push.js';
import { saveImages } from './archive-save.js';
import { commitImage, type CommitInput } from './image-commit.js';
import { loadImages } from './archive-load.js';
import { importImage, type ImportInput } from './image-import.js';
import type { Readable } from 'node:stream';
import type { ProgressSink } from './progress.js';
import { familiarString, parseNormalizedNamed, parseReference, type Reference } from './reference.js';
import { RegistryClient, type RegistryCredentials } from './registry-client.js';

export interface ImageServiceOptions {
  /** Where images live: `<data-root>/images`. */
  root: string;
  emit: (ev: ImageEventInput) => void;
  userAgent: string;
  maxLayerBytes?: number;
  stallMs?: number;
  /** In the VM: where the host's loopback is reached (RegistryClient loopbackGateway). */
  loopbackGateway?: string;
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

  private readonly root: string;

  constructor(opts: ImageServiceOptions) {
    this.root = opts.root;
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
          c = new RegistryClient({
            credentials: () => credentials,
            userAgent: opts.userAgent,
            ...(opts.loopbackGateway ? { loopbackGateway: opts.loopbackGateway } : {}),
          });
          clients.set(key, c);
        }
        return c;
      },
      emit: opts.emit,
      pins: new Pins(),
      maxLayerBytes: opts.maxLayerBytes ?? 64 * 1024 ** 3,
      stallMs: opts.stallMs ?? 60_000,
    };
  }

  /** Opens the stores and removes what a crash left half made. */
  async init(): Promise<void> {
    await this.ctx.content.init();
    await this.ctx.layers.init();
    await this.ctx.content.sweep();
    await this.ctx.layers.sweep();
    await this.ctx.images.init();
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true });
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

  /** `signal`: the client went away; the pull stops and keeps nothing (pull.ts). */
  pull(name: string, progress: ProgressSink, credentials?: RegistryCredentials, signal?: AbortSignal, platform?: Platform): Promise<PullResult> {
    return pullImage(this.ctx, name, progress, credentials, signal, platform);
  }

  push(name: string, tag: string | undefined, progress: ProgressSink, credentials?: RegistryCredentials): Promise<void> {
    return pushImage(this.ctx, name, tag, progress, credentials);
  }

  /** `docker save`: each term is a name (saved with that tag) or an ID (saved untagged). */
  save(terms: string[]): Readable {
    const byId = new Map<string, { image: ImageRecord; tags: Reference[] }>();
    for (const term of terms) {
      const image = this.resolve(term);
      const item = byId.get(image.id) ?? { image, tags: [] };
      byId.set(image.id, item);
      const name = safeName(term);
      const ref = name === undefined ? undefined : parseNormalizedNamed(name);
      const named = ref !== undefined && ref.digest === undefined && this.ctx.images.lookupRef(ref) === image.id;
      if (named && !item.tags.some((t) => familiarString(t) === familiarString(ref))) item.tags.push(ref);
    }
    return saveImages(this.ctx, [...byId.values()], this.tmpDir);
  }

  load(input: Readable, report: (line: string) => void): Promise<string[]> {
    return loadImages(this.ctx, input, report);
  }

  /** `docker login`: checks the credentials against the registry (POST /auth). */
  login(serverAddress: string, credentials: RegistryCredentials): Promise<{ status: string; identityToken?: string }> {
    return this.ctx.registry(credentials).login(registryDomain(serverAddress), credentials);
  }

  /** A new untagged image: `parent` plus an optional layer tar, with the given config (commit, build steps). */
  commit(input: CommitInput): Promise<ImageRecord> {
    return commitImage(this.ctx, input);
  }

  /** `docker import`: a one-layer image from a tar stream. */
  import(input: ImportInput): Promise<ImageRecord> {
    return importImage(this.ctx, input);
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

  private get tmpDir(): string {
    return join(this.root, 'tmp');
  }

  static rootFor(dataRoot: string): string {
    return join(dataRoot, 'images');
  }
}

/** A term that parses as a reference, or undefined for IDs and junk. */
function safeName(term: string): string | undefined {
  try {
    parseNormalizedNamed(term);
    return term;
  } catch {
    return undefined;
  }
}

/** `docker login` sends `https://index.docker.io/v1/`, `127.0.0.1:5000` or a URL; we want the domain. */
export function registryDomain(serverAddress: string): string {
  let d = serverAddress
    .trim()
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '');
  if (d === '' || d === 'index.docker.io' || d === 'registry-1.docker.io') d = 'docker.io';
  return d;
}

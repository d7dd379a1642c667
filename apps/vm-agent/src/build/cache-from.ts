/**
 * `--cache-from` (POST /build `cachefrom`) as dockerd's classic builder
 * applies it (moby's image/cache, ImageCache): the images named are cache
 * sources, typically pulled or loaded results of an earlier build on another
 * machine, which carry no build cache of their own, only their history.
 *
 * - A step hits when a source's history begins with the current image's
 *   history and layers (entry for entry) and its next entry was made by the
 *   same step (`created_by` equal). When that entry is the source's last,
 *   the build moves to the source image itself (and the source gets the
 *   current image as its parent); otherwise an image is made from the
 *   current one plus that entry and the layer it added, and only that source
 *   is followed for the rest of the stage.
 * - With sources given, the local cache counts only where its image is an
 *   ancestor of a source: a build with --cache-from builds what the sources
 *   hold, not whatever happened to be built here before.
 * - A name that resolves to no image here is skipped with a warning (dockerd
 *   logs it and goes on); nothing is pulled.
 * - Each FROM starts again from every source.
 *
 * One difference, on purpose: dockerd gives a made image the step's probe
 * config, so a build that ends on such an image runs the last RUN's command
 * as its Cmd (moby/moby#37273). Here it gets the config the step itself
 * would have committed.
 */
import type { ImageService } from '../images/image-service.js';
import type { ImageLayer, ImageRecord } from '../images/image-store.js';
import type { HistoryEntry } from './build-stages.js';

interface Source {
  image: ImageRecord;
  history: HistoryEntry[];
}

/** The current image of a stage, as the probe compares it (undefined: nothing yet, FROM scratch). */
export interface ProbeParent {
  image: ImageRecord | undefined;
  history: HistoryEntry[];
}

export type CacheFromHit =
  /** The step completes the source: the build continues from the source as it is. */
  | { kind: 'source'; image: ImageRecord }
  /** The step is one entry of the source's history: an image is made of the parent, this entry and its layer. */
  | { kind: 'entry'; entry: HistoryEntry; layer: ImageLayer | undefined };

export class CacheFrom {
  #sources: Source[];

  private constructor(
    private readonly images: ImageService,
    private readonly all: Source[],
  ) {
    this.#sources = all;
  }

  /** Resolves the names; `warn` is told of each one that names no image here. */
  static async open(images: ImageService, names: string[], warn: (text: string) => void): Promise<CacheFrom> {
    const sources: Source[] = [];
    for (const name of names) {
      const image = images.ctx.images.tryResolve(name);
      if (!image) {
        warn(`[Warning] cache-from ${name}: no such image here, so it is not used as a cache source (pull or load it first)\n`);
        continue;
      }
      sources.push({ image, history: (await images.config(image.id)).history ?? [] });
    }
    return new CacheFrom(images, sources);
  }

  /** A new stage (FROM) may match any source again. */
  reset(): void {
    this.#sources = this.all;
  }

  /** Whether a local cache hit is usable: it must be an ancestor (parent, its parent, ...) of a source. */
  admitsLocal(id: string): boolean {
    return this.#sources.some((s) => {
      const seen = new Set<string>();
      for (let p = s.image.parent; p !== undefined && !seen.has(p); p = this.images.ctx.images.get(p)?.parent) {
        if (p === id) return true;
        seen.add(p);
      }
      return false;
    });
  }

  /** The source entry made by a step `createdBy` run on `parent`, if a source has one. */
  probe(parent: ProbeParent, createdBy: string): CacheFromHit | undefined {
    const n = parent.history.length;
    for (const s of this.#sources) {
      if (!continues(s, parent) || s.history[n]!.created_by !== createdBy) continue;
      if (n === s.history.length - 1) return { kind: 'source', image: s.image };
      const entry = s.history[n]!;
      const layer = entry.empty_layer ? undefined : s.image.layers[layersBefore(s.history, n)];
      if (!entry.empty_layer && !layer) continue; // a history that names more layers than the image has
      this.#sources = [s]; // as dockerd: follow this source only, never jump to another mid-stage
      return { kind: 'entry', entry, layer };
    }
    return undefined;
  }
}

/** dockerd's isValidParent: the source's history and layers begin with the parent's, and go on past them. */
function continues(s: Source, parent: ProbeParent): boolean {
  if (s.history.length === 0) return false;
  const layers = parent.image?.layers ?? [];
  if (parent.history.length === 0 && layers.length === 0) return true;
  if (parent.history.length >= s.history.length || layers.length > s.image.layers.length) return false;
  return parent.history.every((h, i) => sameEntry(h, s.history[i]!)) && layers.every((l, i) => l.diffID === s.image.layers[i]!.diffID);
}

function sameEntry(a: HistoryEntry, b: HistoryEntry): boolean {
  return (
    a.created === b.created && a.created_by === b.created_by && a.author === b.author && a.comment === b.comment && (a.empty_layer ?? false) === (b.empty_layer ?? false)
  );
}

/** How many layers the entries before `index` added. */
function layersBefore(history: HistoryEntry[], index: number): number {
  return history.slice(0, index).filter((h) => !h.empty_layer).length;
}

import type { ContentStore } from './content-store.js';
import type { ImageStore } from './image-store.js';
import type { LayerStore } from './layer-store.js';
import type { RegistryClient, RegistryCredentials } from './registry-client.js';

/** An image event for the engine's bus (`docker events`); the composition root wires it. */
export interface ImageEventInput {
  Action: 'pull' | 'push' | 'tag' | 'untag' | 'delete' | 'load' | 'save' | 'import' | 'prune';
  id: string;
  attributes?: Record<string, string>;
}

/**
 * What the image operations share. Pins protect blobs and layers an
 * operation in flight has made but not yet recorded from garbage collection.
 */
export interface ImageContext {
  content: ContentStore;
  layers: LayerStore;
  images: ImageStore;
  registry(credentials?: RegistryCredentials): RegistryClient;
  emit(ev: ImageEventInput): void;
  pins: Pins;
  /** Upper bound for one layer's uncompressed size (a gzip bomb stops there). */
  maxLayerBytes: number;
  /** A layer download that receives nothing for this long fails (a stalled registry must not hold the layer forever). */
  stallMs: number;
}

export class Pins {
  private readonly counts = new Map<string, number>();
  pin(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
  unpin(key: string): void {
    const n = (this.counts.get(key) ?? 0) - 1;
    if (n <= 0) this.counts.delete(key);
    else this.counts.set(key, n);
  }
  has(key: string): boolean {
    return this.counts.has(key);
  }
}

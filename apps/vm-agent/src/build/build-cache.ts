/**
 * The layer cache: which image a build step produced, keyed by what decides
 * its result (the parent image, the step as it ran with its variables
 * expanded, and for COPY/ADD the hash of the files copied).
 *
 * Persisted as one JSON file (`<data-root>/build/cache.json`, written
 * atomically) so hits survive agent restarts. An entry is only as good as
 * its image: entries whose image is gone are dropped on load and on lookup.
 */
import { createHash } from 'node:crypto';
import { readJsonIfExists, writeJsonAtomic } from '../util/atomic-file.js';

interface CacheFile {
  version: 1;
  entries: Record<string, string>;
}

export class BuildCache {
  private entries = new Map<string, string>();
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly imageExists: (id: string) => boolean,
  ) {}

  async load(): Promise<void> {
    const saved = await readJsonIfExists<CacheFile>(this.file).catch(() => undefined);
    const entries = saved?.version === 1 ? Object.entries(saved.entries) : [];
    this.entries = new Map(entries.filter(([, id]) => this.imageExists(id)));
    if (this.entries.size !== entries.length) await this.save();
  }

  static key(parts: unknown[]): string {
    return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
  }

  /** The image an earlier identical step made, if it still exists. */
  get(key: string): string | undefined {
    const id = this.entries.get(key);
    if (id === undefined) return undefined;
    if (this.imageExists(id)) return id;
    this.entries.delete(key);
    void this.save();
    return undefined;
  }

  async set(key: string, imageId: string): Promise<void> {
    this.entries.set(key, imageId);
    await this.save();
  }

  /** Forgets every entry (`docker builder prune`); returns the image IDs they named. */
  async clear(): Promise<string[]> {
    const ids = [...new Set(this.entries.values())];
    this.entries.clear();
    await this.save();
    return ids;
  }

  private save(): Promise<void> {
    const next = this.writes.then(() => writeJsonAtomic(this.file, { version: 1, entries: Object.fromEntries(this.entries) } satisfies CacheFile));
    this.writes = next.catch(() => undefined);
    return next;
  }
}

import { mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errorMessage, invalidParameter, notFound } from '../errors.js';
import { readJsonIfExists, sweepTempFiles, writeJsonAtomic } from '../util/atomic-file.js';
import { digestHex } from './digest.js';
import { parseNormalizedNamed, parseReference, referenceString, withDefaultTag, familiarString, type Reference } from './reference.js';

export interface BlobRef {
  digest: string;
  mediaType: string;
  size: number;
}

export interface ImageLayer {
  diffID: string;
  /** A tar of this layer we hold in the content store (gzip as pulled, or plain as loaded). */
  blob: BlobRef;
}

/** What the engine keeps about an image; the config itself is the blob named by `id`. */
export interface ImageRecord {
  /** The image ID: the digest of its config. */
  id: string;
  layers: ImageLayer[];
  /** Sum of the unpacked layers' sizes. */
  size: number;
  /** Manifests (and indexes) kept for RepoDigests and push. */
  manifests: string[];
  /** When this engine got the image (RFC 3339). */
  addedAt: string;
  /** The image a commit or build started from, as dockerd reports `Parent`. */
  parent?: string;
}

/**
 * Image records and the names that point at them.
 *
 * Layout: `records/<hex>.json` per image, `repositories.json` mapping full
 * reference strings (`docker.io/library/busybox:latest`, or with
 * `@sha256:...`) to image IDs. Each mutation rewrites the file atomically;
 * writes are serialized so concurrent API calls cannot lose an update.
 */
export class ImageStore {
  private readonly recordsDir: string;
  private readonly refsFile: string;
  private readonly records = new Map<string, ImageRecord>();
  private refs = new Map<string, string>();
  private writes: Promise<void> = Promise.resolve();

  constructor(root: string) {
    this.recordsDir = join(root, 'records');
    this.refsFile = join(root, 'repositories.json');
  }

  async init(): Promise<void> {
    await mkdir(this.recordsDir, { recursive: true });
    // A crash mid-write leaves the temp file of a record or of the names; the old content stands.
    await sweepTempFiles(this.recordsDir);
    await sweepTempFiles(dirname(this.refsFile));
    for (const name of await readdir(this.recordsDir)) {
      if (!/^[a-f0-9]{64}\.json$/.test(name)) continue;
      const rec = await readJsonIfExists<ImageRecord>(join(this.recordsDir, name));
      if (rec) this.records.set(rec.id, rec);
    }
    const saved = await readJsonIfExists<{ refs: Record<string, string> }>(this.refsFile);
    // A name pointing at a record that never got written (crash) is dropped.
    this.refs = new Map(Object.entries(saved?.refs ?? {}).filter(([, id]) => this.records.has(id)));
  }

  list(): ImageRecord[] {
    return [...this.records.values()];
  }

  get(id: string): ImageRecord | undefined {
    return this.records.get(id);
  }

  /** Full reference strings pointing at `id`, sorted. */
  refsOf(id: string): string[] {
    return [...this.refs.entries()]
      .filter(([, v]) => v === id)
      .map(([k]) => k)
      .sort();
  }

  tagsOf(id: string): Reference[] {
    return this.refsOf(id)
      .map((r) => parseReference(r))
      .filter((r) => r.tag !== undefined && r.digest === undefined);
  }

  digestRefsOf(id: string): Reference[] {
    return this.refsOf(id)
      .map((r) => parseReference(r))
      .filter((r) => r.digest !== undefined);
  }

  lookupRef(ref: Reference): string | undefined {
    return this.refs.get(referenceString(ref));
  }

  /**
   * Finds an image as dockerd does: a full or short ID (with or without
   * `sha256:`), or a name (`busybox` means `busybox:latest`), or a digest
   * reference. Throws not-found with `No such image: <term>`.
   */
  /**
   * An image by ID, ID prefix or reference; 404 when none matches. A term
   * that is neither an ID nor a valid reference is a 400 with the parser's
   * words (`invalid reference format: ...`), as dockerd's GetImage says.
   */
  resolve(term: string): ImageRecord {
    const found = this.tryResolve(term);
    if (found) return found;
    const bare = term.startsWith('sha256:') ? term.slice(7) : term;
    if (!/^[a-f0-9]{1,64}$/.test(bare)) {
      try {
        parseReference(term);
      } catch (err) {
        throw invalidParameter(errorMessage(err), err);
      }
    }
    throw notFound(`No such image: ${displayTerm(term)}`);
  }

  tryResolve(term: string): ImageRecord | undefined {
    const bare = term.startsWith('sha256:') ? term.slice(7) : term;
    if (/^[a-f0-9]{64}$/.test(bare)) {
      const rec = this.records.get(`sha256:${bare}`);
      if (rec) return rec;
    }
    let ref: Reference | undefined;
    try {
      ref = withDefaultTag(parseReference(term));
    } catch {
      ref = undefined;
    }
    if (ref) {
      const id = this.lookupRef(ref);
      if (id) return this.records.get(id);
      // A digest reference also matches an image we hold under another name
      // but with the same manifest (dockerd resolves by digest across repos).
    }
    if (/^[a-f0-9]{1,64}$/.test(bare) && !term.includes(':')) {
      const matches = [...this.records.keys()].filter((id) => id.slice(7).startsWith(bare));
      if (matches.length === 1) return this.records.get(matches[0]!);
      if (matches.length > 1) throw invalidParameter(`image ID prefix ${bare} is ambiguous: it matches ${matches.length} images`);
    }
    return undefined;
  }

  async add(record: ImageRecord): Promise<void> {
    await this.serialized(async () => {
      await writeJsonAtomic(this.recordPath(record.id), record);
      this.records.set(record.id, record);
    });
  }

  /** Points `ref` at `id`; returns the image ID the name pointed at before, if another. */
  async setRef(ref: Reference, id: string): Promise<string | undefined> {
    if (!this.records.has(id)) throw notFound(`No such image: ${id}`);
    const key = referenceString(ref);
    const before = this.refs.get(key);
    if (before === id) return undefined;
    await this.serialized(async () => {
      this.refs.set(key, id);
      await this.saveRefs();
    });
    return before;
  }

  async removeRef(ref: Reference): Promise<boolean> {
    const key = referenceString(ref);
    if (!this.refs.has(key)) return false;
    await this.serialized(async () => {
      this.refs.delete(key);
      await this.saveRefs();
    });
    return true;
  }

  /** Removes the record and every name pointing at it. Blobs and layers are the caller's to collect. */
  async remove(id: string): Promise<void> {
    await this.serialized(async () => {
      for (const [k, v] of this.refs) if (v === id) this.refs.delete(k);
      await this.saveRefs();
      this.records.delete(id);
      await rm(this.recordPath(id), { force: true });
    });
  }

  private recordPath(id: string): string {
    return join(this.recordsDir, `${digestHex(id)}.json`);
  }

  private async saveRefs(): Promise<void> {
    await writeJsonAtomic(this.refsFile, { refs: Object.fromEntries([...this.refs.entries()].sort()) });
  }

  private serialized(fn: () => Promise<void>): Promise<void> {
    const next = this.writes.then(fn);
    this.writes = next.catch(() => undefined);
    return next;
  }
}

/** dockerd names a missing image with its tag: `No such image: busybox:latest`. */
function displayTerm(term: string): string {
  try {
    const ref = parseNormalizedNamed(term);
    if (/^(sha256:)?[a-f0-9]{1,64}$/.test(term)) return term;
    return familiarString(ref);
  } catch {
    return term;
  }
}

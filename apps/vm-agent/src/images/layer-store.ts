import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { errnoCode, invalidParameter } from '../errors.js';
import { readJsonIfExists, writeJsonAtomic } from '../util/atomic-file.js';
import { trace, TraceTotals } from '../util/trace.js';
import { digestHex, shortId } from './digest.js';
import { unpackLayer } from './layer-unpack.js';

export interface LayerRecord {
  diffID: string;
  /** Bytes of content in the unpacked layer (what `docker images` sums). */
  size: number;
}

/**
 * Unpacked layers, one directory per diff ID, ready to be overlayfs lower
 * layers. Keyed by diff ID, not chain ID: an overlay lower dir holds one
 * layer's own changes, identical whatever sits below it, so identical diffs
 * are shared by every image.
 *
 * Contract: `layers/<hex>/layer.json` exists only for a layer unpacked whole
 * and verified against its diff ID. Unpacking happens in `layers/.tmp-*` and
 * is renamed into place; a crash leaves only tmp dirs, removed by `sweep()`.
 */
export class LayerStore {
  private readonly dir: string;
  private readonly inflight = new Map<string, Promise<LayerRecord>>();

  constructor(root: string) {
    this.dir = join(root, 'layers');
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  async sweep(): Promise<void> {
    for (const name of await readdir(this.dir)) {
      if (name.startsWith('.tmp-')) await rm(join(this.dir, name), { recursive: true, force: true });
    }
  }

  /** The directory to use as an overlayfs lower layer. */
  diffDir(diffID: string): string {
    return join(this.dir, digestHex(diffID), 'diff');
  }

  async get(diffID: string): Promise<LayerRecord | undefined> {
    return readJsonIfExists<LayerRecord>(join(this.dir, digestHex(diffID), 'layer.json'));
  }

  async has(diffID: string): Promise<boolean> {
    return (await this.get(diffID)) !== undefined;
  }

  /**
   * Unpacks a layer tar (gzip or plain) and keeps it if its uncompressed
   * bytes hash to `diffID`. Concurrent calls for one diff ID share the work:
   * a call that joins another's gets that one's result, and its own `source`
   * is drained, not destroyed (a pull tees one download into the blob store
   * and here; destroying this half would fail the blob's half too).
   * If the work joined fails (that pull was cancelled, its registry stalled),
   * a joiner with `again` (its own copy of the bytes, once it has them)
   * unpacks from that instead of failing with it.
   * `maxBytes` bounds the uncompressed size (a gzip bomb stops there).
   */
  async create(diffID: string, source: Readable, opts: { maxBytes?: number; again?: () => Promise<Readable> } = {}): Promise<LayerRecord> {
    const existing = await this.get(diffID);
    if (existing) {
      source.resume();
      return existing;
    }
    const running = this.inflight.get(diffID);
    if (running) {
      source.resume();
      const { again, ...rest } = opts;
      if (!again) return running;
      return running.catch(async () => this.create(diffID, await again(), rest));
    }
    const work = this.unpack(diffID, source, opts).finally(() => this.inflight.delete(diffID));
    this.inflight.set(diffID, work);
    return work;
  }

  private async unpack(diffID: string, source: Readable, opts: { maxBytes?: number }): Promise<LayerRecord> {
    const hex = digestHex(diffID);
    const tmp = join(this.dir, `.tmp-${randomBytes(6).toString('hex')}`);
    await mkdir(join(tmp, 'diff'), { recursive: true, mode: 0o755 });
    const tid = shortId(diffID);
    const totals = new TraceTotals();
    try {
      trace(tid, 'unpack start');
      const result = await unpackLayer(source, join(tmp, 'diff'), { ...(opts.maxBytes === undefined ? {} : { maxBytes: opts.maxBytes }), totals });
      trace(tid, 'unpacked');
      totals.report(tid);
      if (result.diffID !== diffID) {
        throw invalidParameter(`layer content does not match its diff ID: expected ${diffID}, got ${result.diffID}`);
      }
      const record: LayerRecord = { diffID, size: result.size };
      await writeJsonAtomic(join(tmp, 'layer.json'), record);
      trace(tid, 'layer.json written');
      try {
        await rename(tmp, join(this.dir, hex));
        trace(tid, 'layer renamed');
      } catch (err) {
        // Another agent process (or a previous run) finished it first: keep theirs.
        if (errnoCode(err) !== 'ENOTEMPTY' && errnoCode(err) !== 'EEXIST') throw err;
        await rm(tmp, { recursive: true, force: true });
      }
      return record;
    } catch (err) {
      source.destroy();
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  async delete(diffID: string): Promise<void> {
    const target = join(this.dir, digestHex(diffID));
    // Rename first so a crash mid-delete never leaves a half layer that looks whole.
    const doomed = join(this.dir, `.tmp-${randomBytes(6).toString('hex')}`);
    try {
      await rename(target, doomed);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return;
      throw err;
    }
    await rm(doomed, { recursive: true, force: true });
  }

  async list(): Promise<string[]> {
    return (await readdir(this.dir)).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }
}

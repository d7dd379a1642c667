import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, open } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errnoCode, invalidParameter, notFound } from '../errors.js';
import { fsyncDir, sweepTempFiles, writeFileAtomic } from '../util/atomic-file.js';
import { trace, TraceTotals } from '../util/trace.js';
import { digestHex, finishDigest, newDigester, sha256Digest, shortId } from './digest.js';

/**
 * Blobs (manifests, configs, layer tars) stored once by digest, shared by
 * every image that names them.
 *
 * Contract: a blob at `blobs/sha256/<hex>` always has that digest. Writers
 * stream into `ingest/`, and the blob appears only when the bytes verified;
 * a crash leaves at most an ingest file, or the temp file of a small blob
 * written whole (`put`), both removed by `sweep()` at start-up.
 */
export class ContentStore {
  private readonly blobsDir: string;
  private readonly ingestDir: string;

  constructor(root: string) {
    this.blobsDir = join(root, 'blobs', 'sha256');
    this.ingestDir = join(root, 'ingest');
  }

  async init(): Promise<void> {
    await mkdir(this.blobsDir, { recursive: true });
    await mkdir(this.ingestDir, { recursive: true });
  }

  /** Removes half-written ingests, and half-written small blobs (put), left by a crash. Call only before any writer starts. */
  async sweep(): Promise<void> {
    await rm(this.ingestDir, { recursive: true, force: true });
    await mkdir(this.ingestDir, { recursive: true });
    await sweepTempFiles(this.blobsDir);
  }

  path(digest: string): string {
    return join(this.blobsDir, digestHex(digest));
  }

  async has(digest: string): Promise<boolean> {
    try {
      await stat(this.path(digest));
      return true;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return false;
      throw err;
    }
  }

  async size(digest: string): Promise<number> {
    return (await stat(this.path(digest))).size;
  }

  async read(digest: string): Promise<Buffer> {
    try {
      return await readFile(this.path(digest));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw notFound(`blob ${digest} not found in the content store`);
      throw err;
    }
  }

  open(digest: string): Readable {
    return createReadStream(this.path(digest));
  }

  /** Stores a small blob already in memory (manifests, configs). */
  async put(data: Buffer, expected?: string): Promise<string> {
    const digest = sha256Digest(data);
    if (expected !== undefined && expected !== digest) {
      throw invalidParameter(`digest mismatch: expected ${expected}, got ${digest}`);
    }
    if (!(await this.has(digest))) await writeFileAtomic(this.path(digest), data, 0o644);
    return digest;
  }

  /**
   * Streams `source` into the store. When `expected` is given the blob is
   * committed only if the bytes hash to it; otherwise nothing is kept and the
   * promise rejects. `onData` sees each chunk (progress, a parallel unpacker).
   */
  async ingest(source: Readable, expected?: string, onData?: (chunk: Buffer) => void): Promise<{ digest: string; size: number }> {
    if (expected !== undefined) digestHex(expected);
    const tmp = join(this.ingestDir, randomBytes(8).toString('hex'));
    const hash = newDigester();
    let size = 0;
    const fileOut = createWriteStream(tmp, { mode: 0o644 });
    const totals = new TraceTotals();
    const tee = new Writable({
      write(chunk: Buffer, _enc, cb) {
        totals.time('hash', () => hash.update(chunk));
        size += chunk.length;
        onData?.(chunk);
        if (!fileOut.write(chunk)) fileOut.once('drain', cb);
        else cb();
      },
      final(cb) {
        fileOut.end(cb);
      },
    });
    // A failed write (a full disk) must fail the ingest, not crash the agent.
    fileOut.on('error', (err) => tee.destroy(err));
    try {
      const tid = shortId(expected ?? 'ingest');
      await pipeline(source, tee);
      trace(tid, 'blob written');
      totals.report(tid);
      const digest = finishDigest(hash);
      if (expected !== undefined && digest !== expected) {
        throw invalidParameter(`filesystem layer verification failed for digest ${expected}: got ${digest}`);
      }
      const fh = await open(tmp, 'r');
      await fh.sync().finally(() => fh.close());
      trace(tid, 'blob fsync');
      await rename(tmp, this.path(digest));
      await fsyncDir(this.blobsDir);
      trace(tid, 'blob renamed, dir fsync');
      return { digest, size };
    } catch (err) {
      fileOut.destroy();
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async delete(digest: string): Promise<void> {
    await rm(this.path(digest), { force: true });
  }

  async list(): Promise<string[]> {
    return (await readdir(this.blobsDir)).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }
}

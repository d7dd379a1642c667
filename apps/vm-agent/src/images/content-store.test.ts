import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ContentStore } from './content-store.js';
import { sha256Digest } from './digest.js';

test('ingest keeps a blob only when it matches the expected digest', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-cs-'));
  try {
    const cs = new ContentStore(dir);
    await cs.init();
    const data = Buffer.from('hello layer');
    const good = sha256Digest(data);
    const { digest, size } = await cs.ingest(Readable.from([data]), good);
    assert.equal(digest, good);
    assert.equal(size, data.length);
    assert.deepEqual(await cs.read(good), data);
    const wrong = sha256Digest('something else');
    await assert.rejects(cs.ingest(Readable.from([Buffer.from('tampered')]), wrong), /verification failed for digest/);
    assert.equal(await cs.has(wrong), false);
    assert.deepEqual(await readdir(join(dir, 'ingest')), [], 'no temp file left');
    await assert.rejects(cs.read('sha256:../../etc/passwd'), /invalid digest/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

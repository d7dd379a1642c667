import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { capToDescriptor } from './blob-size.js';

const blob = { digest: `sha256:${'a'.repeat(64)}`, size: 10 };

/** Reads (flowing, so every chunk passed on is counted) until the stream ends or fails. */
function drain(r: Readable): Promise<{ bytes: number; error?: Error }> {
  let bytes = 0;
  r.on('data', (c: Buffer) => (bytes += c.length));
  return new Promise((resolve) => {
    r.on('end', () => resolve({ bytes }));
    r.on('error', (error) => resolve({ bytes, error }));
  });
}

test('a body of exactly the declared size passes through whole', async () => {
  const got = await drain(capToDescriptor(Readable.from([Buffer.alloc(4), Buffer.alloc(6)]), blob));
  assert.deepEqual(got, { bytes: 10 });
});

test('more than declared: refused at the chunk that goes over, none of it passed on, the source destroyed', async () => {
  // An endless source: only the cap can end this read.
  const source = new Readable({
    read() {
      this.push(Buffer.alloc(4));
    },
  });
  const got = await drain(capToDescriptor(source, blob));
  assert.equal(got.bytes, 8, 'the two chunks within the size, not the third');
  assert.equal(got.error?.message, `blob ${blob.digest} is larger than its descriptor's 10 bytes: the registry sent more; pull refused`);
  assert.ok(source.destroyed, 'the connection behind it is closed');
});

test('fewer than declared: refused with both sizes', async () => {
  const got = await drain(capToDescriptor(Readable.from([Buffer.alloc(7)]), blob));
  assert.equal(got.error?.message, `blob ${blob.digest} is smaller than its descriptor's 10 bytes: the registry sent 7; pull refused`);
});

test('destroying the capped stream destroys the source (a stalled registry, a cancelled pull)', async () => {
  const source = new Readable({ read() {} });
  const capped = capToDescriptor(source, blob);
  capped.destroy(new Error('stalled'));
  await new Promise((r) => setImmediate(r));
  assert.ok(source.destroyed);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { tee } from './tee.js';

const collect = async (r: Readable) => {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

test('both branches get every byte, a slow one holds the source back', async () => {
  const data = Array.from({ length: 200 }, (_, i) => Buffer.alloc(16 * 1024, i));
  const [a, b] = tee(Readable.from(data), 2);
  let slowBytes = 0;
  const slow = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _e, cb) {
      slowBytes += chunk.length;
      setImmediate(cb);
    },
  });
  const [fast] = await Promise.all([collect(a!), pipeline(b!, slow)]);
  assert.equal(fast.length, 200 * 16 * 1024);
  assert.equal(slowBytes, fast.length);
});

test('a branch that fails destroys the source and the other branch', async () => {
  const source = new Readable({ read() {} });
  const [a, b] = tee(source, 2);
  const other = collect(b!);
  a!.destroy(new Error('disk full'));
  await assert.rejects(other, /disk full/);
  assert.equal(source.destroyed, true);
});

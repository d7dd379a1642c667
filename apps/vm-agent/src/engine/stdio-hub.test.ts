import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { PassThrough, Writable } from 'node:stream';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { parseDetachKeys, StdioHub } from './stdio-hub.js';

/** A process's stdin that takes nothing until `open()`: its buffer fills as a pipe's does. */
function slowStdin() {
  const got: Buffer[] = [];
  let gate: (() => void) | undefined;
  let opened = false;
  let ended = false;
  const stdin = new Writable({
    highWaterMark: 64 * 1024,
    write(chunk: Buffer, _enc, cb) {
      got.push(chunk);
      if (opened) cb();
      else gate = cb;
    },
    final(cb) {
      ended = true;
      cb();
    },
  });
  return {
    stdin,
    got,
    ended: () => ended,
    open() {
      opened = true;
      gate?.();
    },
  };
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const sink = { write() {}, end() {} };

/** A hub with a running process whose stdin is recorded, and one client attached with `input`. */
function attached(tty: boolean) {
  const hub = new StdioHub(true, true);
  const stdin = new PassThrough();
  const got: Buffer[] = [];
  stdin.on('data', (b: Buffer) => got.push(b));
  hub.setStdin(stdin);
  const client = { input: new PassThrough(), ended: '', received: () => [...Buffer.concat(got)] };
  hub.attach({ stdout: true, stderr: true, input: client.input, tty }, { write() {}, end: (why) => (client.ended = why) });
  return client;
}

test('detach keys are caught across chunks on a terminal; other bytes pass', async () => {
  assert.deepEqual([...parseDetachKeys('ctrl-p,ctrl-q')], [16, 17]);
  assert.throws(() => parseDetachKeys('ctrl-pp'), /Invalid detach keys/);
  const c = attached(true);
  c.input.write(Buffer.from([97, 16, 98, 16]));
  c.input.write(Buffer.from([17, 99]));
  await tick();
  assert.deepEqual(c.received(), [97, 16, 98]);
  assert.equal(c.ended, 'detach');
});

test('without a terminal, input is passed on byte for byte: the detach keys are data', async () => {
  const c = attached(false);
  c.input.end(Buffer.from([97, 16, 17, 98, 16, 17]));
  await tick();
  assert.deepEqual(c.received(), [97, 16, 17, 98, 16, 17]);
  assert.equal(c.ended, '', 'the client is still attached');
});

test('a client is paused while the stdin pipe is full and resumed when it drains; every byte arrives in order, then the end', async () => {
  const hub = new StdioHub(true, true);
  const p = slowStdin();
  hub.setStdin(p.stdin);
  const input = new PassThrough({ highWaterMark: 16 * 1024 });
  hub.attach({ stdout: true, stderr: true, input }, sink);
  const data = randomBytes(4 * 1024 * 1024);
  let written = 0;
  // Write as a socket would: stop when the input's own buffer says so.
  const pump = async () => {
    while (written < data.length) {
      const more = input.write(data.subarray(written, written + 32 * 1024));
      written += 32 * 1024;
      if (!more) await new Promise((r) => input.once('drain', r));
    }
    input.end();
  };
  const pumping = pump();
  for (let i = 0; i < 20; i++) await tick();
  assert.ok(written < 1024 * 1024, `the client was held back (${written} bytes taken)`);
  assert.ok(p.stdin.writableLength < 256 * 1024, `the stdin buffer stays bounded (${p.stdin.writableLength} bytes)`);
  p.open();
  await pumping;
  await new Promise((r) => p.stdin.once('finish', r));
  assert.equal(md5(Buffer.concat(p.got)), md5(data));
  assert.ok(p.ended(), 'stdin ended after the input (StdinOnce)');
});

test('input sent before the process starts waits, bounded, and goes to the process when it starts', async () => {
  const hub = new StdioHub(true, true);
  const input = new PassThrough({ highWaterMark: 16 * 1024 });
  hub.attach({ stdout: true, stderr: true, input }, sink);
  const data = randomBytes(3 * 1024 * 1024);
  let written = 0;
  const pumping = (async () => {
    while (written < data.length) {
      const more = input.write(data.subarray(written, written + 32 * 1024));
      written += 32 * 1024;
      if (!more) await new Promise((r) => input.once('drain', r));
    }
    input.end();
  })();
  for (let i = 0; i < 20; i++) await tick();
  assert.ok(written < 2 * 1024 * 1024, `the client was held back before the start (${written} bytes taken)`);
  const stdin = new PassThrough();
  const got: Buffer[] = [];
  stdin.on('data', (b: Buffer) => got.push(b));
  const finished = new Promise((r) => stdin.once('end', r));
  hub.setStdin(stdin);
  await pumping;
  await finished;
  assert.equal(md5(Buffer.concat(got)), md5(data));
});

test('a client held by a full pipe is let go when the process goes', async () => {
  const hub = new StdioHub(false, true);
  const p = slowStdin();
  hub.setStdin(p.stdin);
  const input = new PassThrough();
  hub.attach({ stdout: true, stderr: true, input }, sink);
  input.write(randomBytes(512 * 1024));
  await tick();
  assert.equal(input.isPaused(), true, 'held while the pipe is full');
  hub.setStdin(undefined);
  assert.equal(input.isPaused(), false, 'released when the process is gone');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RequestFramer, type Segment } from './http-request-framer.js';

/** Feeds `input` in pieces of `step` bytes; returns the heads seen and checks no byte was lost or changed. */
function run(input: string, step: number): { heads: string[]; opaque: boolean } {
  const f = new RequestFramer();
  const buf = Buffer.from(input, 'latin1');
  const segs: Segment[] = [];
  for (let i = 0; i < buf.length; i += step) segs.push(...f.push(buf.subarray(i, i + step)));
  assert.equal(Buffer.concat(segs.map((s) => s.raw)).toString('latin1'), input, 'bytes pass through unchanged');
  return { heads: segs.flatMap((s) => (s.kind === 'head' ? [`${s.method} ${s.path}`] : [])), opaque: f.opaque };
}

const keepAlive =
  'GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n' +
  'POST /v1.47/containers/create HTTP/1.1\r\nContent-Length: 20\r\n\r\n{"Image":"busybox"}\n' +
  'PUT /v1.47/containers/x/archive?path=/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n10;ext=1\r\nGET / HTTP/1.1\r\n\r\n0\r\nX-Trailer: 1\r\n\r\n' +
  'POST /v1.47/containers/x/start HTTP/1.1\r\nContent-Length: 0\r\n\r\n';

test('request heads in a kept-alive stream, bodies skipped (length and chunked), at every split', () => {
  for (const step of [1, 2, 3, 7, 64, 4096]) {
    const { heads, opaque } = run(keepAlive, step);
    assert.deepEqual(
      heads,
      ['GET /_ping', 'POST /v1.47/containers/create', 'PUT /v1.47/containers/x/archive?path=/', 'POST /v1.47/containers/x/start'],
      `step ${step}`,
    );
    assert.equal(opaque, false);
  }
});

test('an upgrade (attach, exec start) makes the rest opaque', () => {
  const input =
    'POST /v1.47/exec/abc/start HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 14\r\n\r\n{"Detach":false}' +
    'POST /containers/y/start HTTP/1.1\r\n\r\n';
  for (const step of [1, 5, 1000]) {
    const { heads, opaque } = run(input, step);
    assert.deepEqual(heads, ['POST /v1.47/exec/abc/start']);
    assert.equal(opaque, true);
  }
});

test('garbage is passed through as opaque bytes', () => {
  const { heads, opaque } = run('\x16\x03\x01 not http\r\n\r\nGET / HTTP/1.1\r\n\r\n', 3);
  assert.deepEqual(heads, []);
  assert.equal(opaque, true);
});

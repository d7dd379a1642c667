import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { EngineError, engineFetch, engineHijack, engineJson, engineStream, jsonLines, type EngineEndpoint } from './engine-client.js';

// A stand-in engine on a Unix socket: echoes bodies, streams JSON lines in odd pieces, refuses, and hijacks.
let dir: string;
let socket: string;
let server: Server;

async function text(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-engine-client-'));
  socket = join(dir, 'engine.sock');
  server = createServer(async (req, res) => {
    if (req.url === '/echo') {
      const body = await text(req);
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          host: req.headers.host,
          type: req.headers['content-type'],
          length: req.headers['content-length'] ?? null,
          chunked: req.headers['transfer-encoding'] === 'chunked',
          body,
        }),
      );
    } else if (req.url === '/lines') {
      // Three values cut at odd places, the last without its newline.
      const all = '{"a":1}\n{"b":"ü"}\r\n\n{"c":[3]}';
      const bytes = Buffer.from(all);
      for (const [from, to] of [
        [0, 3],
        [3, 13],
        [13, 14],
        [14, bytes.length],
      ] as const) {
        res.write(bytes.subarray(from, to));
        await new Promise((r) => setTimeout(r, 5));
      }
      res.end();
    } else if (req.url === '/garbled') {
      res.end('{"ok":true}\nnot json\n');
    } else {
      res.statusCode = 404;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ message: `No such thing: ${req.url}` }));
    }
  });
  server.on('upgrade', (req, sock) => {
    if (req.url === '/refuse') {
      sock.end('HTTP/1.1 409 Conflict\r\ncontent-type: application/json\r\ncontent-length: 33\r\n\r\n{"message":"container is paused"}');
      return;
    }
    // The first output rides in the same write as the 101 head: the client must not lose it.
    sock.write('HTTP/1.1 101 UPGRADED\r\nconnection: Upgrade\r\nupgrade: tcp\r\n\r\nhello ');
    sock.on('data', (d: Buffer) => sock.write(d.toString().toUpperCase()));
  });
  await new Promise<void>((r) => server.listen(socket, r));
});

after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The same engine through a connect() of our own, as the link gives one (a Duplex, asynchronously). */
const viaConnect = (): EngineEndpoint => ({ connect: async () => connect(socket) });

test('a JSON body goes with its length, the answer comes parsed, on a socket path and on an endpoint', async () => {
  for (const address of [socket, viaConnect()]) {
    const { status, body } = await engineJson<Record<string, unknown>>(address, { method: 'POST', path: '/echo', body: { x: 'ü' } });
    assert.equal(status, 200);
    assert.deepEqual(body, { host: 'berth', type: 'application/json', length: String(Buffer.byteLength('{"x":"ü"}')), chunked: false, body: '{"x":"ü"}' });
  }
});

test('a refusal throws with the request, the engine message and its status', async () => {
  await assert.rejects(engineJson(viaConnect(), { method: 'GET', path: '/nope' }), (err: EngineError) => {
    assert.ok(err instanceof EngineError);
    assert.equal(err.message, 'GET /nope: No such thing: /nope');
    assert.equal(err.status, 404);
    return true;
  });
  // engineFetch only reports it.
  assert.equal((await engineFetch(socket, { method: 'GET', path: '/nope' })).status, 404);
});

test('an upload streams its body: chunked without a length, with its length when known', async () => {
  const data = ['part one, ', 'part two'];
  const chunked = await engineJson<Record<string, unknown>>(socket, {
    method: 'POST',
    path: '/echo',
    upload: { data: Readable.from(data), contentType: 'application/x-tar' },
  });
  assert.deepEqual(chunked.body, { host: 'berth', type: 'application/x-tar', length: null, chunked: true, body: 'part one, part two' });
  const sized = await engineJson<Record<string, unknown>>(socket, {
    method: 'POST',
    path: '/echo',
    upload: { data: Readable.from(data), contentType: 'application/x-tar', length: 18 },
  });
  assert.deepEqual(sized.body, { host: 'berth', type: 'application/x-tar', length: '18', chunked: false, body: 'part one, part two' });
});

test('JSON lines arrive whole whatever the chunks, CRLF and blank lines included', async () => {
  const values: unknown[] = [];
  for await (const v of jsonLines(await engineStream(viaConnect(), { method: 'GET', path: '/lines' }))) values.push(v);
  assert.deepEqual(values, [{ a: 1 }, { b: 'ü' }, { c: [3] }]);
});

test('a stream that fails to open throws the engine message; a line that is not JSON is a 502', async () => {
  await assert.rejects(engineStream(socket, { method: 'GET', path: '/missing' }), { message: 'No such thing: /missing', status: 404 });
  const seen: unknown[] = [];
  await assert.rejects(
    (async () => {
      for await (const v of jsonLines(await engineStream(socket, { method: 'GET', path: '/garbled' }))) seen.push(v);
    })(),
    { message: 'the engine sent a line that is not JSON: not json', status: 502 },
  );
  assert.deepEqual(seen, [{ ok: true }]);
});

test('a hijack keeps the bytes that came with the 101 and is two-way; a refusal is an EngineError', async () => {
  for (const address of [socket, viaConnect()]) {
    const stream = await engineHijack(address, { method: 'POST', path: '/exec/x/start', body: { Detach: false } });
    let got = '';
    stream.on('data', (d: Buffer) => (got += d.toString()));
    stream.write('world');
    for (let i = 0; i < 100 && got !== 'hello WORLD'; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(got, 'hello WORLD');
    stream.destroy();
  }
  await assert.rejects(engineHijack(socket, { method: 'POST', path: '/refuse' }), { name: 'EngineError', message: 'container is paused', status: 409 });
});

test('no engine at the socket says so, with 503', async () => {
  const missing = join(dir, 'none.sock');
  await assert.rejects(engineFetch(missing, { method: 'GET', path: '/_ping' }), {
    message: `Cannot connect to the engine at unix://${missing}: no such socket. Is it running?`,
    status: 503,
  });
});

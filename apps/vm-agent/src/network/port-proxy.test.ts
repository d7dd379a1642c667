// The published-port proxy against real loopback sockets: bytes intact both
// ways through the kernel relay, half-closes passed on, a refused upstream
// closing the client, listeners closing their connections, no fd left behind,
// UDP replies, and dockerd's wording for a port in use.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readdirSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';

import { relayCount } from '../runtime/native.js';
import { publishPorts } from './port-proxy.js';

const fdCount = () => readdirSync('/proc/self/fd').length;

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A loopback TCP server; `handler` gets each connection. */
async function upstream(handler: (s: Socket) => void): Promise<{ port: number; server: Server }> {
  const server = createServer({ allowHalfOpen: true }, handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as { port: number }).port, server };
}

async function publish(containerPort: number, proto: 'tcp' | 'udp' = 'tcp') {
  const proxy = await publishPorts([{ containerPort, proto, hostIp: '127.0.0.1', hostPortFrom: 0, hostPortTo: 0 }], '127.0.0.1');
  return { proxy, port: proxy.ports[0]!.hostPort };
}

function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Everything `s` reads until its end, and whether it ended (vs was reset). */
function readAll(s: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve, reject) => {
    s.once('end', () => resolve(Buffer.concat(chunks)));
    s.once('error', reject);
  });
}

/** Resolves when the proxy ends or resets `s` (it is half-open: 'close' alone would wait for our end). */
function closedByPeer(s: Socket): Promise<void> {
  s.on('error', () => {});
  s.resume();
  return new Promise((resolve) => {
    s.once('end', () => resolve());
    s.once('close', () => resolve());
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('TCP: 24 MiB each way arrive intact through the relay, and end travels both ways', async (t) => {
  // Reads everything, then answers with it reversed and ends.
  const up = await upstream((s) => {
    readAll(s).then(
      (all) => s.end(Buffer.from(all).reverse()),
      () => s.destroy(),
    );
  });
  t.after(() => up.server.close());
  const { proxy, port } = await publish(up.port);
  t.after(() => proxy.close());

  const payload = randomBytes(24 * 1024 * 1024);
  const c = await dial(port);
  const reply = readAll(c);
  c.end(payload); // half-close: the upstream sees 'end' only if the relay passes it on
  const got = await reply;
  assert.equal(got.length, payload.length);
  assert.equal(sha(got), sha(Buffer.from(payload).reverse()));
  c.destroy();
});

test('TCP: the client may keep reading after ending its side; the server may keep writing', async (t) => {
  const up = await upstream((s) => {
    s.on('end', () => {
      // The client finished writing; we are still allowed to talk.
      let n = 0;
      const tick = setInterval(() => {
        s.write(`line ${n}\n`);
        if (++n === 5) {
          clearInterval(tick);
          s.end();
        }
      }, 5);
    });
    s.resume();
  });
  t.after(() => up.server.close());
  const { proxy, port } = await publish(up.port);
  t.after(() => proxy.close());
  const c = await dial(port);
  const reply = readAll(c);
  c.end('bye');
  assert.equal((await reply).toString(), 'line 0\nline 1\nline 2\nline 3\nline 4\n');
  c.destroy();
});

test('TCP: a refused upstream closes the client instead of leaving it hanging', async (t) => {
  const { port: dead, server } = await upstream(() => {});
  await new Promise<void>((r) => server.close(() => r()));
  const { proxy, port } = await publish(dead);
  t.after(() => proxy.close());
  const c = await dial(port);
  await closedByPeer(c);
  c.destroy();
});

test('TCP: no fds or pairs are left after many connections, nor after close() with connections open', async (t) => {
  const held: Socket[] = [];
  const up = await upstream((s) => {
    held.push(s);
    s.on('data', (d) => s.write(d));
    s.on('end', () => s.end());
    s.on('error', () => {});
  });
  t.after(() => up.server.close());
  // Warm up: the relay's threads and their epoll and event fds are made on first use.
  const warm = await publish(up.port);
  const w = await dial(warm.port);
  const wReply = readAll(w);
  w.end('x');
  await wReply;
  w.destroy();
  await until('warm-up pair closed', () => relayCount() === 0);
  await warm.proxy.close();
  const before = fdCount();

  const { proxy, port } = await publish(up.port);
  for (let round = 0; round < 4; round++) {
    await Promise.all(
      Array.from({ length: 25 }, async (_, i) => {
        const c = await dial(port);
        const reply = readAll(c);
        c.end(`hello ${i}`);
        assert.equal((await reply).toString(), `hello ${i}`);
        c.destroy();
      }),
    );
  }
  await until('pairs closed', () => relayCount() === 0);

  // Connections still open when the ports are unpublished are closed with them.
  const open = await Promise.all(Array.from({ length: 5 }, () => dial(port)));
  for (const c of open) c.write('ping');
  await until('pairs open', () => relayCount() === 5);
  const closed = open.map(closedByPeer);
  await proxy.close();
  assert.equal(relayCount(), 0);
  await Promise.all(closed);
  for (const c of open) c.destroy();
  for (const s of held) s.destroy();
  await until('fd count back to where it was', () => fdCount() <= before);
});

test('TCP: a port published on every address answers on IPv4 and, where the kernel has it, IPv6 loopback', async (t) => {
  const up = await upstream((s) => s.end('hi'));
  t.after(() => up.server.close());
  const proxy = await publishPorts([{ containerPort: up.port, proto: 'tcp', hostIp: '', hostPortFrom: 0, hostPortTo: 0 }], '127.0.0.1');
  t.after(() => proxy.close());
  const port = proxy.ports[0]!.hostPort;
  const hosts = proxy.ports.some((p) => p.hostIp === '::') ? ['127.0.0.1', '::1'] : ['127.0.0.1'];
  for (const host of hosts) {
    const c = connect({ host, port });
    assert.equal((await readAll(c)).toString(), 'hi', host);
    c.destroy();
  }
});

test('UDP: datagrams reach the container and replies come back to the sender', async (t) => {
  const echo = createSocket('udp4');
  echo.on('message', (msg, from) => echo.send(Buffer.concat([Buffer.from('re:'), msg]), from.port, from.address));
  await new Promise<void>((r) => echo.bind(0, '127.0.0.1', () => r()));
  t.after(() => echo.close());
  const { proxy, port } = await publish(echo.address().port, 'udp');
  t.after(() => proxy.close());
  const client = createSocket('udp4');
  t.after(() => client.close());
  const reply = new Promise<string>((r) => client.once('message', (m) => r(m.toString())));
  client.send('ping', port, '127.0.0.1');
  assert.equal(await reply, 're:ping');
});

test('a port in use fails with dockerd wording and leaves no listener open', async (t) => {
  const busy = await upstream(() => {});
  t.after(() => busy.server.close());
  const free = await upstream(() => {});
  const freePort = free.port;
  await new Promise<void>((r) => free.server.close(() => r()));
  await assert.rejects(
    publishPorts(
      [
        { containerPort: 80, proto: 'tcp', hostIp: '127.0.0.1', hostPortFrom: freePort, hostPortTo: freePort },
        { containerPort: 81, proto: 'tcp', hostIp: '127.0.0.1', hostPortFrom: busy.port, hostPortTo: busy.port },
      ],
      '127.0.0.1',
    ),
    (err: Error) => err.message.includes(`Ports are not available: exposing port TCP 127.0.0.1:${busy.port}`) && err.message.endsWith('address already in use'),
  );
  // All or nothing: the first port was released again.
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(freePort, '127.0.0.1', () => resolve());
  });
  s.close();
});

/**
 * UDP port forwarding over the SSH link, natively: the agent's real SSH
 * server (ssh/ssh-server.ts, serving `berth-udp-relay`), main's real VmLink,
 * and the forwarder's host UDP relay (listenUdpRelay). A UDP echo server on
 * 127.0.0.1:P stands in for the engine's published port in the guest (the
 * busybox test image has no UDP server); the host relay listens on
 * 127.0.0.2:P, as ssh-link.test.ts maps host addresses, so what answers there
 * crossed the link.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import ssh2 from 'ssh2';
import { listenUdpRelay } from '../../apps/main/src/host/port-forwarder.js';
import { ensureLinkKeys } from '../../apps/main/src/link/keys.js';
import { VmLink } from '../../apps/main/src/link/vm-link.js';
import { startSshServer, type SshServer } from '../../apps/vm-agent/src/ssh/ssh-server.js';
import { freePort } from '../helpers/net.js';

const HOST_ADDRESS = '127.0.0.2';
const home = mkdtempSync(join(tmpdir(), 'berth-udp-'));
let server: SshServer;
let link: VmLink;
let echo: Socket;
let port = 0;
let closeRelay: () => Promise<void>;
const logs: string[] = [];

before(async () => {
  const keys = ensureLinkKeys(home);
  writeFileSync(join(home, 'authorized_key'), keys.publicKey);
  const hostKey = ssh2.utils.generateKeyPairSync('ed25519').private;
  server = await startSshServer({
    listen: '127.0.0.1:0',
    authorizedKeyFile: join(home, 'authorized_key'),
    hostKey,
    engineSocket: join(home, 'engine.sock'),
    log: (m) => logs.push(m),
  });
  link = new VmLink({
    host: '127.0.0.1',
    port: Number(server.address.split(':').pop()),
    privateKey: keys.privateKey,
    verifyHostKey: () => true,
    log: (m) => logs.push(m),
  });
  link.start();
  await link.whenReady(10_000);

  // The "published port": echoes each datagram with a prefix, to whoever sent it.
  port = await freePort();
  echo = createSocket('udp4');
  echo.on('message', (msg, r) => echo.send(Buffer.concat([Buffer.from('echo:'), msg]), r.port, r.address));
  await new Promise<void>((resolve) => echo.bind(port, '127.0.0.1', resolve));

  closeRelay = await listenUdpRelay({
    address: HOST_ADDRESS,
    port,
    openRelay: () => link.exec(`berth-udp-relay 127.0.0.1 ${port}`),
    log: (m) => logs.push(m),
  });
});

after(async () => {
  await closeRelay?.();
  echo?.close();
  await link?.close();
  await server?.close();
  rmSync(home, { recursive: true, force: true });
  if (logs.length) process.stderr.write(`--- log ---\n${logs.join('\n')}\n`);
});

/** A host client: sends each datagram to HOST_ADDRESS:port and collects the replies. */
async function client(): Promise<{ send(d: Buffer | string): void; replies(n: number, timeoutMs?: number): Promise<Buffer[]>; close(): void }> {
  const s = createSocket('udp4');
  const got: Buffer[] = [];
  s.on('message', (m) => got.push(m));
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return {
    send: (d) => s.send(d, port, HOST_ADDRESS),
    async replies(n, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (got.length < n) {
        assert.ok(Date.now() < deadline, `${got.length} of ${n} replies within ${timeoutMs} ms: ${got.map(String).join(', ')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return got.splice(0, n);
    },
    close: () => s.close(),
  };
}

test('datagrams cross the link both ways, in order, each client gets its own replies', async () => {
  const a = await client();
  const b = await client();
  try {
    // Sent before the channel is open: queued, not lost.
    for (let i = 0; i < 5; i++) a.send(`a${i}`);
    b.send('b0');
    assert.deepEqual((await a.replies(5)).map(String), ['echo:a0', 'echo:a1', 'echo:a2', 'echo:a3', 'echo:a4']);
    assert.deepEqual((await b.replies(1)).map(String), ['echo:b0']);
    // Empty and large datagrams keep their boundaries (frames, not a byte stream).
    const big = Buffer.alloc(60_000, 7);
    a.send(Buffer.alloc(0));
    a.send(big);
    const [empty, bigBack] = await a.replies(2);
    assert.equal(String(empty), 'echo:');
    assert.equal(bigBack!.length, 5 + big.length);
    assert.ok(bigBack!.subarray(5).equals(big));
  } finally {
    a.close();
    b.close();
  }
});

test('the port is taken while the relay listens (a second bind fails with EADDRINUSE)', async () => {
  await assert.rejects(
    listenUdpRelay({ address: HOST_ADDRESS, port, openRelay: () => Promise.reject(new Error('unused')), log: () => {} }),
    (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE',
  );
});

test('the agent refuses a relay to an address outside the guest', async () => {
  const ch = await link.exec('berth-udp-relay 192.0.2.1 53');
  let stderr = '';
  ch.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  ch.resume();
  const code = await new Promise<number>((resolve) => ch.on('close', (c: number) => resolve(c)));
  assert.equal(code, 1);
  assert.match(stderr, /UDP relay to 192\.0\.2\.1:53 refused/);
});

/**
 * The SSH server's limits with real TCP peers on 127.0.0.1 and a real ssh2
 * client: silent peers are dropped after the grace time, the peer over the
 * unauthenticated cap and the one over the total cap are refused at once,
 * and an authenticated link keeps working through all of it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import ssh2 from 'ssh2';
import { startSshServer, type SshServer } from './ssh-server.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-ssh-limits-'));
const userKey = ssh2.utils.generateKeyPairSync('ed25519');
const hostKey = ssh2.utils.generateKeyPairSync('ed25519').private;
const keyFile = join(dir, 'authorized_key');
writeFileSync(keyFile, userKey.public + '\n');
const engineSocket = join(dir, 'engine.sock');
let echo: Server;
const opened: Socket[] = [];
const clients: ssh2.Client[] = [];

before(async () => {
  // The engine stand-in: echoes what a streamlocal channel sends.
  echo = createServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => echo.listen(engineSocket, resolve));
});

after(async () => {
  for (const s of opened) s.destroy();
  for (const c of clients) c.end();
  await new Promise((resolve) => echo.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

async function server(limits: { loginGraceMs?: number; maxUnauthenticated?: number; maxConnections?: number }, log: string[]): Promise<SshServer> {
  return startSshServer({ listen: '127.0.0.1:0', authorizedKeyFile: keyFile, hostKey, engineSocket, limits, log: (m) => log.push(m) });
}

const portOf = (s: SshServer) => Number(s.address.split(':').pop());

/** A peer that connects and never speaks; resolves with it once connected. `closedAt` is when the server dropped it. */
async function silentPeer(port: number): Promise<{ socket: Socket; closed: Promise<number> }> {
  const socket = connect(port, '127.0.0.1');
  opened.push(socket);
  socket.on('error', () => {});
  socket.resume();
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, closed };
}

async function login(port: number): Promise<ssh2.Client> {
  const client = new ssh2.Client();
  clients.push(client);
  await new Promise<void>((resolve, reject) => {
    client.once('ready', resolve);
    client.once('error', reject);
    client.connect({ host: '127.0.0.1', port, username: 'berth', privateKey: userKey.private, readyTimeout: 10_000, strictVendor: false });
  });
  return client;
}

/** A round trip over the link: a streamlocal channel to the engine socket, echoed back. */
async function roundTrip(client: ssh2.Client, text: string): Promise<string> {
  const channel = await new Promise<ssh2.ClientChannel>((resolve, reject) =>
    client.openssh_forwardOutStreamLocal(engineSocket, (err, ch) => (err ? reject(err) : resolve(ch))),
  );
  const got = new Promise<string>((resolve) => {
    let data = '';
    channel.on('data', (d: Buffer) => {
      data += d.toString();
      if (data.length >= text.length) resolve(data);
    });
  });
  channel.write(text);
  const out = await got;
  channel.close();
  return out;
}

const stillOpen = (closed: Promise<number>, ms: number) => Promise.race([closed.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), ms))]);

test('silent peers are dropped after the grace time, the 9th is refused at once, and a logged-in link keeps working', async () => {
  const log: string[] = [];
  const grace = 3000;
  const srv = await server({ loginGraceMs: grace }, log);
  try {
    const port = portOf(srv);
    const link = await login(port);
    assert.equal(await roundTrip(link, 'before'), 'before');

    const start = Date.now();
    const silent = await Promise.all(Array.from({ length: 8 }, () => silentPeer(port)));
    const ninthAt = Date.now();
    const ninth = await silentPeer(port);
    const ninthClosed = await Promise.race([ninth.closed, new Promise<number>((r) => setTimeout(() => r(-1), 1000))]);
    assert.notEqual(ninthClosed, -1, 'the 9th unauthenticated peer must be closed at once');
    assert.ok(ninthClosed - ninthAt < 1000, `the 9th peer was closed after ${ninthClosed - ninthAt} ms, not at once`);
    assert.ok(
      log.some((l) => /refused: 8 connections are still authenticating/.test(l)),
      log.join('\n'),
    );

    // The eight are still open before the grace time, and the link works meanwhile.
    for (const s of silent) assert.equal(await stillOpen(s.closed, 0), true);
    assert.equal(await roundTrip(link, 'meanwhile'), 'meanwhile');

    const times = await Promise.all(silent.map((s) => s.closed));
    for (const t of times) {
      assert.ok(t - start >= grace - 100, `a silent peer was dropped after ${t - start} ms, before the ${grace} ms grace time`);
      assert.ok(t - start < grace + 5000, `a silent peer was dropped only after ${t - start} ms`);
    }
    assert.ok(
      log.some((l) => /not authenticated within 3 s; closing/.test(l)),
      log.join('\n'),
    );

    // The authenticated link is past its own grace time and still serves.
    assert.equal(await roundTrip(link, 'after'), 'after');
    // With the slots free again, a new peer is admitted (not closed at once).
    const fresh = await silentPeer(port);
    assert.equal(await stillOpen(fresh.closed, 300), true);
    fresh.socket.destroy();
  } finally {
    await srv.close();
  }
});

test('a connection over the total cap is refused at once, authenticated or not', async () => {
  const log: string[] = [];
  const srv = await server({ maxConnections: 3 }, log);
  try {
    const port = portOf(srv);
    const a = await login(port);
    await login(port);
    await silentPeer(port);
    const fourth = await silentPeer(port);
    const closed = await Promise.race([fourth.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 1000))]);
    assert.equal(closed, true, 'the 4th connection must be closed at once');
    assert.ok(
      log.some((l) => /refused: 3 connections are open/.test(l)),
      log.join('\n'),
    );
    assert.equal(await roundTrip(a, 'still here'), 'still here');
  } finally {
    await srv.close();
  }
});

test('close() ends even with a silent peer connected', async () => {
  const srv = await server({}, []);
  await silentPeer(portOf(srv));
  const closed = await Promise.race([srv.close().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 3000))]);
  assert.equal(closed, true, 'close() must not wait for a silent peer');
});

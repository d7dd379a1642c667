/**
 * The host<->guest link without a VM: the agent runs natively with
 * `--ssh-listen 127.0.0.1:PORT`, main's VmLink connects to it, and the real
 * docker CLI talks to the host socket, which relays over the link.
 *
 * Ports: natively the agent's own port proxy already holds the published
 * address (127.0.0.1:P) on this machine, so the test's forwarder maps every
 * host address to 127.0.0.2 (`hostAddress`) and the page is fetched from
 * 127.0.0.2:P: what reaches it went through the forwarder and a direct-tcpip
 * channel to the agent's 127.0.0.1:P. In the VM the mapping is the identity.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import ssh2 from 'ssh2';
import { HostDockerSocket } from '../../apps/main/src/host/host-socket.js';
import { PortForwarder } from '../../apps/main/src/host/port-forwarder.js';
import { ensureLinkKeys, HostKeyPin } from '../../apps/main/src/link/keys.js';
import { VmLink } from '../../apps/main/src/link/vm-link.js';
import { useAgent } from '../helpers/agent.js';
import { DockerCli } from '../helpers/docker.js';
import { freePort } from '../helpers/net.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { buildBusyboxImage, pushImage } from '../helpers/test-images.js';
import { eventually } from './containers-fixture.js';

const home = mkdtempSync(join(tmpdir(), 'berth-home-'));
const keys = ensureLinkKeys(home);
const authorizedKey = join(home, 'authorized_key');
writeFileSync(authorizedKey, keys.publicKey);
const sshPort = await freePort();
const agent = useAgent({ args: ['--ssh-listen', `127.0.0.1:${sshPort}`, '--ssh-authorized-key', authorizedKey] });
const run = randomBytes(3).toString('hex');
const HOST_ADDRESS = '127.0.0.2';

let link: VmLink;
let forwarder: PortForwarder;
let hostSocket: HostDockerSocket;
let docker: DockerCli;
let reg: TestRegistry;
let image: string;
const logs: string[] = [];

before(async () => {
  await agent.ready;
  const pin = new HostKeyPin(home);
  link = new VmLink({
    host: '127.0.0.1',
    port: sshPort,
    privateKey: keys.privateKey,
    verifyHostKey: pin.verify,
    hostKeyProblem: () => pin.lastMismatch,
    engineSocket: agent.current.socket,
    backoff: { initialMs: 100, maxMs: 500 },
    log: (m) => logs.push(m),
  });
  link.start();
  await link.whenReady(10_000);
  forwarder = new PortForwarder({ link, hostAddress: () => HOST_ADDRESS, log: (m) => logs.push(m) });
  forwarder.start();
  hostSocket = await HostDockerSocket.listen({ path: join(home, 'run', 'docker.sock'), link, forwarder, log: (m) => logs.push(m) });
  docker = new DockerCli(hostSocket.path);
  reg = await startRegistry();
  await pushImage({ url: reg.url }, 'test/busybox', 'latest', await buildBusyboxImage({}));
  image = `${reg.domain}/test/busybox:latest`;
});

after(async () => {
  await docker?.run(['rm', '-f', `web-${run}`, `busy-${run}`, `logs-${run}`, `exec-${run}`, `always-${run}`]);
  docker?.dispose();
  await hostSocket?.close();
  await forwarder?.stop();
  await link?.close();
  await reg?.stop();
  rmSync(home, { recursive: true, force: true });
  if (logs.length) process.stderr.write(`--- link log ---\n${logs.join('\n')}\n`);
});

async function httpGet(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  return res.text();
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** An ssh2 client to the agent; resolves with it once ready, rejects with the auth error. */
function sshConnect(cfg: Partial<ssh2.ConnectConfig>): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.once('ready', () => resolve(c));
    c.once('error', reject);
    c.connect({ host: '127.0.0.1', port: sshPort, username: 'root', strictVendor: false, readyTimeout: 5000, ...cfg });
  });
}

describe('docker CLI through the host socket and the SSH link', () => {
  test('the host socket is 0600 and the agent host key is pinned', () => {
    assert.equal(statSync(hostSocket.path).mode & 0o777, 0o600);
    const hostKey = ssh2.utils.parseKey(readFileSync(join(agent.current.dataRoot, 'ssh', 'ssh_host_ed25519_key'))) as ssh2.ParsedKey;
    assert.equal(statSync(join(agent.current.dataRoot, 'ssh', 'ssh_host_ed25519_key')).mode & 0o777, 0o600);
    assert.deepEqual(new HostKeyPin(home).pinned(), hostKey.getPublicSSH());
    assert.equal(statSync(join(home, 'ssh', 'id_ed25519')).mode & 0o777, 0o600);
  });

  test('version, pull, run --rm, logs -f, exec (with stdin EOF), events', async () => {
    const v = await docker.ok(['version', '--format', '{{.Server.Version}}']);
    assert.match(v.stdout.trim(), /^\d+\.\d+/);
    const pull = await docker.ok(['pull', image]);
    assert.match(pull.stdout, /Downloaded newer image|Image is up to date/);
    const since = Math.floor(Date.now() / 1000) - 1;
    const r = await docker.ok(['run', '--rm', image, 'sh', '-c', 'echo out; echo err >&2']);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');

    await docker.ok(['run', '-d', '--name', `logs-${run}`, image, 'sh', '-c', 'for i in 1 2 3; do echo line $i; sleep 0.2; done']);
    const logsF = await docker.ok(['logs', '-f', `logs-${run}`], { timeoutMs: 15_000 });
    assert.equal(logsF.stdout, 'line 1\nline 2\nline 3\n');

    await docker.ok(['run', '-d', '--name', `exec-${run}`, image, 'sleep', '300']);
    assert.equal((await docker.ok(['exec', `exec-${run}`, 'sh', '-c', 'echo $((6*7))'])).stdout, '42\n');
    // -i: the CLI half-closes after stdin; cat must see EOF through the relay.
    const big = 'x'.repeat(200_000);
    const cat = await docker.ok(['exec', '-i', `exec-${run}`, 'sh', '-c', 'cat | wc -c'], { input: big, timeoutMs: 20_000 });
    assert.equal(cat.stdout.trim(), String(big.length));

    const until = Math.floor(Date.now() / 1000) + 1;
    const ev = await docker.ok(['events', '--since', String(since), '--until', String(until), '--filter', `container=logs-${run}`, '--format', '{{.Action}}']);
    assert.match(ev.stdout, /create[\s\S]*start[\s\S]*die/);
  });

  test('a published port is forwarded on the host, and removed within a second of the stop', async () => {
    const p = await freePort();
    await docker.ok(['run', '-d', '--name', `web-${run}`, '-p', `127.0.0.1:${p}:80`, image, 'httpd', '-f', '-p', '80', '-h', '/www']);
    await eventually(
      'the page through the forwarder',
      async () => (await httpGet(`http://${HOST_ADDRESS}:${p}/`).catch(() => '')) === '<h1>berth test image</h1>\n',
    );
    assert.ok(forwarder.listening().includes(`tcp/127.0.0.1/${p}`));
    await docker.ok(['stop', '-t', '0', `web-${run}`]);
    const stopped = Date.now();
    await eventually('the host listener is gone', async () => !(await canConnect(HOST_ADDRESS, p)), 3000);
    assert.ok(Date.now() - stopped < 1000, `removed after ${Date.now() - stopped} ms`);
    await docker.ok(['start', `web-${run}`]);
    await eventually(
      'the page again after start',
      async () => (await httpGet(`http://${HOST_ADDRESS}:${p}/`).catch(() => '')) === '<h1>berth test image</h1>\n',
    );
  });

  test('a host port already taken fails the start with dockerd wording and leaves nothing bound', async () => {
    const [free, taken] = [await freePort(), await freePort()];
    const blocker = createServer();
    await new Promise<void>((res) => blocker.listen(taken, HOST_ADDRESS, res));
    try {
      const r = await docker.run(['run', '-d', '--name', `busy-${run}`, '-p', `127.0.0.1:${free}:80`, '-p', `127.0.0.1:${taken}:81`, image, 'sleep', '300']);
      assert.notEqual(r.code, 0);
      assert.match(
        r.stderr,
        new RegExp(
          `Ports are not available: exposing port TCP 127\\.0\\.0\\.1:${taken} -> 127\\.0\\.0\\.1:0: listen tcp 127\\.0\\.0\\.1:${taken}: bind: address already in use`,
        ),
      );
      assert.equal((await docker.ok(['inspect', '--format', '{{.State.Running}}', `busy-${run}`])).stdout.trim(), 'false');
      assert.equal(await canConnect(HOST_ADDRESS, free), false, 'the first port was let go');
    } finally {
      blocker.close();
    }
    await docker.ok(['start', `busy-${run}`]);
    await eventually(
      'both ports held once free',
      async () => forwarder.listening().includes(`tcp/127.0.0.1/${taken}`) && forwarder.listening().includes(`tcp/127.0.0.1/${free}`),
    );
  });
});

describe('the SSH server', () => {
  test('runs commands and a root shell on a pty', async () => {
    const ch = await link.exec('echo $((6*7)); id -u; exit 3');
    let out = '';
    ch.on('data', (d: Buffer) => (out += d));
    // ssh2 may emit 'exit' before the caller can listen; 'close' carries the status too.
    const code = await new Promise((resolve) => ch.on('close', (c: number) => resolve(c)));
    assert.equal(out, '42\n0\n');
    assert.equal(code, 3);

    const sh = await link.shell({ term: 'xterm', cols: 91, rows: 27 });
    let text = '';
    sh.on('data', (d: Buffer) => (text += d));
    sh.setWindow(33, 101, 0, 0);
    await new Promise((r) => setTimeout(r, 200));
    sh.write('stty size; tty; exit\n');
    await new Promise((resolve) => sh.on('close', resolve));
    assert.match(text, /33 101/);
    assert.match(text, /\/dev\/pts\/\d+/);
  });

  test('refuses a key that is not the authorized one, passwords, and keyboard-interactive', async () => {
    const other = ssh2.utils.generateKeyPairSync('ed25519');
    await assert.rejects(sshConnect({ privateKey: other.private }), /All configured authentication methods failed/);
    await assert.rejects(sshConnect({ password: 'root' }), /All configured authentication methods failed/);
    await assert.rejects(sshConnect({ tryKeyboard: true }), /All configured authentication methods failed/);
  });

  test('streamlocal only to the engine socket; direct-tcpip only to the guest itself', async () => {
    const c = await sshConnect({ privateKey: keys.privateKey });
    try {
      const open = (path: string) =>
        new Promise<void>((resolve, reject) => c.openssh_forwardOutStreamLocal(path, (err, s) => (err ? reject(err) : (s.destroy(), resolve()))));
      await open(agent.current.socket);
      await assert.rejects(open('/run/systemd/private'), /Channel open failure/);
      await assert.rejects(open(`${agent.current.socket}.other`), /Channel open failure/);
      const tcp = (host: string, port: number) =>
        new Promise<void>((resolve, reject) => c.forwardOut('127.0.0.1', 0, host, port, (err, s) => (err ? reject(err) : (s.destroy(), resolve()))));
      await assert.rejects(tcp('192.0.2.1', 80), /Channel open failure/);
      await assert.rejects(tcp('example.com', 80), /Channel open failure/);
    } finally {
      c.end();
    }
  });
});

describe('losing the agent', () => {
  test('a stream in flight fails with a clear error; the link reconnects and forwarding resumes once the agent is back', async () => {
    const p = await freePort();
    await docker.ok(['run', '-d', '--name', `always-${run}`, '--restart', 'always', '-p', `127.0.0.1:${p}:80`, image, 'httpd', '-f', '-p', '80', '-h', '/www']);
    await eventually(
      'the page through the forwarder',
      async () => (await httpGet(`http://${HOST_ADDRESS}:${p}/`).catch(() => '')) === '<h1>berth test image</h1>\n',
    );

    const stream = await link.openEngineStream();
    stream.write('GET /events HTTP/1.1\r\nHost: docker\r\n\r\n');
    await new Promise((resolve) => stream.once('data', resolve));
    const failed = new Promise<Error>((resolve) => stream.once('error', resolve));
    const events = docker.run(['events'], { timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 300));
    await agent.current.kill9();
    const err = await failed;
    assert.equal(err.message, 'the connection to the Berth VM was lost; retrying');
    const ev = await events;
    assert.notEqual(ev.code, 0, 'docker events ends when the link drops');
    assert.equal(ev.timedOut, false);
    await eventually('the link notices', async () => link.state !== 'ready', 5000);

    await agent.current.restart();
    await link.whenReady(10_000);
    const v = await docker.ok(['version', '--format', '{{.Server.Version}}']);
    assert.match(v.stdout.trim(), /^\d+\.\d+/);
    // The agent restarted the container (restart policy); the forwarder re-synced and relays again.
    await eventually(
      'the page again after the reconnect',
      async () => (await httpGet(`http://${HOST_ADDRESS}:${p}/`).catch(() => '')) === '<h1>berth test image</h1>\n',
      15_000,
    );
    assert.ok(forwarder.listening().includes(`tcp/127.0.0.1/${p}`));
  });
});

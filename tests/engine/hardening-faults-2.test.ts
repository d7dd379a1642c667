/**
 * Faults of the image store: kill -9 of the agent in the middle of
 * `docker commit`, and a full disk during a pull and during a commit. After
 * each, a walk of the store on disk finds nothing dangling (every record's
 * config, layer blobs and unpacked layers exist; no half-made `.tmp-*`
 * layer or ingest file; every name points at a record), the images the API
 * lists are whole, and the container records are complete or gone.
 *
 * And exposure: every socket a running agent and the web-mode dashboard
 * listen on, found in /proc/net/{tcp,udp}{,6} by the inodes of their fds, is
 * loopback unless a `-p 0.0.0.0:...` asked for it; and the dashboard refuses
 * a cross-site form post.
 *
 * Rounds of the commit crash: BERTH_FAULT_ROUNDS (default 4; `20` for a soak run).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { AGENT_MAIN } from '../helpers/agent.js';
import { isLoopback, listenersOf, pidsWith, showListener, type Listener } from '../helpers/listeners.js';
import { engineRequest } from '../helpers/docker.js';
import { startWebMode } from '../dashboard/web-mode.js';
import { buildBusyboxImage, pushImage } from '../helpers/test-images.js';
import { useContainersFixture } from './containers-fixture.js';
import { assertImagesWhole, leftovers, NOTHING_LEFT } from './hardening-fixture.js';

const sh = promisify(execFile);
const fx = useContainersFixture();
const ROUNDS = Number(process.env.BERTH_FAULT_ROUNDS ?? 4);
const api = (method: string, path: string, body?: object) => engineRequest(fx.agent.current.socket, method, path, { body, timeoutMs: 60_000 });

/** The store walks clean, every listed image inspects with its layers, and containers are whole or gone. */
async function assertStoreConsistent(what: string): Promise<void> {
  await assertImagesWhole(fx.agent.current, what);
  const left = await leftovers(fx.agent.current);
  // The full-disk test's tmpfs over the data root is its own, not the agent's.
  left.mounts = left.mounts.filter((m) => m !== fx.agent.current.dataRoot);
  assert.deepEqual(left, NOTHING_LEFT, `${what}: containers`);
}

/** A running container whose upper layer holds `mib` MiB of random bytes. */
async function containerWithData(name: string, mib: number): Promise<void> {
  await fx.docker.ok(['run', '-d', '--name', name, fx.image, 'sh', '-c', `[ -f /data.bin ] || head -c ${mib}m /dev/urandom > /data.bin; sleep 1000`]);
  for (let i = 0; i < 200; i++) {
    const r = await fx.docker.run(['exec', name, 'sh', '-c', `test "$(wc -c < /data.bin)" -eq ${mib * 1048576}`]);
    if (r.code === 0) return;
    await sleep(50);
  }
  assert.fail(`${name} did not write its data`);
}

describe(`kill -9 of the agent during commit, ${ROUNDS} rounds`, () => {
  test('after the restart the store walks clean, and the commit can be done again', async () => {
    const started = Date.now();
    await containerWithData('crash-commit', 8);
    const t0 = Date.now();
    const first = await api('POST', '/commit?container=crash-commit&repo=committed&tag=timing');
    assert.equal(first.status, 201, first.text());
    const commitMs = Date.now() - t0;
    assert.equal((await api('DELETE', '/images/committed:timing')).status, 200);
    let committed = 0;
    for (let i = 0; i < ROUNDS; i++) {
      if ((await api('GET', '/containers/crash-commit/json')).json<{ State: { Running: boolean } }>().State.Running === false) {
        assert.equal((await api('POST', '/containers/crash-commit/start')).status, 204);
      }
      const pending = api('POST', `/commit?container=crash-commit&repo=committed&tag=r${i}`).catch(() => undefined);
      await sleep(Math.random() * commitMs * 1.2);
      await fx.agent.current.kill9();
      const res = await pending;
      if (res?.status === 201) committed++;
      await fx.agent.current.restart();
      await assertStoreConsistent(`commit round ${i}`);
      // The killed commit either made a whole image or none; done again, it succeeds.
      assert.equal((await api('POST', '/containers/crash-commit/start')).status, 204);
      const again = await api('POST', `/commit?container=crash-commit&repo=committed&tag=again${i}`);
      assert.equal(again.status, 201, again.text());
      const run = await fx.docker.run(['run', '--rm', `committed:again${i}`, 'sh', '-c', 'wc -c < /data.bin']);
      assert.equal(run.stdout.trim(), String(8 * 1048576), run.stderr);
    }
    await fx.docker.ok(['rm', '-f', 'crash-commit']);
    await assertStoreConsistent('commit, after rm');
    process.stderr.write(
      `# commit crash: ${ROUNDS} rounds (${committed} killed commits had answered 201), commit takes ${commitMs} ms, ${Date.now() - started} ms in all\n`,
    );
  });
});

describe('a full disk', () => {
  /** Mounts a `mib` MiB tmpfs over the agent's data root (the agent stopped meanwhile). */
  async function smallDataRoot(mib: number): Promise<void> {
    await fx.agent.current.stop();
    await sh('mount', ['-t', 'tmpfs', '-o', `size=${mib}m`, 'berth-full', fx.agent.current.dataRoot]);
    await fx.agent.current.restart();
  }
  const grow = (mib: number) => sh('mount', ['-o', `remount,size=${mib}m`, fx.agent.current.dataRoot]);

  test('during a pull and a commit: a clear error, the store unharmed, and the same pull works after space is freed', async () => {
    const img = await buildBusyboxImage({ layerCount: 2, extraFiles: { 'big.bin': randomBytes(24 << 20) }, labels: { full: 'yes' } });
    await pushImage({ url: fx.reg.url }, 'test/full', 'latest', img);
    await smallDataRoot(40);
    const ref = `${fx.reg.domain}/test/full:latest`;
    await fx.docker.ok(['pull', '-q', `${fx.reg.domain}/test/busybox:latest`]);
    const small = `${fx.reg.domain}/test/busybox:latest`;

    // Pull: the 24 MiB layer fits as a blob but not unpacked beside it.
    const pull = await fx.docker.run(['pull', ref], { timeoutMs: 60_000 });
    assert.notEqual(pull.code, 0, pull.stdout);
    assert.match(pull.stderr, /failed to register layer \w+: write: no space left on device/, pull.stderr);
    assert.doesNotMatch(pull.stderr, /ENOSPC/, 'worded for a user');
    assert.notEqual((await fx.docker.run(['image', 'inspect', ref])).code, 0, 'no half image');
    await assertStoreConsistent('after the failed pull');

    // Commit: 12 MiB in the container's upper fits; the tar and its unpacked copy do not.
    await fx.docker.ok(['run', '-d', '--name', 'full-commit', small, 'sleep', '1000']);
    await fx.docker.ok(['exec', 'full-commit', 'sh', '-c', 'head -c 14m /dev/urandom > /data.bin']);
    const commit = await fx.docker.run(['commit', 'full-commit', 'full:commit'], { timeoutMs: 60_000 });
    assert.notEqual(commit.code, 0, commit.stdout);
    assert.match(commit.stderr, /no space left on device/, commit.stderr);
    assert.doesNotMatch(commit.stderr, /ENOSPC/, 'worded for a user');
    await assertStoreConsistent('after the failed commit');
    await fx.docker.ok(['exec', 'full-commit', 'true']);

    // Space freed: the same pull and commit work.
    await grow(200);
    await fx.docker.ok(['pull', ref], { timeoutMs: 60_000 });
    const id = await fx.docker.ok(['image', 'inspect', '--format', '{{.Id}}', ref]);
    assert.equal(id.stdout.trim(), img.config.digest);
    await fx.docker.ok(['commit', 'full-commit', 'full:commit'], { timeoutMs: 60_000 });
    await fx.docker.ok(['rm', '-f', 'full-commit']);
    await assertStoreConsistent('after space was freed');
    process.stderr.write(`# full disk: pull said ${JSON.stringify(pull.stderr.trim())}; commit said ${JSON.stringify(commit.stderr.trim())}\n`);
  });
});

const show = showListener;

describe('exposure', () => {
  test('the agent listens on loopback only, but where -p asked; published ports honour the address', async () => {
    const [pid, ...more] = pidsWith(AGENT_MAIN, fx.agent.current.socket);
    assert.ok(pid && !more.length, `one agent process for ${fx.agent.current.socket}`);
    // On a user-defined network too, which has the engine's DNS.
    await fx.docker.ok(['network', 'create', 'exposed-net']);
    await fx.docker.ok([
      'run',
      '-d',
      '--name',
      'exposed',
      '--network',
      'exposed-net',
      '-p',
      '127.0.0.1::80',
      '-p',
      '0.0.0.0::81',
      '-p',
      '127.0.0.1::53/udp',
      fx.image,
      'sleep',
      '1000',
    ]);
    const ports = (await api('GET', '/containers/exposed/json')).json<{ NetworkSettings: { Ports: Record<string, { HostIp: string; HostPort: string }[]> } }>()
      .NetworkSettings.Ports;
    const hostPort = (key: string) => Number(ports[key]![0]!.HostPort);
    const dnsAt = (await api('GET', '/networks/exposed-net')).json<{ IPAM: { Config: { Gateway: string }[] } }>().IPAM.Config[0]!.Gateway;
    const mine = listenersOf(pid);
    process.stderr.write(`# agent listeners: ${mine.map(show).join(', ')}\n`);
    // What -p asked for, exactly.
    assert.ok(
      mine.some((l) => l.proto === 'tcp' && l.addr === '127.0.0.1' && l.port === hostPort('80/tcp')),
      '-p 127.0.0.1::80',
    );
    assert.ok(
      mine.some((l) => l.proto === 'tcp' && l.addr === '0.0.0.0' && l.port === hostPort('81/tcp')),
      '-p 0.0.0.0::81',
    );
    assert.ok(
      mine.some((l) => l.proto === 'udp' && l.addr === '127.0.0.1' && l.port === hostPort('53/udp')),
      '-p 127.0.0.1::53/udp',
    );
    assert.ok(!mine.some((l) => l.port === hostPort('80/tcp') && !isLoopback(l.addr)), 'the loopback publication is on loopback only');
    // Everything else on loopback, but the engine's DNS for a user-defined network's containers, on
    // its gateway address (known: dockerd serves it inside each container's namespace instead).
    const isDns = (l: Listener) => l.addr === dnsAt && l.port === 53;
    assert.deepEqual(mine.filter(isDns).map(show).sort(), [`tcp ${dnsAt}:53`, `udp ${dnsAt}:53`]);
    const unasked = mine.filter((l) => !isLoopback(l.addr) && !(l.proto === 'tcp' && l.port === hostPort('81/tcp')) && !isDns(l));
    assert.deepEqual(unasked.map(show), [], 'listeners nobody asked for');
    await fx.docker.ok(['rm', '-f', 'exposed']);
    await fx.docker.ok(['network', 'rm', 'exposed-net']);
    assert.deepEqual(
      listenersOf(pid)
        .filter((l) => [hostPort('80/tcp'), hostPort('81/tcp'), hostPort('53/udp')].includes(l.port))
        .map(show),
      [],
      'closed with the container',
    );
  });

  test('the web-mode dashboard listens on loopback only and refuses a cross-site form post', async () => {
    const web = await startWebMode(['--engine-socket', fx.agent.current.socket], { BERTH_BUNDLED_IMAGES: join(tmpdir(), 'berth-no-bundled-images') });
    try {
      const pids = pidsWith('cli.ts', 'web', fx.agent.current.socket);
      assert.ok(pids.length > 0, 'the berth web process');
      const mine = pids.flatMap(listenersOf);
      process.stderr.write(`# web listeners: ${mine.map(show).join(', ')}\n`);
      assert.ok(
        mine.some((l) => l.port === web.port),
        'its own port is among them',
      );
      assert.deepEqual(mine.filter((l) => !isLoopback(l.addr)).map(show), []);
      const auth = { 'x-berth-token': web.token };
      const post = (headers: Record<string, string>, body = '[]') => fetch(`${web.origin}/api/call/noSuchCall`, { method: 'POST', headers, body });
      // Another site's script, even one that had the token: no Origin, Sec-Fetch-Site cross-site; or a foreign Origin.
      assert.equal((await post({ ...auth, 'sec-fetch-site': 'cross-site', 'content-type': 'application/json' })).status, 403);
      assert.equal((await post({ ...auth, origin: 'http://evil.example', 'content-type': 'application/json' })).status, 403);
      // A form on another site cannot set a header: what it sends is a form content type and no token.
      assert.equal((await post({ 'content-type': 'application/x-www-form-urlencoded' }, 'a=1')).status, 403);
      assert.equal((await post({ 'content-type': 'text/plain' })).status, 403);
      // The dashboard's own call gets past the guard (to a 404 for a call that does not exist), and only with the token.
      const own = { 'sec-fetch-site': 'same-origin', 'content-type': 'application/json', origin: web.origin };
      assert.equal((await post({ ...own, ...auth })).status, 404);
      assert.equal((await post(own)).status, 401);
      assert.equal((await post({ ...own, cookie: `berth_token_${web.port}=${web.token}` })).status, 401, 'a cookie is no token');
    } finally {
      await web.stop();
    }
  });
});

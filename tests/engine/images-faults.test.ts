/**
 * Images under bad input and faults: malformed requests, bad references,
 * unknown images, a registry that is down or lies about a digest, a
 * kill -9 in the middle of a pull, and a client that goes away mid-pull.
 * Each time the agent must say what went wrong, keep nothing half made, and
 * go on serving.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startAgent, useAgent } from '../helpers/agent.js';
import { DockerCli, engineRequest } from '../helpers/docker.js';
import { freePort, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startStallingProxy, startTamperProxy, type StallingProxy } from '../helpers/proxy.js';
import { startPull } from '../helpers/pull-stream.js';
import { imageStoreProblems, imageStoreState } from './hardening-fixture.js';
import { buildBusyboxImage, pushImage, type BuiltImage } from '../helpers/test-images.js';

const agent = useAgent();
let reg: TestRegistry;
let docker: DockerCli;
let img: BuiltImage;

before(async () => {
  await agent.ready;
  reg = await startRegistry();
  docker = new DockerCli(agent.current.socket);
  img = await buildBusyboxImage({ layerCount: 3, labels: { faults: 'yes' } });
  await pushImage({ url: reg.url }, 'test/faults', 'latest', img);
});

after(async () => {
  docker?.dispose();
  await reg?.stop();
});

const api = (method: string, path: string, opts: Parameters<typeof engineRequest>[3] = {}) => engineRequest(agent.current.socket, method, path, opts);

const storeState = () => imageStoreState(agent.current.dataRoot);

async function stillServes() {
  const r = await api('GET', '/_ping');
  assert.equal(r.status, 200);
  assert.equal(r.text(), 'OK');
}

describe('bad requests', () => {
  test('malformed JSON is a 400', async () => {
    const r = await api('POST', '/auth', { body: '{"username": ', headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400);
    assert.match(r.json<{ message: string }>().message, /invalid JSON/);
    await stillServes();
  });

  test('trailing bytes after the JSON are a 400', async () => {
    const r = await api('POST', '/auth', { body: '{"username":"a"} x', headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 400);
    await stillServes();
  });

  test('a non-JSON content type is refused', async () => {
    const r = await api('POST', '/auth', { body: 'username=a', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(r.status, 400);
    assert.match(r.json<{ message: string }>().message, /unsupported Content-Type header \(application\/x-www-form-urlencoded\): must be 'application\/json'/);
  });

  test('an invalid reference is a 400 with dockerd wording', async () => {
    const upper = await api('POST', '/images/create?fromImage=Foo&tag=latest');
    assert.equal(upper.status, 400);
    assert.equal(upper.json<{ message: string }>().message, 'invalid reference format: repository name (library/Foo) must be lowercase');
    const junk = await api('POST', '/images/create?fromImage=a%20b');
    assert.equal(junk.status, 400);
    assert.equal(junk.json<{ message: string }>().message, 'invalid reference format');
    const cli = await docker.run(['tag', 'nosuch', 'UPPER/x']);
    assert.notEqual(cli.code, 0);
    await stillServes();
  });

  test('an unknown image is a 404 "No such image"', async () => {
    const r = await api('GET', '/images/nosuch/json');
    assert.equal(r.status, 404);
    assert.equal(r.json<{ message: string }>().message, 'No such image: nosuch:latest');
    const cli = await docker.run(['rmi', 'nosuch:1.0']);
    assert.match(cli.stderr, /No such image: nosuch:1\.0/);
    const missing = await docker.run(['pull', `${reg.domain}/test/faults:nope`]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, new RegExp(`manifest for ${reg.domain}/test/faults:nope not found: manifest unknown`));
    await stillServes();
  });

  test('API versions outside the served range are refused', async () => {
    const tooNew = await api('GET', '/v1.99/version');
    assert.equal(tooNew.status, 400);
    assert.match(tooNew.json<{ message: string }>().message, /client version 1\.99 is too new\. Maximum supported API version is 1\.47/);
    const tooOld = await api('GET', '/v1.12/version');
    assert.equal(tooOld.status, 400);
    assert.match(tooOld.json<{ message: string }>().message, /client version 1\.12 is too old\. Minimum supported API version is 1\.24/);
    const ok = await api('GET', '/v1.41/version');
    assert.equal(ok.status, 200);
  });
});

describe('registry faults', () => {
  test('a registry that is down: a clear error, nothing stored', async () => {
    const before = await storeState();
    const port = await freePort();
    const r = await docker.run(['pull', `127.0.0.1:${port}/x/y:1`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`dial tcp 127\\.0\\.0\\.1:${port}: connect: connection refused`));
    assert.deepEqual(await storeState(), before);
    await stillServes();
  });

  test('a layer whose bytes do not match its digest: refused, nothing stored', async () => {
    const victim = img.layers[1]!.digest;
    const proxy = await startTamperProxy(reg.url, (req, res) => {
      if (req.method === 'GET' && req.path.endsWith(`/blobs/${victim}`)) {
        const body = Buffer.from(res.body);
        body[body.length - 10]! ^= 0xff;
        res.body = body;
      }
    });
    try {
      const before = await storeState();
      const r = await docker.run(['pull', `${proxy.domain}/test/faults:latest`]);
      assert.notEqual(r.code, 0);
      assert.match(r.stdout + r.stderr, new RegExp(`verification failed for digest ${victim}|${victim}`));
      assert.deepEqual(await storeState(), before, 'no blob, layer or record kept');
      assert.notEqual((await docker.run(['image', 'inspect', `${proxy.domain}/test/faults:latest`])).code, 0);
      await stillServes();
    } finally {
      await proxy.close();
    }
  });

  test('a manifest that does not match the digest asked for is refused', async () => {
    const other = await buildBusyboxImage({ layerCount: 1, labels: { other: 'yes' } });
    const pushed = await pushImage({ url: reg.url }, 'test/other', 'latest', other);
    const proxy = await startTamperProxy(reg.url, (req, res) => {
      if (req.path.includes('/manifests/')) {
        const m = JSON.parse(res.body.toString());
        m.annotations = { tampered: 'yes' };
        res.body = Buffer.from(JSON.stringify(m));
        delete res.headers['docker-content-digest'];
      }
    });
    try {
      const before = await storeState();
      const r = await docker.run(['pull', `${proxy.domain}/test/other@${pushed.digest}`]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /verification failed|digest/);
      assert.deepEqual(await storeState(), before);
    } finally {
      await proxy.close();
    }
  });
});

describe('kill -9 during a pull', () => {
  let stall: StallingProxy | undefined;
  after(() => stall?.close());

  test('after a restart only complete images are listed, and the pull can be done again', async () => {
    // An image of its own (no layer shared with the others), and a proxy that
    // serves manifests and configs but stalls every layer blob half way.
    const { randomBytes } = await import('node:crypto');
    const img = await buildBusyboxImage({ layerCount: 3, extraFiles: { 'big.bin': randomBytes(4 << 20) }, labels: { crash: 'yes' } });
    await pushImage({ url: reg.url }, 'test/crash', 'latest', img);
    const big = img.layers[2]!;
    stall = await startStallingProxy(reg, big);
    const { port } = stall;
    const name = `127.0.0.1:${port}/test/crash:latest`;
    const pulling = docker.run(['pull', name], { timeoutMs: 30_000 });
    // Wait until the agent is writing the layers, then crash it.
    const ingest = join(agent.current.dataRoot, 'images/ingest');
    // (what was seen is kept: a small layer's ingest file can come and go between two reads)
    const deadline = Date.now() + 15_000;
    let writing = false;
    while (Date.now() < deadline && !(writing = existsSync(ingest) && (await readdir(ingest)).length > 0)) await new Promise((r) => setTimeout(r, 50));
    assert.ok(writing, 'the pull got as far as writing a layer');
    await agent.current.kill9();
    await pulling;
    await agent.current.restart();
    const state = await storeState();
    assert.deepEqual(state.ingest, [], 'half-written blobs are swept');
    assert.ok(!state.layers.some((n) => n.startsWith('.tmp-')), 'half-unpacked layers are swept');
    const listed = await docker.ok(['images', '--format', '{{.Repository}}']);
    assert.ok(!listed.stdout.includes(`127.0.0.1:${port}`), listed.stdout);
    assert.ok(!state.blobs.includes(big.digest.slice(7)), 'no blob of the stalled layer');
    assert.ok(!state.layers.includes(img.diffIds[2]!.slice(7)), 'no unpacked stalled layer');
    // The same image pulls whole from the real registry.
    const again = await docker.ok(['pull', `${reg.domain}/test/crash:latest`]);
    assert.match(again.stdout, /Downloaded newer image/);
    const id = await docker.ok(['image', 'inspect', '--format', '{{.Id}}', `${reg.domain}/test/crash:latest`]);
    assert.equal(id.stdout.trim(), img.config.digest);
  });
});

describe('a registry that stops sending mid-layer', () => {
  test('the pull fails after the stall timeout, keeps nothing, and the layer can be pulled again', async () => {
    const { randomBytes } = await import('node:crypto');
    const img = await buildBusyboxImage({ layerCount: 2, extraFiles: { 'stall.bin': randomBytes(2 << 20) }, labels: { stall: 'yes' } });
    await pushImage({ url: reg.url }, 'test/stall', 'latest', img);
    const big = img.layers[1]!;
    const stall = await startStallingProxy(reg, big);
    const { port } = stall;
    const own = await startAgent({ args: ['--registry-stall-timeout', '1'] });
    const cli = new DockerCli(own.socket);
    try {
      const started = Date.now();
      const r = await cli.run(['pull', `127.0.0.1:${port}/test/stall:latest`], { timeoutMs: 30_000 });
      assert.ok(!r.timedOut, 'the pull ended on its own');
      assert.notEqual(r.code, 0);
      assert.match(r.stdout + r.stderr, new RegExp(`the registry stopped sending layer ${big.digest.slice(7, 19)} \\(nothing for 1 s\\); try the pull again`));
      assert.ok(Date.now() - started < 20_000);
      const blobs = await readdir(join(own.dataRoot, 'images/blobs/sha256'));
      assert.ok(!blobs.includes(big.digest.slice(7)), 'no blob of the stalled layer');
      // The same layer is not held by the failed pull: a pull from the real registry completes.
      const again = await cli.ok(['pull', `${reg.domain}/test/stall:latest`], { timeoutMs: 30_000 });
      assert.match(again.stdout, /Downloaded newer image/);
    } finally {
      cli.dispose();
      await own.dispose();
      await stall.close();
    }
  });
});

/** Polls until `check` holds; fails naming `what` after `timeoutMs`. */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a client that goes away mid-pull', () => {
  /** An image of its own whose last layer (4 MiB of random bytes) the proxy stalls half way. */
  async function stalledImage(name: string) {
    const { randomBytes } = await import('node:crypto');
    const img = await buildBusyboxImage({ layerCount: 3, extraFiles: { 'big.bin': randomBytes(4 << 20) }, labels: { [name]: 'yes' } });
    await pushImage({ url: reg.url }, `test/${name}`, 'latest', img);
    const big = img.layers[2]!;
    return { img, big, proxy: await startStallingProxy(reg, big) };
  }
  const unpacking = async () => (await storeState()).layers.some((n) => n.startsWith('.tmp-'));
  const pullEvents = async (since: number) =>
    (await api('GET', `/events?since=${since}&until=${Math.ceil(Date.now() / 1000) + 1}&filters=${encodeURIComponent('{"type":["image"],"event":["pull"]}')}`))
      .text()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { id: string });

  test('cancels the pull: the registry connection closes, nothing half made is kept, and the pull works again', async () => {
    const { img, big, proxy } = await stalledImage('cancel');
    const since = Math.floor(Date.now() / 1000);
    try {
      const ref = `${proxy.domain}/test/cancel:latest`;
      const pull = startPull(agent.current.socket, ref);
      // The agent is half way through the big layer, writing its blob and unpacking it.
      await until('the stalled layer half sent', () => proxy.stalledOpen === 1);
      await until('the layer being ingested and unpacked', async () => (await storeState()).ingest.length > 0 && (await unpacking()));
      assert.ok(!pull.ended(), 'the pull is still running');
      pull.disconnect();
      // Only a cancel closes it this soon: the agent's stall timeout is 60 s.
      await until('the agent closing its registry connection', () => proxy.stalledClosed === 1);
      await until('the half-written blob and half-unpacked layer removed', async () => {
        const s = await storeState();
        return s.ingest.length === 0 && !s.layers.some((n) => n.startsWith('.tmp-'));
      });
      const state = await storeState();
      assert.ok(!state.blobs.includes(big.digest.slice(7)), 'no blob of the cancelled layer');
      assert.ok(!state.layers.includes(img.diffIds[2]!.slice(7)), 'no unpacked cancelled layer');
      assert.ok(!state.blobs.includes(img.config.digest.slice(7)), 'no config blob of the cancelled image');
      assert.deepEqual(await imageStoreProblems(agent.current.dataRoot), []);
      assert.notEqual((await docker.run(['image', 'inspect', ref])).code, 0, 'no image recorded');
      const listed = await docker.ok(['images', '--format', '{{.Repository}}']);
      assert.ok(!listed.stdout.includes(proxy.domain), listed.stdout);
      assert.deepEqual(await pullEvents(since), [], 'no pull event');
      await stillServes();
      // The same image pulls whole (from the registry itself: the proxy always stalls).
      const again = await docker.ok(['pull', `${reg.domain}/test/cancel:latest`]);
      assert.match(again.stdout, /Downloaded newer image/);
      const id = await docker.ok(['image', 'inspect', '--format', '{{.Id}}', `${reg.domain}/test/cancel:latest`]);
      assert.equal(id.stdout.trim(), img.config.digest);
      assert.deepEqual(
        (await pullEvents(since)).map((e) => e.id),
        [`${reg.domain}/test/cancel:latest`],
      );
    } finally {
      await proxy.close();
    }
  });

  test('two clients pulling the same layer: one going away does not cancel the other', async () => {
    const { img, big, proxy } = await stalledImage('shared');
    try {
      // A unpacks the big layer from the stalling proxy; B, pulling the same image
      // from the registry itself, joins that unpack (one unpack per layer).
      const a = startPull(agent.current.socket, `${proxy.domain}/test/shared:latest`);
      await until('A half way through the big layer', async () => proxy.stalledOpen === 1 && (await unpacking()));
      const b = startPull(agent.current.socket, `${reg.domain}/test/shared:latest`);
      await until("B's copy of the big blob stored", async () => (await storeState()).blobs.includes(big.digest.slice(7)));
      assert.ok(!b.ended(), 'B waits on the unpack it shares with A');
      a.disconnect();
      await until('A cancelled', () => proxy.stalledClosed === 1);
      const done = await b.done;
      const errors = done.messages.filter((m) => m.error !== undefined);
      assert.deepEqual(errors, [], 'B ended without an error');
      assert.equal(done.status, 200);
      assert.ok(
        done.messages.some((m) => /Downloaded newer image/.test(String(m.status))),
        JSON.stringify(done.messages.slice(-3)),
      );
      const inspect = await docker.ok(['image', 'inspect', '--format', '{{.Id}} {{len .RootFS.Layers}}', `${reg.domain}/test/shared:latest`]);
      assert.equal(inspect.stdout.trim(), `${img.config.digest} 3`);
      assert.notEqual((await docker.run(['image', 'inspect', `${proxy.domain}/test/shared:latest`])).code, 0, 'A recorded nothing');
      assert.ok((await storeState()).layers.includes(img.diffIds[2]!.slice(7)), 'the big layer is unpacked');
      assert.deepEqual(await imageStoreProblems(agent.current.dataRoot), []);
      // B's image is whole: it can be saved (every blob read back).
      const out = join(agent.current.dataRoot, '..', 'shared-save.tar');
      const saved = await docker.run(['save', `${reg.domain}/test/shared:latest`, '-o', out]);
      assert.equal(saved.code, 0, saved.stderr);
      await rm(out, { force: true });
    } finally {
      await proxy.close();
    }
  });
});

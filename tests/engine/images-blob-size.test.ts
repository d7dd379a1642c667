/**
 * A registry that sends a blob of another size than its descriptor says
 * (issue #15): the pull is refused naming the digest and both sizes, the
 * connection is cut at the first byte over (a registry streaming without end
 * cannot fill the disk), nothing is kept, and the engine pulls a good image
 * afterwards. Driven through the docker CLI against the real test registry,
 * behind proxies that misbehave.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { startOversizeProxy, startTamperProxy } from '../helpers/proxy.js';
import { buildBusyboxImage, buildIndex, pushImage, pushIndex, type BuiltImage } from '../helpers/test-images.js';
import { useContainersFixture } from './containers-fixture.js';
import { imageStoreProblems, imageStoreState } from './hardening-fixture.js';

const fx = useContainersFixture();
let built: Promise<BuiltImage> | undefined;
/** The image the proxies serve wrongly, pushed once (the fixture's registry is up only when a test runs). */
const sizedImage = () =>
  (built ??= (async () => {
    // Random bytes make its last layer its own: a layer the store already holds is not fetched at all.
    const img = await buildBusyboxImage({ layerCount: 2, extraFiles: { 'sized.bin': randomBytes(64 << 10) }, labels: { blobSize: 'yes' } });
    await pushImage({ url: fx.reg.url }, 'test/sized', 'latest', img);
    return img;
  })());

const larger = (b: { digest: string; size: number }) =>
  new RegExp(`blob ${b.digest} is larger than its descriptor's ${b.size} bytes: the registry sent more; pull refused`);

/** Pulls `ref`, which must fail matching `why`, and proves the store is as it was. */
async function refused(ref: string, why: RegExp): Promise<void> {
  const before = await imageStoreState(fx.agent.current.dataRoot);
  const r = await fx.docker.run(['pull', ref], { timeoutMs: 60_000 });
  assert.ok(!r.timedOut, 'the pull ended on its own');
  assert.notEqual(r.code, 0);
  assert.match(r.stdout + r.stderr, why);
  assert.deepEqual(await imageStoreState(fx.agent.current.dataRoot), before, 'no blob, ingest file, layer or record kept');
  assert.deepEqual(await imageStoreProblems(fx.agent.current.dataRoot), []);
  assert.notEqual((await fx.docker.run(['image', 'inspect', ref])).code, 0, 'no image recorded');
}

/** The engine still pulls a good image: the real registry's. */
async function pullsGoodImage(): Promise<void> {
  const img = await sizedImage();
  const ref = `${fx.reg.domain}/test/sized:latest`;
  await fx.docker.ok(['pull', ref]);
  assert.equal((await fx.docker.ok(['image', 'inspect', '--format', '{{.Id}}', ref])).stdout.trim(), img.config.digest);
  await fx.docker.ok(['rmi', ref]);
}

test('a layer the registry goes on sending past its size: cut off at once, refused, nothing kept', async () => {
  const img = await sizedImage();
  const victim = img.layers[1]!;
  // 1 GiB more than the layer: a pull that buffered or stored the excess would take far longer than the test.
  const proxy = await startOversizeProxy(fx.reg, victim.digest, 1 << 30);
  try {
    await refused(`${proxy.domain}/test/sized:latest`, larger(victim));
    assert.ok(proxy.cutOff, 'the agent closed the connection');
    // What was in flight (socket buffers) when the agent stopped reading, not the gigabyte.
    assert.ok(proxy.extraSent < 64 << 20, `${proxy.extraSent} extra bytes sent before the cut`);
  } finally {
    await proxy.close();
  }
  await pullsGoodImage();
});

test('a config larger than its descriptor: refused', async () => {
  const img = await sizedImage();
  const proxy = await startTamperProxy(fx.reg.url, (req, res) => {
    if (req.method === 'GET' && req.path.endsWith(`/blobs/${img.config.digest}`)) res.body = Buffer.concat([res.body, Buffer.from(' '.repeat(100))]);
  });
  try {
    await refused(`${proxy.domain}/test/sized:latest`, larger(img.config));
  } finally {
    await proxy.close();
  }
  await pullsGoodImage();
});

test('a layer that ends short of its size: refused naming both sizes', async () => {
  const img = await sizedImage();
  const victim = img.layers[1]!;
  const short = victim.size - 100;
  const proxy = await startTamperProxy(fx.reg.url, (req, res) => {
    if (req.method === 'GET' && req.path.endsWith(`/blobs/${victim.digest}`)) res.body = res.body.subarray(0, short);
  });
  try {
    await refused(
      `${proxy.domain}/test/sized:latest`,
      new RegExp(`blob ${victim.digest} is smaller than its descriptor's ${victim.size} bytes: the registry sent ${short}; pull refused`),
    );
  } finally {
    await proxy.close();
  }
  await pullsGoodImage();
});

test("an index entry's manifest larger than the index says: refused", async () => {
  const img = await sizedImage();
  const index = buildIndex([img]);
  await pushIndex({ url: fx.reg.url }, 'test/sized-index', 'latest', [img], index);
  const proxy = await startTamperProxy(fx.reg.url, (req, res) => {
    if (req.method === 'GET' && req.path.endsWith(`/manifests/${img.manifest.digest}`)) res.body = Buffer.concat([res.body, Buffer.from('\n'.repeat(10))]);
  });
  try {
    await refused(`${proxy.domain}/test/sized-index:latest`, larger(img.manifest));
  } finally {
    await proxy.close();
  }
  await pullsGoodImage();
});

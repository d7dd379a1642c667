/**
 * The engine's registry client against a real registry (distribution 2.8)
 * holding images built and pushed by an independent implementation
 * (tests/helpers/test-images.ts).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createGunzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { isEngineError } from '../../apps/vm-agent/src/errors.js';
import { MAX_MANIFEST_BYTES, RegistryClient } from '../../apps/vm-agent/src/images/registry-client.js';
import { freePort, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startTamperProxy } from '../helpers/proxy.js';
import { MEDIA, buildBusyboxImage, buildIndex, makeBlob, pushImage, pushIndex, pushRawManifest, sha256, type BuiltImage } from '../helpers/test-images.js';

const ACCEPT = [MEDIA.ociIndex, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.dockerManifest];

async function digestOfStream(body: Readable, gunzip = false): Promise<{ digest: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  const source = gunzip ? body.pipe(createGunzip()) : body;
  await pipeline(source, async function* (chunks: AsyncIterable<Buffer>) {
    for await (const c of chunks) {
      h.update(c);
      bytes += c.length;
    }
  });
  return { digest: `sha256:${h.digest('hex')}`, bytes };
}

/** Asserts the promise rejects with an EngineError of `kind` whose message matches. */
async function rejectsWith(p: Promise<unknown>, kind: string, message: RegExp | string) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isEngineError(err), `expected an EngineError, got ${String(err)}`);
    assert.equal(err.kind, kind, `kind of: ${err.message}`);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

describe('registry client, anonymous registry', () => {
  let reg: TestRegistry;
  let docker: BuiltImage;
  let oci: BuiltImage;
  let arm: BuiltImage;
  const client = new RegistryClient({ userAgent: 'berth-test' });
  const repo = (path: string) => ({ domain: reg.domain, path });

  before(async () => {
    reg = await startRegistry();
    docker = await buildBusyboxImage({ layerCount: 2 });
    oci = await buildBusyboxImage({ format: 'oci', layerCount: 3 });
    arm = await buildBusyboxImage({ architecture: 'arm64', variant: 'v8', layerCount: 2 });
    await pushImage(reg, 'busybox', 'latest', docker);
    await pushImage(reg, 'oci/busybox', 'v1', oci);
    await pushIndex(reg, 'multi', 'latest', [docker, arm]);
  });
  after(async () => {
    await reg?.stop();
  });

  test('fetches a schema2 manifest by tag and by digest', async () => {
    const byTag = await client.fetchManifest(repo('busybox'), 'latest', ACCEPT);
    assert.equal(byTag.mediaType, MEDIA.dockerManifest);
    assert.equal(byTag.digest, docker.manifest.digest);
    assert.deepEqual(byTag.body, docker.manifest.bytes);
    const byDigest = await client.fetchManifest(repo('busybox'), docker.manifest.digest, ACCEPT);
    assert.equal(byDigest.digest, docker.manifest.digest);
    assert.deepEqual(byDigest.body, docker.manifest.bytes);
  });

  test('fetches an OCI manifest', async () => {
    const m = await client.fetchManifest(repo('oci/busybox'), 'v1', ACCEPT);
    assert.equal(m.mediaType, MEDIA.ociManifest);
    assert.equal(m.digest, oci.manifest.digest);
  });

  test('fetches a manifest list, then a platform manifest by its digest', async () => {
    const list = await client.fetchManifest(repo('multi'), 'latest', ACCEPT);
    assert.equal(list.mediaType, MEDIA.dockerList);
    const parsed = JSON.parse(list.body.toString()) as { manifests: { digest: string; platform: { architecture: string } }[] };
    assert.deepEqual(
      parsed.manifests.map((m) => m.platform.architecture),
      ['amd64', 'arm64'],
    );
    const armManifest = await client.fetchManifest(repo('multi'), parsed.manifests[1]!.digest, ACCEPT);
    assert.equal(armManifest.digest, arm.manifest.digest);
    assert.equal(armManifest.mediaType, MEDIA.dockerManifest);
  });

  test('streams blobs with their size; content matches digest and diff_id', async () => {
    await Promise.all(
      oci.layers.map(async (layer) => {
        const blob = await client.fetchBlob(repo('oci/busybox'), layer.digest);
        assert.equal(blob.size, layer.size);
        const { digest, bytes } = await digestOfStream(blob.body);
        assert.equal(digest, layer.digest);
        assert.equal(bytes, layer.size);
      }),
    );
    const first = await client.fetchBlob(repo('oci/busybox'), oci.layers[0]!.digest);
    assert.equal((await digestOfStream(first.body, true)).digest, oci.diffIds[0]);
    const config = await client.fetchBlob(repo('oci/busybox'), oci.config.digest);
    assert.equal((await digestOfStream(config.body)).digest, oci.config.digest);
  });

  test('blobExists tells present from absent', async () => {
    assert.equal(await client.blobExists(repo('busybox'), docker.layers[0]!.digest), true);
    assert.equal(await client.blobExists(repo('busybox'), sha256('not a blob')), false);
    assert.equal(await client.blobExists(repo('nothing-here'), docker.layers[0]!.digest), false);
  });

  test('a missing blob is notFound', async () => {
    await rejectsWith(client.fetchBlob(repo('busybox'), sha256('nope')), 'not-found', /blob unknown/);
  });

  test('pushes a copy under another name with cross-repository mounts, and reads it back', async () => {
    const target = repo('copies/busybox');
    for (const b of [...docker.layers, docker.config]) {
      assert.equal(await client.blobExists(target, b.digest), false);
      await client.uploadBlob(target, b.digest, b.size, () => Readable.from([b.bytes]), { mountFrom: 'busybox' });
      assert.equal(await client.blobExists(target, b.digest), true);
    }
    const digest = await client.putManifest(target, 'copy', MEDIA.dockerManifest, docker.manifest.bytes);
    assert.equal(digest, docker.manifest.digest);
    const back = await client.fetchManifest(target, 'copy', ACCEPT);
    assert.deepEqual(back.body, docker.manifest.bytes);
    // Independent check through plain HTTP: the tag resolves to the same digest.
    const res = await fetch(`${reg.url}/v2/copies/busybox/manifests/copy`, { method: 'HEAD', headers: { accept: MEDIA.dockerManifest } });
    assert.equal(res.headers.get('docker-content-digest'), docker.manifest.digest);
  });

  test('uploads content the registry does not have (no mount source), in chunks of a stream', async () => {
    const target = repo('fresh/upload');
    const content = Buffer.alloc(3 * 1024 * 1024 + 17, 'berth');
    const digest = sha256(content);
    const open = () =>
      Readable.from(
        (function* () {
          for (let i = 0; i < content.length; i += 65536) yield content.subarray(i, i + 65536);
        })(),
      );
    await client.uploadBlob(target, digest, content.length, open, { mountFrom: 'busybox' }); // not there: falls back to upload
    const res = await fetch(`${reg.url}/v2/fresh/upload/blobs/${digest}`);
    assert.equal(res.status, 200);
    assert.equal(sha256(Buffer.from(await res.arrayBuffer())), digest);
  });

  test('an upload whose content does not match its digest is refused', async () => {
    const content = Buffer.from('some bytes');
    await assert.rejects(
      client.uploadBlob(repo('fresh/bad'), sha256('other bytes'), content.length, () => Readable.from([content])),
      (err: unknown) => isEngineError(err) && /uploading sha256:/.test(err.message),
    );
    assert.equal(await client.blobExists(repo('fresh/bad'), sha256('other bytes')), false);
  });

  test('putManifest refuses a digest reference that is not the content digest', async () => {
    await rejectsWith(
      client.putManifest(repo('busybox'), sha256('x'), MEDIA.dockerManifest, docker.manifest.bytes),
      'invalid-parameter',
      /its content has digest/,
    );
  });

  test('an unknown tag or digest is notFound, worded as dockerd does', async () => {
    await rejectsWith(
      client.fetchManifest(repo('busybox'), 'nope', ACCEPT),
      'not-found',
      `manifest for ${reg.domain}/busybox:nope not found: manifest unknown: manifest unknown`,
    );
    const other = sha256('other content');
    await rejectsWith(
      client.fetchManifest(repo('busybox'), other, ACCEPT),
      'not-found',
      `manifest for ${reg.domain}/busybox@${other} not found: manifest unknown: manifest unknown`,
    );
    await rejectsWith(client.fetchManifest(repo('no/such/repo'), 'latest', ACCEPT), 'not-found', /^manifest for .* not found: /);
  });

  test('manifests up to 4 MiB are accepted', async () => {
    // The registry itself refuses manifests over 4 MiB; one just under passes both.
    const json = JSON.parse(oci.manifest.bytes.toString()) as Record<string, unknown>;
    const base = Buffer.byteLength(JSON.stringify({ ...json, annotations: { pad: '' } }));
    json.annotations = { pad: 'p'.repeat(MAX_MANIFEST_BYTES - base - 100) };
    const big = makeBlob(MEDIA.ociManifest, Buffer.from(JSON.stringify(json)));
    assert.ok(big.size > MAX_MANIFEST_BYTES - 200 && big.size < MAX_MANIFEST_BYTES);
    await pushRawManifest(reg, 'oci/busybox', 'almost-4mib', big);
    const m = await client.fetchManifest(repo('oci/busybox'), 'almost-4mib', ACCEPT);
    assert.equal(m.digest, big.digest);
  });

  test('refuses a manifest over 4 MiB, and content that does not match the digest asked for', async () => {
    const pad = Buffer.alloc(MAX_MANIFEST_BYTES, ' ');
    const proxy = await startTamperProxy(reg.url, (req, res) => {
      if (!req.path.includes('/manifests/')) return;
      if (req.path.includes('/oversized/')) res.body = Buffer.concat([res.body, pad]);
      if (req.path.includes('/tampered/')) {
        res.body = Buffer.concat([res.body, Buffer.from('\n')]);
        delete res.headers['docker-content-digest']; // the header is optional; the check must not rely on it
      }
      if (req.path.includes('/lying/')) res.headers['docker-content-digest'] = sha256('lie');
    });
    try {
      const via = (path: string) => ({ domain: proxy.domain, path });
      // The proxy forwards paths as they are; serve the same repository under three names.
      for (const name of ['oversized', 'tampered', 'lying']) await pushImage(reg, `${name}/busybox`, 'latest', docker);
      await rejectsWith(client.fetchManifest(via('oversized/busybox'), 'latest', ACCEPT), 'invalid-parameter', /too large.*4 MiB/);
      await rejectsWith(
        client.fetchManifest(via('tampered/busybox'), docker.manifest.digest, ACCEPT),
        'system',
        new RegExp(`manifest verification failed for digest ${docker.manifest.digest}`),
      );
      // By tag, the body's own digest is the answer; a header contradicting it is refused.
      const byTag = await client.fetchManifest(via('tampered/busybox'), 'latest', ACCEPT);
      assert.notEqual(byTag.digest, docker.manifest.digest);
      assert.equal(byTag.digest, sha256(byTag.body));
      await rejectsWith(client.fetchManifest(via('lying/busybox'), 'latest', ACCEPT), 'system', /registry says its digest is/);
    } finally {
      await proxy.close();
    }
  });

  test('an unreachable registry is unavailable, worded as Go does', async () => {
    const port = await freePort();
    await rejectsWith(
      client.fetchManifest({ domain: `127.0.0.1:${port}`, path: 'x' }, 'latest', ACCEPT),
      'unavailable',
      `Get "http://127.0.0.1:${port}/v2/": dial tcp 127.0.0.1:${port}: connect: connection refused`,
    );
  });
});

for (const mode of ['token', 'basic'] as const) {
  describe(`registry client, ${mode} auth`, () => {
    let reg: TestRegistry;
    let img: BuiltImage;
    const repo = () => ({ domain: reg.domain, path: 'private/busybox' });
    const withCreds = (username: string, password: string) =>
      new RegistryClient({ credentials: (d) => (d === reg.domain ? { username, password } : undefined) });

    before(async () => {
      reg = await startRegistry({ auth: mode });
      img = await buildBusyboxImage({ layerCount: 1 });
      await pushImage(reg, 'private/busybox', 'latest', img);
    });
    after(async () => {
      await reg?.stop();
    });

    test('anonymous access is unauthorized', async () => {
      const expected = mode === 'basic' ? /no basic auth credentials$/ : /unauthorized: authentication required$/;
      await rejectsWith(new RegistryClient().fetchManifest(repo(), 'latest', ACCEPT), 'unauthorized', expected);
    });

    test('the right credentials pull and push (tokens for pull, then pull,push)', async () => {
      const client = withCreds(reg.username, reg.password);
      const m = await client.fetchManifest(repo(), 'latest', ACCEPT);
      assert.equal(m.digest, img.manifest.digest);
      // Layers in parallel share one token.
      await Promise.all(
        [...img.layers, img.config].map(async (b) => assert.equal((await digestOfStream((await client.fetchBlob(repo(), b.digest)).body)).digest, b.digest)),
      );
      const target = { domain: reg.domain, path: 'private/copy' };
      for (const b of [...img.layers, img.config]) {
        await client.uploadBlob(target, b.digest, b.size, () => Readable.from([b.bytes]), { mountFrom: 'private/busybox' });
      }
      assert.equal(await client.putManifest(target, 'v1', MEDIA.dockerManifest, img.manifest.bytes), img.manifest.digest);
      assert.equal((await client.fetchManifest(target, 'v1', ACCEPT)).digest, img.manifest.digest);
    });

    test('wrong credentials are refused with the registry message', async () => {
      const client = withCreds(reg.username, 'wrong');
      const expected =
        mode === 'token' ? /^Get "http:\/\/.*": unauthorized: incorrect username or password$/ : /^Get ".*": unauthorized: authentication required$/;
      await rejectsWith(client.fetchManifest(repo(), 'latest', ACCEPT), 'unauthorized', expected);
      await rejectsWith(client.login(reg.domain), 'unauthorized', new RegExp(`^Get "${reg.url}/v2/": unauthorized: `));
    });

    test('login checks credentials; a token server gives an identity token that works alone', async () => {
      const result = await withCreds(reg.username, reg.password).login(reg.domain);
      assert.equal(result.status, 'Login Succeeded');
      if (mode === 'basic') {
        assert.equal(result.identityToken, undefined);
        return;
      }
      assert.ok(result.identityToken, 'the token server handed out a refresh token');
      const byToken = new RegistryClient({ credentials: () => ({ identitytoken: result.identityToken! }) });
      assert.equal((await byToken.fetchManifest(repo(), 'latest', ACCEPT)).digest, img.manifest.digest);
      const badToken = new RegistryClient({ credentials: () => ({ identitytoken: 'forged' }) });
      await rejectsWith(badToken.fetchManifest(repo(), 'latest', ACCEPT), 'unauthorized', /invalid refresh token/);
    });
  });
}

test('an index of OCI images is served as an OCI index', async () => {
  const reg = await startRegistry();
  try {
    const a = await buildBusyboxImage({ format: 'oci', layerCount: 1 });
    const b = await buildBusyboxImage({ format: 'oci', layerCount: 1, architecture: 'arm64' });
    const pushed = await pushIndex(reg, 'ociindex', 'latest', [a, b], buildIndex([a, b], 'oci'));
    const m = await new RegistryClient().fetchManifest({ domain: reg.domain, path: 'ociindex' }, 'latest', ACCEPT);
    assert.equal(m.mediaType, MEDIA.ociIndex);
    assert.equal(m.digest, pushed.digest);
  } finally {
    await reg.stop();
  }
});

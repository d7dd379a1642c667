import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MediaType, parseImageConfig, parseManifest, selectPlatform, type ImageIndex } from './manifest.js';

const D = (c: string) => 'sha256:' + c.repeat(64);
const desc = (c: string, extra: object = {}) => ({ mediaType: MediaType.dockerLayerGzip, digest: D(c), size: 10, ...extra });
const json = (o: unknown) => Buffer.from(JSON.stringify(o));

test('parses a schema 2 manifest and an OCI index', () => {
  const m = parseManifest(json({ schemaVersion: 2, mediaType: MediaType.dockerManifest, config: desc('a'), layers: [desc('b')] }), '');
  assert.equal(m.kind, 'manifest');
  const i = parseManifest(json({ schemaVersion: 2, manifests: [desc('c', { platform: { os: 'linux', architecture: 'amd64' } })] }), MediaType.ociIndex);
  assert.equal(i.kind, 'index');
});

test('refuses ambiguous, schema 1, malformed and zstd documents', () => {
  assert.throws(() => parseManifest(json({ schemaVersion: 2, manifests: [], layers: [] }), ''), /both "manifests" and "layers"/);
  assert.throws(() => parseManifest(json({ schemaVersion: 1, fsLayers: [] }), ''), /schema 1 is not supported/);
  assert.throws(() => parseManifest(Buffer.from('{nope'), ''), /not valid JSON/);
  assert.throws(() => parseManifest(json({ schemaVersion: 2, config: { digest: 'md5:x' }, layers: [] }), MediaType.ociManifest), /invalid manifest/);
  assert.throws(
    () => parseManifest(json({ schemaVersion: 2, config: desc('a'), layers: [desc('b', { mediaType: MediaType.ociLayerZstd })] }), MediaType.ociManifest),
    /zstd/,
  );
});

test('selectPlatform prefers the exact variant and explains a miss', () => {
  const index: ImageIndex = {
    schemaVersion: 2,
    manifests: [
      desc('1', { platform: { os: 'linux', architecture: 'arm64', variant: 'v7' } }),
      desc('2', { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }),
      desc('3', { platform: { os: 'linux', architecture: 'amd64' } }),
      desc('4', { platform: { os: 'windows', architecture: 'amd64' } }),
    ],
  };
  assert.equal(selectPlatform(index, { os: 'linux', architecture: 'arm64', variant: 'v8' }).digest, D('2'));
  assert.equal(selectPlatform(index, { os: 'linux', architecture: 'amd64' }).digest, D('3'));
  assert.throws(() => selectPlatform(index, { os: 'linux', architecture: 's390x' }), /no matching manifest for linux\/s390x in the manifest list entries/);
});

test('image configs need rootfs diff IDs', () => {
  const ok = parseImageConfig(json({ os: 'linux', rootfs: { type: 'layers', diff_ids: [D('a')] }, config: { Cmd: ['sh'] } }));
  assert.deepEqual(ok.config?.Cmd, ['sh']);
  assert.throws(() => parseImageConfig(json({ os: 'linux' })), /invalid image configuration: rootfs/);
});

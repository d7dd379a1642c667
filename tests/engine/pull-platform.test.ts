/**
 * `docker pull --platform` (the `platform` query of POST /images/create), as
 * dockerd 20.10 does it (seen there first): from a multi-platform index the
 * entry for that platform; a single-platform image comes as it is whatever
 * the platform asked; no entry for it is "no matching manifest for ..."; a
 * malformed value is refused in containerd's words. Create's `platform`
 * (`docker run --platform`): an image for another platform is a 404 in
 * dockerd's words, which the CLI answers with a pull for that platform.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildBusyboxImage, pushImage, pushIndex } from '../helpers/test-images.js';
import { inspect, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();

describe('docker pull --platform', () => {
  let multi: string;
  let single: string;
  before(async () => {
    const images = await Promise.all((['amd64', 'arm64'] as const).map((architecture) => buildBusyboxImage({ architecture })));
    await pushIndex({ url: fx.reg.url }, 'test/pull-multi', 'latest', images);
    await pushImage({ url: fx.reg.url }, 'test/pull-single', 'latest', images[0]!);
    multi = `${fx.reg.domain}/test/pull-multi:latest`;
    single = `${fx.reg.domain}/test/pull-single:latest`;
  });
  after(async () => {
    await fx.docker?.run(['rmi', multi, single]);
  });

  test("an index gives the platform's entry, and the engine's own without --platform", async () => {
    await fx.docker.ok(['pull', '-q', '--platform', 'linux/arm64', multi]);
    assert.equal(await inspect(fx.docker, multi, '{{json (printf "%s/%s" .Os .Architecture)}}'), 'linux/arm64');
    await fx.docker.ok(['pull', '-q', '--platform', 'linux/amd64', multi]);
    assert.equal(await inspect(fx.docker, multi, '{{json (printf "%s/%s" .Os .Architecture)}}'), 'linux/amd64');
    await fx.docker.ok(['pull', '-q', '--platform', 'linux/arm64', multi]);
    await fx.docker.ok(['pull', '-q', multi]);
    assert.equal(await inspect(fx.docker, multi, '{{json .Architecture}}'), process.arch === 'arm64' ? 'arm64' : 'amd64');
  });

  test('a single-platform image comes as it is, as on dockerd 20.10', async () => {
    await fx.docker.ok(['pull', '-q', '--platform', 'linux/arm64', single]);
    assert.equal(await inspect(fx.docker, single, '{{json .Architecture}}'), 'amd64');
  });

  test('no entry for the platform, and a malformed platform, are clear errors', async () => {
    const none = await fx.docker.run(['pull', '--platform', 'linux/s390x', multi]);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /no matching manifest for linux\/s390x in the manifest list entries/);
    const bad = await fx.docker.run(['pull', '--platform', 'bogus/x/y/z', multi]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /"bogus\/x\/y\/z": cannot parse platform specifier: invalid argument/);
  });

  test('docker run --platform: an image for another platform is a 404 the CLI answers with a pull for it, as on dockerd 20.10', async () => {
    await fx.docker.ok(['pull', '-q', '--platform', 'linux/amd64', multi]);
    await fx.docker.ok(['run', '--rm', '--platform', 'linux/arm64', multi, 'true']);
    assert.equal(await inspect(fx.docker, multi, '{{json .Architecture}}'), 'arm64', 'the CLI pulled the arm64 entry after the 404');
    await fx.docker.ok(['pull', '-q', single]);
    const r = await fx.docker.run(['run', '--rm', '--platform', 'linux/arm64', single, 'true']);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /image with reference .*pull-single:latest was found but does not match the specified platform: wanted linux\/arm64, actual: linux\/amd64/,
    );
    await fx.docker.ok(['run', '--rm', '--platform', 'linux/amd64', single, 'true']);
    const bad = await fx.docker.run(['create', '--platform', 'linux/amd64/v2/x', single, 'true']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /cannot parse platform specifier/);
  });
});

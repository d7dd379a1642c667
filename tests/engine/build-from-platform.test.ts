/**
 * `FROM --platform` in the classic builder, as dockerd 20.10 does it (seen
 * there first, DOCKER_BUILDKIT=0): the value, global ARGs expanded, is parsed
 * as containerd parses platforms, and a bad one fails the build in its words
 * (`failed to parse platform bogus: "bogus": unknown operating system or
 * architecture: invalid argument`; an empty one, such as an undefined
 * $BUILDPLATFORM, likewise); an image pulled through a multi-platform index
 * comes as that platform's entry; a single-platform image held here is used
 * as it is whatever the platform asked (dockerd did so with linux/arm64,
 * linux/386 and windows/amd64 for an amd64 image).
 * `docker build --platform` is the platform of every FROM without its own
 * and of a stage FROM scratch (FROM --platform does not set scratch's; seen
 * on dockerd: linux/arm/v7 from scratch commits arm/v7).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunResult } from '../helpers/docker.js';
import { buildBusyboxImage, pushIndex } from '../helpers/test-images.js';
import { inspect, out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();

describe('FROM --platform', () => {
  let dir: string;
  let multi: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-from-platform-'));
    // Both entries carry the machine's busybox (so RUN works); each says which entry it is.
    const images = await Promise.all(
      (['amd64', 'arm64'] as const).map((architecture) => buildBusyboxImage({ architecture, extraFiles: { entry: `${architecture}\n` } })),
    );
    await pushIndex({ url: fx.reg.url }, 'test/multi', 'latest', images);
    multi = `${fx.reg.domain}/test/multi:latest`;
  });
  after(async () => {
    await fx.docker?.run(['rmi', 'platform/arm64', 'platform/amd64', 'platform/arg', 'platform/local', 'platform/build-arm64', 'platform/scratch-v7', multi]);
    await rm(dir, { recursive: true, force: true });
  });

  const build = async (dockerfile: string, tag?: string, flags: string[] = []): Promise<RunResult> => {
    await writeFile(join(dir, 'Dockerfile'), dockerfile);
    return fx.docker.run(['build', ...flags, ...(tag ? ['-t', tag] : []), dir], { env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 120_000 });
  };

  test("an image pulled through an index comes as the platform's entry, for each FROM", async () => {
    const arm = await build(`FROM --platform=linux/arm64 ${multi}\nRUN cat /entry > /seen\n`, 'platform/arm64');
    assert.equal(arm.code, 0, arm.stdout + arm.stderr);
    assert.equal(out(await fx.docker.ok(['run', '--rm', 'platform/arm64', 'cat', '/seen'])), 'arm64');
    assert.equal(await inspect(fx.docker, 'platform/arm64', '{{json .Architecture}}'), 'arm64');
    // the same name, held here as the arm64 entry now, is pulled again for the platform asked
    const amd = await build(`FROM --platform=linux/x86_64 ${multi}\nRUN cat /entry > /seen\n`, 'platform/amd64');
    assert.equal(amd.code, 0, amd.stdout + amd.stderr);
    assert.equal(out(await fx.docker.ok(['run', '--rm', 'platform/amd64', 'cat', '/seen'])), 'amd64');
  });

  test('global ARGs are expanded in the value', async () => {
    const r = await build(`ARG WANT=linux/arm64\nFROM --platform=$WANT ${multi}\nRUN cat /entry > /seen\n`, 'platform/arg');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(out(await fx.docker.ok(['run', '--rm', 'platform/arg', 'cat', '/seen'])), 'arm64');
  });

  test('a single-platform image held here is used whatever the platform asked, as dockerd 20.10 does', async () => {
    const r = await build(`FROM --platform=linux/arm64 ${fx.image}\nRUN echo ran > /ran\n`, 'platform/local');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /Pulling from/);
    assert.equal(out(await fx.docker.ok(['run', '--rm', 'platform/local', 'cat', '/ran'])), 'ran');
  });

  test("a value that is no platform fails the build in containerd's words", async () => {
    const bogus = await build(`FROM --platform=bogus ${fx.image}\n`);
    assert.notEqual(bogus.code, 0);
    assert.match(bogus.stderr, /failed to parse platform bogus: "bogus": unknown operating system or architecture: invalid argument/);
    const empty = await build(`FROM --platform=$BUILDPLATFORM ${fx.image}\n`);
    assert.notEqual(empty.code, 0);
    assert.match(empty.stderr, /failed to parse platform : "" is an invalid component of "": platform specifier component must match/);
  });

  test('docker build --platform: the platform of every FROM without its own, and of a scratch stage', async () => {
    await fx.docker.run(['rmi', multi]);
    const arm = await build(`FROM ${multi}\nRUN cat /entry > /seen\n`, 'platform/build-arm64', ['--platform', 'linux/arm64']);
    assert.equal(arm.code, 0, arm.stdout + arm.stderr);
    assert.equal(out(await fx.docker.ok(['run', '--rm', 'platform/build-arm64', 'cat', '/seen'])), 'arm64');
    assert.equal(await inspect(fx.docker, 'platform/build-arm64', '{{json .Architecture}}'), 'arm64');
    const scratch = await build('FROM scratch\nCOPY Dockerfile /d\n', 'platform/scratch-v7', ['--platform', 'linux/arm/v7']);
    assert.equal(scratch.code, 0, scratch.stdout + scratch.stderr);
    assert.equal(await inspect(fx.docker, 'platform/scratch-v7', '{{json (printf "%s/%s/%s" .Os .Architecture .Variant)}}'), 'linux/arm/v7');
  });

  test("docker build --platform: a malformed value is a 400 in containerd's words, another operating system fails at FROM", async () => {
    const bogus = await build('FROM scratch\nCOPY Dockerfile /d\n', undefined, ['--platform', 'bogus']);
    assert.notEqual(bogus.code, 0);
    assert.match(bogus.stderr, /Error response from daemon: "bogus": unknown operating system or architecture: invalid argument/);
    const windows = await build('FROM scratch\nCOPY Dockerfile /d\n', undefined, ['--platform', 'windows/amd64']);
    assert.notEqual(windows.code, 0);
    assert.match(windows.stdout + windows.stderr, /Step 1\/2 : FROM scratch[\s\S]*operating system is not supported/);
  });
});

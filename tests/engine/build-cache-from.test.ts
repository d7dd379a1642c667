/**
 * `--cache-from` (POST /build `cachefrom`) as dockerd 20.10's classic builder
 * applies it, seen there first (DOCKER_BUILDKIT=0, the same Dockerfile):
 * after the image was saved, removed with its intermediate images and loaded
 * again (what a CI machine that pulls the last release has), a build with
 * --cache-from it says "Using cache" at every step and ends on the loaded
 * image's ID; one without it runs every step. With --cache-from given, the
 * local cache counts only where it leads into a source, a name that is no
 * image here is skipped, and --no-cache wins. Driven through the CLI and
 * through the raw API as docker-py sends it (a JSON array in the query).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunResult } from '../helpers/docker.js';
import { apiBuild as apiBuildRequest } from './build-api-request.js';
import { inspect, out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();
let dir: string;
let saved: string;
let sourceId: string;

const dockerfile = () => `FROM ${fx.image}\nENV STAGE=one\nRUN echo built > /built\nCOPY file /file\nCMD ["cat", "/file"]\n`;
const STEPS = 4; // the steps after FROM

const cli = (args: string[], file = 'Dockerfile'): Promise<RunResult> =>
  fx.docker.run(['build', '-f', join(dir, file), ...args, dir], { env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 120_000 });
const usingCache = (text: string) => text.split('\n').filter((l) => l === ' ---> Using cache').length;
const builtId = (text: string) => /Successfully built ([0-9a-f]{12})/.exec(text)?.[1];

/** `docker rmi` of the image takes its build's intermediate images too (as dockerd's does, without --no-prune); the build cache is forgotten. */
async function removeWithIntermediates(name: string): Promise<void> {
  const rows = out(await fx.docker.ok(['history', '-q', name]))
    .split('\n')
    .filter((id) => id && id !== '<missing>');
  const baseId = out(await fx.docker.ok(['inspect', '-f', '{{.Id}}', fx.image])).slice(7, 19);
  await fx.docker.ok(['rmi', name]);
  const left = out(await fx.docker.ok(['images', '-aq', '--no-trunc'])).split('\n');
  for (const id of rows.filter((r) => r !== baseId)) assert.ok(!left.some((l) => l.slice(7, 19) === id), `rmi left the intermediate image ${id}`);
  await fx.docker.ok(['builder', 'prune', '-f']);
}

describe('docker build --cache-from', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-cache-from-'));
    saved = join(dir, 'saved.tar');
    await writeFile(join(dir, 'file'), 'from the context\n');
    await writeFile(join(dir, 'Dockerfile'), dockerfile());
    const b = await cli(['-t', 'cachefrom/app:1']);
    assert.equal(b.code, 0, b.stderr);
    sourceId = out(await fx.docker.ok(['inspect', '-f', '{{.Id}}', 'cachefrom/app:1']));
    await fx.docker.ok(['save', '-o', saved, 'cachefrom/app:1']);
    await removeWithIntermediates('cachefrom/app:1');
    await fx.docker.ok(['load', '-i', saved]);
  });
  after(async () => {
    await fx.docker?.run(['rmi', 'cachefrom/app:1', 'cachefrom/plain', 'cachefrom/again', 'cachefrom/api', 'cachefrom/prefix']);
    await rm(dir, { recursive: true, force: true });
  });

  test('without --cache-from the loaded image gives no cache: every step runs', async () => {
    const r = await cli(['-t', 'cachefrom/plain']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(usingCache(r.stdout), 0, r.stdout);
    assert.notEqual(builtId(r.stdout), sourceId.slice(7, 19));
  });

  test('with --cache-from every step is "Using cache" and the build ends on the loaded image', async () => {
    // The build above left local cache entries for the same steps; dockerd takes none of them with --cache-from.
    const r = await cli(['--cache-from', 'cachefrom/app:1', '-t', 'cachefrom/again']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(usingCache(r.stdout), STEPS, r.stdout);
    assert.doesNotMatch(r.stdout, /Running in/);
    assert.equal(builtId(r.stdout), sourceId.slice(7, 19));
    assert.equal(out(await fx.docker.ok(['run', '--rm', 'cachefrom/again'])), 'from the context');
    // dockerd's SetParent: the source now descends from the images the build reached
    const parent = await inspect<string>(fx.docker, 'cachefrom/app:1', '{{json .Parent}}');
    assert.match(parent, /^sha256:[0-9a-f]{64}$/);
    assert.equal(out(await fx.docker.ok(['run', '--rm', parent, 'cat', '/built'])), 'built');
  });

  async function apiBuild(params: Record<string, string>, df: string): Promise<{ status: number; text: string; streams: string; id: string | undefined }> {
    const r = await apiBuildRequest(fx.agent.current.socket, new URLSearchParams(params).toString(), { Dockerfile: df, file: 'from the context\n' });
    const lines = r.lines as { stream?: string; aux?: { ID?: string } }[];
    return { status: r.status, text: r.text, streams: lines.map((l) => l.stream ?? '').join(''), id: lines.find((l) => l.aux?.ID)?.aux?.ID };
  }

  test('the API as docker-py drives it: cachefrom a JSON array in the query; a name that is no image is skipped', async () => {
    const r = await apiBuild({ t: 'cachefrom/api', cachefrom: JSON.stringify(['no-such/image:here', 'cachefrom/app:1']) }, dockerfile());
    assert.equal(r.status, 200, r.text);
    assert.equal(usingCache(r.streams), STEPS, r.streams);
    assert.equal(r.id, sourceId);
    assert.match(r.streams, /cache-from no-such\/image:here: no such image here/);
  });

  test('a Dockerfile that is a prefix of the source: the image made from its history keeps its own config (not the RUN as Cmd)', async () => {
    const r = await apiBuild({ t: 'cachefrom/prefix', cachefrom: '["cachefrom/app:1"]' }, `FROM ${fx.image}\nENV STAGE=one\nRUN echo built > /built\n`);
    assert.equal(r.status, 200, r.text);
    assert.equal(usingCache(r.streams), 2, r.streams);
    const baseCmd = await inspect(fx.docker, fx.image, '{{json .Config.Cmd}}');
    assert.deepEqual(await inspect(fx.docker, 'cachefrom/prefix', '{{json .Config.Cmd}}'), baseCmd);
    assert.equal(out(await fx.docker.ok(['run', '--rm', 'cachefrom/prefix', 'sh', '-c', 'cat /built; echo $STAGE'])), 'built\none');
  });

  test('--no-cache wins over --cache-from; a cachefrom that is not a JSON array of names is refused by name', async () => {
    const r = await apiBuild({ nocache: '1', cachefrom: '["cachefrom/app:1"]' }, dockerfile());
    assert.equal(r.status, 200, r.text);
    assert.equal(usingCache(r.streams), 0, r.streams);
    for (const bad of ['cachefrom/app:1', '[1]', '{"a":"b"}']) {
      const b = await apiBuild({ cachefrom: bad }, dockerfile());
      assert.equal(b.status, 400, bad);
      assert.match(b.text, /invalid cachefrom: it must be a JSON array/);
    }
  });
});

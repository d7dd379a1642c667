/**
 * POST /build's options as dockerd's classic builder applies them, driven
 * through the raw API the way docker-py drives it and through the CLI:
 * a RUN step's stderr in the stream marked red (\x1b[91m ... \x1b[0m),
 * --add-host and --network for RUN steps, --shm-size, --rm=false keeping the
 * intermediate containers, --pull pulling a base image that is already
 * here; what Berth cannot do is refused by name (squash, outputs, a foreign
 * platform). cachefrom has its own file (build-cache-from.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { RunResult } from '../helpers/docker.js';
import { apiBuild as apiBuildRequest } from './build-api-request.js';
import { out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-build-opts-'));
});
after(async () => {
  await fx.docker?.run(['rmi', '-f', 'opts/hosts', 'opts/none']);
  await rm(dir, { recursive: true, force: true });
});

const apiBuild = (query: string, dockerfile: string) => apiBuildRequest(fx.agent.current.socket, query, { Dockerfile: dockerfile });

const cli = (args: string[]): Promise<RunResult> => fx.docker.run(['build', ...args, dir], { env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 120_000 });

test("a RUN step's stderr is in the stream marked red, as dockerd's classic builder sends it", async () => {
  const r = await apiBuild('nocache=1', `FROM ${fx.image}\nRUN sh -c ">&2 echo 'to stderr'; echo 'to stdout'"\n`);
  assert.equal(r.status, 200);
  const streams = r.lines.map((l) => l.stream).filter((s): s is string => typeof s === 'string');
  assert.ok(streams.includes('\x1b[91mto stderr\n\x1b[0m'), JSON.stringify(streams));
  assert.ok(streams.includes('to stdout\n'));
});

test('--add-host and --network reach the RUN steps; --shm-size too', async () => {
  await writeFile(
    join(dir, 'Dockerfile'),
    `FROM ${fx.image}\nRUN grep buildhost /etc/hosts > /hosts-line; ls /sys/class/net > /nets; df -k /dev/shm | tail -1 | awk '{print $2}' > /shm\n`,
  );
  const b = await cli(['--no-cache', '-t', 'opts/hosts', '--add-host', 'buildhost:10.9.8.7', '--network', 'none', '--shm-size', '16m']);
  assert.equal(b.code, 0, b.stderr);
  const r = out(await fx.docker.ok(['run', '--rm', 'opts/hosts', 'cat', '/hosts-line', '/nets', '/shm']));
  assert.deepEqual(
    r.split('\n').map((l) => l.trim()),
    ['10.9.8.7\tbuildhost', 'lo', '16384'],
  );
});

test('--rm=false keeps the intermediate containers; --pull pulls a base that is here', async () => {
  const before = out(await fx.docker.ok(['ps', '-aq']))
    .split('\n')
    .filter(Boolean);
  await writeFile(join(dir, 'Dockerfile'), `FROM ${fx.image}\nRUN echo one > /one\nRUN echo two > /two\n`);
  const b = await cli(['--no-cache', '--rm=false', '--pull', '-t', 'opts/none']);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stdout, /Pulling from|Digest: sha256:|Status: Image is up to date/, 'the base image was pulled again');
  assert.doesNotMatch(b.stdout, /Removed intermediate container/);
  const kept = out(await fx.docker.ok(['ps', '-aq']))
    .split('\n')
    .filter((id) => id && !before.includes(id));
  assert.equal(kept.length, 2, 'one container per RUN step is kept');
  await fx.docker.ok(['rm', ...kept]);
});

test('what the classic builder here cannot do is refused by name', async () => {
  for (const [query, message] of [
    ['squash=1', /squash: /],
    ['outputs=type%3Dtar', /outputs: /],
  ] as const) {
    const r = await apiBuild(query, `FROM ${fx.image}\n`);
    assert.equal(r.status, 400, query);
    assert.match(r.text, message);
  }
});

/**
 * `docker commit --change` with the real docker CLI: metadata instructions
 * land in the committed image's config and take effect when it runs;
 * instructions that need a build step are refused with dockerd's message.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertServing, inspect, out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();

test('commit --change sets CMD, ENV and EXPOSE in the new image', async () => {
  await fx.docker.ok(['run', '--name', 'tochange', fx.image, 'sh', '-c', 'echo kept > /kept.txt']);
  await fx.docker.ok([
    'commit',
    '--change',
    'CMD ["sh","-c","echo hi $A; cat /kept.txt"]',
    '--change',
    'ENV A=1',
    '--change',
    'EXPOSE 8080',
    '--change',
    'WORKDIR /srv',
    'tochange',
    'changed:v1',
  ]);
  const cfg = await inspect<{ Cmd: string[]; Env: string[]; ExposedPorts: Record<string, object>; WorkingDir: string }>(
    fx.docker,
    'changed:v1',
    '{{json .Config}}',
  );
  assert.deepEqual(cfg.Cmd, ['sh', '-c', 'echo hi $A; cat /kept.txt']);
  assert.ok(cfg.Env.includes('A=1'), `Env: ${cfg.Env.join(' ')}`);
  assert.deepEqual(Object.keys(cfg.ExposedPorts), ['8080/tcp']);
  assert.equal(cfg.WorkingDir, '/srv');
  assert.equal(out(await fx.docker.ok(['run', '--rm', 'changed:v1'])), 'hi 1\nkept');
  // The exec form of the brief's example, and ENV expansion of an earlier change.
  await fx.docker.ok(['commit', '-c', 'CMD ["echo","hi"]', '-c', 'ENV B=x C=${B}y', 'tochange', 'changed:v2']);
  assert.equal(out(await fx.docker.ok(['run', '--rm', 'changed:v2'])), 'hi');
  assert.equal(out(await fx.docker.ok(['run', '--rm', 'changed:v2', 'sh', '-c', 'echo $C'])), 'xy');
});

test('commit --change refuses RUN and unknown instructions without making an image', async () => {
  const before = out(await fx.docker.ok(['images', '-q', '--no-trunc'])).split('\n').length;
  const run = await fx.docker.run(['commit', '--change', 'RUN echo no', 'tochange', 'changed:bad']);
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /Error response from daemon: run is not a valid change command/);
  const unknown = await fx.docker.run(['commit', '--change', 'NOPE x', 'tochange', 'changed:bad']);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /unknown instruction: NOPE/);
  assert.equal(out(await fx.docker.ok(['images', '-q', '--no-trunc'])).split('\n').length, before);
  assert.equal((await fx.docker.run(['image', 'inspect', 'changed:bad'])).code, 1);
  await fx.docker.ok(['rm', 'tochange']);
  await assertServing(fx);
});

/**
 * Records survive the agent: after a clean restart and after kill -9, every
 * container is still listed with its logs; one whose process is gone is
 * exited; `always` and `unless-stopped` containers come back.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { eventually, inspect, out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();

for (const how of ['restart', 'kill -9'] as const) {
  test(`after an agent ${how}: records, logs and restart policies`, async () => {
    const p = how === 'restart' ? 'r' : 'k';
    assert.equal((await fx.docker.run(['run', '--name', `${p}-done`, fx.image, 'sh', '-c', 'echo finished; exit 4'])).code, 4);
    await fx.docker.ok(['create', '--name', `${p}-created`, fx.image]);
    await fx.docker.ok(['run', '-d', '--name', `${p}-plain`, fx.image, 'sh', '-c', 'echo up; sleep 1000']);
    await fx.docker.ok(['run', '-d', '--name', `${p}-always`, '--restart', 'always', fx.image, 'sleep', '1000']);
    await fx.docker.ok(['run', '-d', '--name', `${p}-unless`, '--restart', 'unless-stopped', fx.image, 'sleep', '1000']);
    await fx.docker.ok(['run', '-d', '--name', `${p}-unless-stopped`, '--restart', 'unless-stopped', fx.image, 'sleep', '1000']);
    await fx.docker.ok(['stop', '-t', '0', `${p}-unless-stopped`]);
    await eventually('logs written', async () => (await fx.docker.run(['logs', `${p}-plain`])).stdout === 'up\n');
    const plainPid = await inspect<number>(fx.docker, `${p}-plain`, '{{json .State.Pid}}');

    if (how === 'restart') await fx.agent.current.restart();
    else {
      await fx.agent.current.kill9();
      await fx.agent.current.restart();
    }

    const names = out(await fx.docker.ok(['ps', '-a', '--format', '{{.Names}}', '--filter', `name=^/${p}-`]))
      .split('\n')
      .sort();
    assert.deepEqual(names, [`${p}-always`, `${p}-created`, `${p}-done`, `${p}-plain`, `${p}-unless`, `${p}-unless-stopped`]);
    assert.equal(await inspect<number>(fx.docker, `${p}-done`, '{{json .State.ExitCode}}'), 4);
    assert.equal((await fx.docker.ok(['logs', `${p}-done`])).stdout, 'finished\n');
    assert.equal(await inspect<string>(fx.docker, `${p}-created`, '{{json .State.Status}}'), 'created');
    const plain = await inspect<{ Status: string; Pid: number }>(fx.docker, `${p}-plain`, '{{json .State}}');
    assert.equal(plain.Status, 'exited');
    assert.equal(plain.Pid, 0);
    assert.equal((await fx.docker.ok(['logs', `${p}-plain`])).stdout, 'up\n');
    // Gone, or dead and waiting for its new parent (init) to reap it.
    const state = await readFile(`/proc/${plainPid}/stat`, 'utf8').then(
      (s) => s.slice(s.lastIndexOf(')') + 2)[0],
      () => 'gone',
    );
    assert.ok(state === 'gone' || state === 'Z', `the old process is left running unsupervised (state ${state})`);
    assert.equal(await inspect<string>(fx.docker, `${p}-always`, '{{json .State.Status}}'), 'running');
    assert.equal(await inspect<string>(fx.docker, `${p}-unless`, '{{json .State.Status}}'), 'running');
    assert.equal(await inspect<string>(fx.docker, `${p}-unless-stopped`, '{{json .State.Status}}'), 'exited');
    await fx.docker.ok(['exec', `${p}-always`, 'true']);
    await fx.docker.ok(['rm', '-f', ...names]);
  });
}

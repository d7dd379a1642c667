/**
 * Stopping the agent (SIGTERM, as `berth stop` and the VM's shutdown do)
 * stops its containers cleanly: each gets its stop signal and timeout, their
 * cgroups and mounts go, and restart policies bring the right ones back when
 * the agent starts again.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { inspect, out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.startsWith(dir));
}

test('SIGTERM stops running containers gracefully and restart policies apply at the next start', async () => {
  const { docker } = fx;
  // One that exits on SIGTERM (recording it), one that ignores it (killed after its 1 s timeout).
  const graceful = out(
    await docker.ok([
      'run',
      '-d',
      '--restart',
      'always',
      '-v',
      'shutdown-vol:/data',
      fx.image,
      'sh',
      '-c',
      'trap "echo got-term > /data/term; exit 0" TERM; while :; do sleep 0.1; done',
    ]),
  );
  const stubborn = out(await docker.ok(['run', '-d', '--stop-timeout', '1', fx.image, 'sh', '-c', 'trap "" TERM; while :; do sleep 0.1; done']));
  const manual = out(await docker.ok(['run', '-d', '--restart', 'unless-stopped', fx.image, 'sleep', '1000']));
  await docker.ok(['stop', '-t', '1', manual]);
  const pid = await inspect<number>(docker, stubborn, '{{json .State.Pid}}');
  const cgroups = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  assert.match(cgroups, new RegExp(stubborn));

  const started = Date.now();
  await fx.agent.current.stop();
  const took = Date.now() - started;
  assert.ok(took >= 900, `the SIGTERM-ignoring container got its 1 s (agent stopped after ${took} ms)`);
  assert.ok(took < 12_000, `stopping took ${took} ms`);
  assert.ok(!existsSync(`/proc/${pid}`), 'the container process is gone');
  assert.deepEqual(mountsUnder(fx.agent.current.dataRoot + '/containers'), [], 'no rootfs left mounted');
  const v1 = '/sys/fs/cgroup/pids/berth';
  if (existsSync(v1)) assert.ok(!existsSync(`${v1}/${stubborn}`), 'its cgroup is removed');

  await fx.agent.current.restart();
  const g = await inspect<{ Status: string; ExitCode: number }>(docker, graceful, '{{json .State}}');
  assert.equal(g.Status, 'running', '--restart always comes back');
  const s = await inspect<{ Status: string; ExitCode: number }>(docker, stubborn, '{{json .State}}');
  assert.equal(s.Status, 'exited');
  assert.equal(s.ExitCode, 137, 'killed after its timeout');
  const m = await inspect<{ Status: string }>(docker, manual, '{{json .State}}');
  assert.equal(m.Status, 'exited', 'unless-stopped stays down after a manual stop');
  const term = await docker.ok(['exec', graceful, 'cat', '/data/term']);
  assert.equal(out(term), 'got-term', 'the graceful one saw SIGTERM and could clean up');
  await docker.ok(['rm', '-f', graceful, stubborn, manual]);
  await docker.ok(['volume', 'rm', 'shutdown-vol']);
});

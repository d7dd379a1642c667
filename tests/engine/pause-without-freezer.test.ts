/**
 * pause, unpause, commit and cp on a cgroup v1 machine whose freezer
 * hierarchy is not mounted (#16). The agent runs in a mount namespace of its
 * own with /sys/fs/cgroup/freezer unmounted (the machine's stays as it is).
 *
 * dockerd 20.10 there, seen first: `docker pause` fails with a 500 ("OCI
 * runtime pause failed: cannot toggle freezer: cgroups not configured for
 * container"), `docker unpause` answers "is not paused", and `docker commit`
 * (pause=true by default) succeeds: it ignores the failed pause.
 *
 * - With systemd's hybrid cgroup2 mount beside v1 (/sys/fs/cgroup/unified),
 *   Berth freezes through its cgroup.freeze: pause, unpause and commit work,
 *   and a paused container really stops.
 * - With no cgroup2 mount either, Berth commits (and copies) unfrozen as
 *   dockerd does, and pause fails with a 500 that says what is missing and
 *   how to mount it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startAgent, type Agent } from '../helpers/agent.js';
import { DockerCli, engineRequest } from '../helpers/docker.js';
import { inspect, out, useContainersFixture } from './containers-fixture.js';

const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
const mounted = (point: string, fstype: string) => mounts.split('\n').some((l) => l.split(' ')[4] === point && l.split(' - ')[1]?.startsWith(`${fstype} `));
const HAS_FREEZER = mounted('/sys/fs/cgroup/freezer', 'cgroup');
const HAS_HYBRID = mounted('/sys/fs/cgroup/unified', 'cgroup2');
const skip = !HAS_FREEZER ? 'needs a cgroup v1 machine with the freezer hierarchy at /sys/fs/cgroup/freezer (to unmount in a namespace)' : false;

/** The agent runs in its own mount namespace with these cgroup mounts unmounted. */
const without = (points: string[]) => ['unshare', '-m', '--propagation', 'private', 'sh', '-c', `umount ${points.join(' ')} && exec "$@"`, 'sh'];

const fx = useContainersFixture(skip ? {} : { wrap: without(['/sys/fs/cgroup/freezer']) });

/**
 * A counter the container bumps every 20 ms, read through the host's /proc.
 * Replaced by a rename, never rewritten in place: a freeze between a
 * truncate and its write would leave it empty for as long as it is paused.
 */
const LOOP = 'i=0; while :; do i=$((i+1)); echo $i > /count.new; mv /count.new /count; sleep 0.02; done';
async function count(docker: DockerCli, name: string): Promise<number> {
  const pid = await inspect<number>(docker, name, '{{.State.Pid}}');
  const text = (await readFile(`/proc/${pid}/root/count`, 'utf8')).trim();
  assert.match(text, /^\d+$/);
  return Number(text);
}

describe(
  'no v1 freezer, a cgroup2 mount beside v1: frozen through cgroup.freeze',
  { skip: skip || (!HAS_HYBRID && 'needs the hybrid cgroup2 mount at /sys/fs/cgroup/unified') },
  () => {
    after(async () => {
      await fx.docker?.run(['rm', '-f', 'nofreezer-loop']);
      await fx.docker?.run(['rmi', 'nofreezer/committed']);
    });

    test('pause stops the processes, unpause resumes them, commit (pause=true) works', async () => {
      await fx.docker.ok(['run', '-d', '--name', 'nofreezer-loop', fx.image, 'sh', '-c', LOOP]);
      await sleep(200);
      await fx.docker.ok(['pause', 'nofreezer-loop']);
      assert.equal(await inspect(fx.docker, 'nofreezer-loop', '{{json .State.Status}}'), 'paused');
      const held = await count(fx.docker, 'nofreezer-loop');
      await sleep(300);
      assert.equal(await count(fx.docker, 'nofreezer-loop'), held, 'the counter moved while paused');
      await fx.docker.ok(['unpause', 'nofreezer-loop']);
      await sleep(300);
      assert.ok((await count(fx.docker, 'nofreezer-loop')) > held, 'the counter did not move after unpause');

      const c = await engineRequest(fx.agent.current.socket, 'POST', '/commit?container=nofreezer-loop&repo=nofreezer/committed&pause=true');
      assert.equal(c.status, 201, c.text());
      assert.equal(await inspect(fx.docker, 'nofreezer-loop', '{{json .State.Status}}'), 'running', 'commit thaws what it froze');
      assert.match(out(await fx.docker.ok(['run', '--rm', 'nofreezer/committed', 'cat', '/count'])), /^\d+$/);
    });
  },
);

describe('no freezer at all (no v1 freezer, no cgroup2 mount): as dockerd there', { skip }, () => {
  let agent: Agent | undefined;
  let docker: DockerCli;
  before(async () => {
    await fx.agent.ready;
    agent = await startAgent({ wrap: without(['/sys/fs/cgroup/freezer', ...(HAS_HYBRID ? ['/sys/fs/cgroup/unified'] : [])]) });
    docker = new DockerCli(agent.socket);
    await docker.ok(['pull', '-q', fx.image]);
  });
  after(async () => {
    docker?.dispose();
    await agent?.dispose();
  });

  test('pause is a 500 that names the missing freezer and how to mount it; unpause says it is not paused', async () => {
    // a quiet process: unfrozen, a file rewritten during the commit would fail its packing (dockerd's tar too)
    await docker.ok(['run', '-d', '--name', 'nofreezer', fx.image, 'sleep', '1000']);
    const p = await engineRequest(agent!.socket, 'POST', '/containers/nofreezer/pause');
    assert.equal(p.status, 500, p.text());
    assert.match(
      p.text(),
      /pausing container [0-9a-f]{64}: this machine has no cgroup freezer: .*mount -t cgroup -o freezer freezer \/sys\/fs\/cgroup\/freezer/,
    );
    assert.equal(await inspect(docker, 'nofreezer', '{{json .State.Status}}'), 'running');
    const u = await engineRequest(agent!.socket, 'POST', '/containers/nofreezer/unpause');
    assert.equal(u.status, 409, u.text());
    assert.match(u.text(), /is not paused/);
  });

  test('commit with pause=true (the default) commits without pausing, as dockerd does; cp works', async () => {
    await docker.ok(['exec', 'nofreezer', 'sh', '-c', 'echo kept > /marker']);
    const c = await engineRequest(agent!.socket, 'POST', '/commit?container=nofreezer&repo=nofreezer/committed&pause=true');
    assert.equal(c.status, 201, c.text());
    assert.equal(out(await docker.ok(['run', '--rm', 'nofreezer/committed', 'cat', '/marker'])), 'kept');
    const cli = await docker.run(['commit', 'nofreezer', 'nofreezer/cli']);
    assert.equal(cli.code, 0, cli.stderr);
    const cp = await docker.run(['cp', 'nofreezer:/marker', '-']);
    assert.equal(cp.code, 0, cp.stderr);
    assert.match(cp.stdout, /kept/);
    assert.equal(await inspect(docker, 'nofreezer', '{{json .State.Status}}'), 'running');
  });
});

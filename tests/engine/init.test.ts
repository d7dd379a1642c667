/**
 * `docker run --init` (HostConfig.Init, #14): Berth's own init bound at
 * /sbin/docker-init as PID 1, the command its child; signals forwarded (so
 * docker stop ends a plain `sleep`), orphans reaped, the command's exit
 * status passed through (128+N for a signal), as dockerd's tini does.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect, out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();

after(async () => {
  await fx.docker?.run(['rm', '-f', 'init-stop', 'noinit-stop', 'init-reap', 'noinit-reap']);
});

/** Zombies in a container, counted from /proc. */
async function zombies(name: string): Promise<string> {
  return out(await fx.docker.ok(['exec', name, 'sh', '-c', 'cat /proc/[0-9]*/status | grep -c "^State:[[:space:]]*Z" || true']));
}

describe('--init', () => {
  test('PID 1 is docker-init, read-only, and the command is its child', async () => {
    const r = await fx.docker.run([
      'run',
      '--rm',
      '--init',
      fx.image,
      'sh',
      '-c',
      'cat /proc/1/comm; tr "\\0" " " < /proc/1/cmdline; echo; echo "pid=$$ ppid=$PPID"; : > /sbin/docker-init && echo writable',
    ]);
    const [comm, cmdline, ids, ...rest] = out(r).split('\n');
    assert.equal(comm, 'docker-init');
    assert.equal(
      cmdline!.trim(),
      '/sbin/docker-init -- sh -c ' +
        'cat /proc/1/comm; tr "\\0" " " < /proc/1/cmdline; echo; echo "pid=$$ ppid=$PPID"; : > /sbin/docker-init && echo writable',
    );
    assert.match(ids!, /^pid=\d+ ppid=1$/);
    assert.notEqual(ids, 'pid=1 ppid=0');
    assert.deepEqual(rest, [], 'the init binary is not writable from the container');
    assert.match(r.stderr, /Read-only file system/);
  });

  test('docker stop (SIGTERM) ends a plain sleep at once; without --init it waits for the timeout', async () => {
    await fx.docker.ok(['run', '-d', '--init', '--name', 'init-stop', fx.image, 'sleep', '300']);
    let t = Date.now();
    await fx.docker.ok(['stop', '-t', '8', 'init-stop']);
    assert.ok(Date.now() - t < 4000, `stop took ${Date.now() - t} ms`);
    assert.equal(await inspect<number>(fx.docker, 'init-stop', '{{.State.ExitCode}}'), 143, 'the init exits 128+SIGTERM, as its child');
    // the control: sleep as PID 1 has no handler, so the kernel drops SIGTERM
    await fx.docker.ok(['run', '-d', '--name', 'noinit-stop', fx.image, 'sleep', '300']);
    t = Date.now();
    await fx.docker.ok(['stop', '-t', '2', 'noinit-stop']);
    assert.ok(Date.now() - t >= 1900, 'without an init the stop waits for its timeout');
    assert.equal(await inspect<number>(fx.docker, 'noinit-stop', '{{.State.ExitCode}}'), 137);
  });

  test('an orphaned grandchild is reaped: no zombie (and one without --init)', async () => {
    // sh leaves a background sleep orphaned and becomes a sleep that never waits
    const orphan = ['sh', '-c', '(sleep 0.2 &); exec sleep 300'];
    await fx.docker.ok(['run', '-d', '--init', '--name', 'init-reap', fx.image, ...orphan]);
    await fx.docker.ok(['run', '-d', '--name', 'noinit-reap', fx.image, ...orphan]);
    await sleep(1500);
    assert.equal(await zombies('init-reap'), '0');
    assert.equal(await zombies('noinit-reap'), '1', 'the control: a PID 1 that never waits keeps the zombie');
  });

  test('the exit status passes through: exit 3 is 3, killed by SIGKILL is 137, a missing command 127', async () => {
    const three = await fx.docker.run(['run', '--rm', '--init', fx.image, 'sh', '-c', 'exit 3']);
    assert.equal(three.code, 3, three.stderr);
    const killed = await fx.docker.run(['run', '--rm', '--init', fx.image, 'sh', '-c', 'kill -9 $$']);
    assert.equal(killed.code, 137, killed.stderr);
    const missing = await fx.docker.run(['run', '--rm', '--init', fx.image, 'nosuch']);
    assert.equal(missing.code, 127, missing.stderr);
    assert.match(missing.stderr, /docker-init: exec: "nosuch": executable file not found in \$PATH/);
  });

  test('with a TTY the command keeps the terminal under the init', async () => {
    const r = await fx.docker.ok(['run', '--rm', '-t', '--init', fx.image, 'sh', '-c', 'tty; cat /proc/1/comm']);
    const [tty, comm] = r.stdout.trim().split(/\r?\n/);
    assert.match(tty!, /^\/dev\/pts\/\d+$/);
    assert.equal(comm, 'docker-init');
  });

  test('docker info names the init binary; Init false and unset run the command as PID 1', async () => {
    assert.equal(out(await fx.docker.ok(['info', '--format', '{{.InitBinary}}'])), 'docker-init');
    assert.equal(out(await fx.docker.ok(['run', '--rm', fx.image, 'cat', '/proc/1/comm'])), 'cat');
    const inspected = await fx.docker.ok(['run', '--rm', '--init=false', fx.image, 'cat', '/proc/1/comm']);
    assert.equal(out(inspected), 'cat');
  });
});

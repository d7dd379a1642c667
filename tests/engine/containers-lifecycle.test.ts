/**
 * Lifecycle with the real docker CLI: stop timing, kill -s, restart, wait,
 * top, rename, pause/unpause, ps filters, logs options, restart policies.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertServing, eventually, inspect, out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();
const IGNORE_TERM = 'trap "" TERM; while true; do sleep 0.1; done';

describe('stop and kill', () => {
  test('a SIGTERM-ignoring container is killed after -t seconds, not before', async () => {
    await fx.docker.ok(['run', '-d', '--name', 'stubborn', fx.image, 'sh', '-c', IGNORE_TERM]);
    const t0 = Date.now();
    await fx.docker.ok(['stop', '-t', '2', 'stubborn']);
    const took = Date.now() - t0;
    assert.ok(took >= 1900, `stopped after ${took} ms, before its 2 s timeout`);
    assert.ok(took < 8000, `stop took ${took} ms`);
    assert.equal(await inspect<number>(fx.docker, 'stubborn', '{{json .State.ExitCode}}'), 137);
    await fx.docker.ok(['rm', 'stubborn']);
  });

  test('a container that honours SIGTERM stops at once', async () => {
    // PID 1 has no default signal actions: it must handle TERM itself (as under dockerd).
    await fx.docker.ok(['run', '-d', '--name', 'polite', fx.image, 'sh', '-c', 'trap "exit 143" TERM; while true; do sleep 0.1; done']);
    const t0 = Date.now();
    await fx.docker.ok(['stop', 'polite']);
    assert.ok(Date.now() - t0 < 3000);
    assert.equal(await inspect<number>(fx.docker, 'polite', '{{json .State.ExitCode}}'), 143);
    await fx.docker.ok(['rm', 'polite']);
  });

  test('kill -s delivers the signal', async () => {
    await fx.docker.ok(['run', '-d', '--name', 'sig', fx.image, 'sh', '-c', 'trap "echo got USR1" USR1; while true; do sleep 0.1; done']);
    await fx.docker.ok(['kill', '-s', 'USR1', 'sig']);
    await eventually('USR1 handled', async () => (await fx.docker.run(['logs', 'sig'])).stdout.includes('got USR1'));
    assert.equal(await inspect<boolean>(fx.docker, 'sig', '{{json .State.Running}}'), true);
    await fx.docker.ok(['kill', 'sig']);
    const st = await inspect<{ Status: string; ExitCode: number }>(fx.docker, 'sig', '{{json .State}}');
    assert.equal(st.Status, 'exited');
    assert.equal(st.ExitCode, 137);
    const again = await fx.docker.run(['kill', 'sig']);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /is not running/);
    await fx.docker.ok(['rm', 'sig']);
    await assertServing(fx);
  });

  test('restart starts it again with a new pid; wait returns the exit code', async () => {
    await fx.docker.ok(['run', '-d', '--name', 'again', fx.image, 'sleep', '1000']);
    const pid1 = await inspect<number>(fx.docker, 'again', '{{json .State.Pid}}');
    await fx.docker.ok(['restart', '-t', '1', 'again']);
    const st = await inspect<{ Running: boolean; Pid: number }>(fx.docker, 'again', '{{json .State}}');
    assert.equal(st.Running, true);
    assert.notEqual(st.Pid, pid1);
    await fx.docker.ok(['rm', '-f', 'again']);

    await fx.docker.ok(['run', '-d', '--name', 'waited', fx.image, 'sh', '-c', 'sleep 0.5; exit 5']);
    const w = await fx.docker.ok(['wait', 'waited']);
    assert.equal(out(w), '5');
    await fx.docker.ok(['rm', 'waited']);
  });
});

describe('inspect, top, rename, pause', () => {
  test('inspect has dockerd fields and --format works', async () => {
    await fx.docker.ok(['run', '-d', '--name', 'insp', '-e', 'K=V', fx.image, 'sleep', '1000']);
    const c = await inspect<Record<string, any>>(fx.docker, 'insp');
    assert.equal(c.Name, '/insp');
    assert.equal(c.Path, 'sleep');
    assert.deepEqual(c.Args, ['1000']);
    assert.match(c.Image, /^sha256:[a-f0-9]{64}$/);
    assert.equal(c.State.Status, 'running');
    assert.ok(c.State.Pid > 0);
    assert.equal(c.RestartCount, 0);
    assert.ok(c.Config.Env.includes('K=V'));
    assert.equal(c.HostConfig.RestartPolicy.Name, 'no');
    assert.deepEqual(c.Mounts, []);
    assert.equal(
      out(await fx.docker.ok(['inspect', '--format', '{{.Name}} {{.State.Status}} {{.Config.Hostname}}', 'insp'])),
      `/insp running ${c.Id.slice(0, 12)}`,
    );
  });

  test('top lists the container processes', async () => {
    const r = await fx.docker.ok(['top', 'insp']);
    const lines = out(r).split('\n');
    assert.match(lines[0]!, /^UID\s+PID\s+PPID/);
    assert.equal(lines.length, 2);
    assert.match(lines[1]!, /sleep 1000$/);
  });

  test('rename frees the old name', async () => {
    await fx.docker.ok(['rename', 'insp', 'insp2']);
    assert.equal(await inspect<string>(fx.docker, 'insp2', '{{json .Name}}'), '/insp2');
    assert.notEqual((await fx.docker.run(['container', 'inspect', 'insp'])).code, 0);
    await fx.docker.ok(['create', '--name', 'insp', fx.image]);
    await fx.docker.ok(['rm', 'insp']);
  });

  test('pause freezes, unpause resumes', async () => {
    await fx.docker.ok(['run', '-d', '--name', 'ticker', fx.image, 'sh', '-c', 'while true; do echo tick; sleep 0.1; done']);
    await sleep(300);
    await fx.docker.ok(['pause', 'ticker']);
    assert.equal(await inspect<string>(fx.docker, 'ticker', '{{json .State.Status}}'), 'paused');
    assert.match(out(await fx.docker.ok(['ps', '--filter', 'name=ticker', '--format', '{{.Status}}'])), /\(Paused\)$/);
    const n1 = (await fx.docker.ok(['logs', 'ticker'])).stdout.length;
    await sleep(500);
    const n2 = (await fx.docker.ok(['logs', 'ticker'])).stdout.length;
    assert.equal(n2, n1, 'no output while paused');
    await fx.docker.ok(['unpause', 'ticker']);
    await eventually('output again', async () => (await fx.docker.ok(['logs', 'ticker'])).stdout.length > n2);
    await fx.docker.ok(['rm', '-f', 'ticker', 'insp2']);
  });
});

describe('ps and logs', () => {
  test('ps filters: status, name, label, ancestor, exited, id; -q, -n, --no-trunc', async () => {
    const a = out(await fx.docker.ok(['run', '-d', '--name', 'fa', '-l', 'role=db', fx.image, 'sleep', '1000']));
    await fx.docker.run(['run', '--name', 'fb', '-l', 'role=web', fx.image, 'sh', '-c', 'exit 2']);
    await fx.docker.run(['run', '--name', 'fb2', fx.image, 'sh', '-c', 'exit 2']);
    const q = async (...args: string[]) =>
      out(await fx.docker.ok(['ps', '-a', '--format', '{{.Names}}', ...args]))
        .split('\n')
        .filter(Boolean)
        .sort();
    assert.deepEqual(await q('--filter', 'status=running', '--filter', 'name=f'), ['fa']);
    assert.deepEqual(await q('--filter', 'status=exited', '--filter', 'name=f'), ['fb', 'fb2']);
    assert.deepEqual(await q('--filter', 'label=role=db'), ['fa']);
    assert.deepEqual(await q('--filter', 'label=role', '--filter', 'name=f'), ['fa', 'fb']);
    assert.deepEqual(await q('--filter', 'exited=2'), ['fb', 'fb2']);
    assert.deepEqual(await q('--filter', `id=${a.slice(0, 10)}`), ['fa']);
    assert.ok((await q('--filter', `ancestor=${fx.image}`)).includes('fa'));
    assert.equal(out(await fx.docker.ok(['ps', '-q', '--filter', 'name=fa'])), a.slice(0, 12));
    assert.equal(out(await fx.docker.ok(['ps', '-q', '--no-trunc', '--filter', 'name=fa'])), a);
    assert.equal(out(await fx.docker.ok(['ps', '-n', '1', '--format', '{{.Names}}'])), 'fb2');
    const bad = await fx.docker.run(['ps', '--filter', 'status=sleepy']);
    assert.notEqual(bad.code, 0);
    await fx.docker.ok(['rm', '-f', 'fa', 'fb', 'fb2']);
    await assertServing(fx);
  });

  test('logs --tail, -t, --since, -f', async () => {
    await fx.docker.ok(['run', '--name', 'lg', fx.image, 'sh', '-c', 'for i in 1 2 3 4 5; do echo line$i; done']);
    assert.equal((await fx.docker.ok(['logs', '--tail', '2', 'lg'])).stdout, 'line4\nline5\n');
    const ts = (await fx.docker.ok(['logs', '-t', '--tail', '1', 'lg'])).stdout;
    assert.match(ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line5\n$/);
    assert.equal((await fx.docker.ok(['logs', '--since', '1m', 'lg'])).stdout.split('\n').length, 6);
    const future = new Date(Date.now() + 60_000).toISOString();
    assert.equal((await fx.docker.ok(['logs', '--since', future, 'lg'])).stdout, '');

    await fx.docker.ok(['run', '-d', '--name', 'lf', fx.image, 'sh', '-c', 'echo one; sleep 1; echo two']);
    const t0 = Date.now();
    const f = await fx.docker.ok(['logs', '-f', 'lf']);
    assert.equal(f.stdout, 'one\ntwo\n');
    assert.ok(Date.now() - t0 > 500, 'follow waited for the container');
    await fx.docker.ok(['wait', 'lf']); // follow ends with the output, a moment before the exit is recorded
    await fx.docker.ok(['rm', 'lg', 'lf']);
  });

  test('logs are rotated by max-size and max-file', async () => {
    await fx.docker.ok([
      'run',
      '--name',
      'rot',
      '--log-opt',
      'max-size=1k',
      '--log-opt',
      'max-file=2',
      fx.image,
      'sh',
      '-c',
      'for i in $(seq 1 100); do echo line-$i; done',
    ]);
    const logs = (await fx.docker.ok(['logs', 'rot'])).stdout.split('\n').filter(Boolean);
    assert.ok(logs.length < 100, `kept ${logs.length} lines`);
    assert.equal(logs[logs.length - 1], 'line-100');
    const path = await inspect<string>(fx.docker, 'rot', '{{json .LogPath}}');
    const { statSync, existsSync } = await import('node:fs');
    assert.ok(statSync(path).size <= 1024);
    assert.ok(existsSync(`${path}.1`));
    assert.ok(!existsSync(`${path}.2`));
    await fx.docker.ok(['rm', 'rot']);
  });
});

describe('restart policies', () => {
  test('on-failure:2 restarts twice, then stays exited', async () => {
    await fx.docker.ok(['run', '-d', '--name', 'flaky', '--restart', 'on-failure:2', fx.image, 'sh', '-c', 'echo run; exit 1']);
    await eventually('two restarts', async () => {
      const s = await inspect<{ RestartCount: number; State: { Status: string } }>(fx.docker, 'flaky', '{{json .}}');
      return s.RestartCount === 2 && s.State.Status === 'exited';
    });
    await sleep(1000);
    assert.equal(await inspect<number>(fx.docker, 'flaky', '{{json .RestartCount}}'), 2);
    assert.equal((await fx.docker.ok(['logs', 'flaky'])).stdout, 'run\nrun\nrun\n');
    await fx.docker.ok(['rm', 'flaky']);
  });

  test('always restarts after exit; stop keeps it stopped', async () => {
    await fx.docker.ok(['run', '-d', '--name', 'forever', '--restart', 'always', fx.image, 'sh', '-c', 'sleep 0.2']);
    await eventually('restarted', async () => (await inspect<number>(fx.docker, 'forever', '{{json .RestartCount}}')) >= 2);
    await fx.docker.ok(['stop', 'forever']);
    await sleep(700);
    assert.equal(await inspect<string>(fx.docker, 'forever', '{{json .State.Status}}'), 'exited');
    await fx.docker.ok(['rm', 'forever']);
  });
});

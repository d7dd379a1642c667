/**
 * The core slice with the real docker CLI: run (--rm, -d, -e, --env-file,
 * -w, -u, --entrypoint, --hostname, -l, -i), ps, logs, stop, rm, inspect,
 * exec; and bad input (unknown container, name conflicts, missing command).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { engineRequest } from '../helpers/docker.js';
import { assertServing, eventually, inspect, out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();

describe('docker run', () => {
  test('--rm prints the output, exits with the code, removes the container', async () => {
    const r = await fx.docker.run(['run', '--rm', '--name', 'rm1', fx.image, 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    await eventually('rm1 removed', async () => (await fx.docker.run(['inspect', 'rm1'])).code !== 0);
  });

  test('the command is PID 1 and sees only its own processes; hostname defaults to the short ID', async () => {
    const r = await fx.docker.ok(['run', '--name', 'pid1', fx.image, 'sh', '-c', 'ps -o pid,args; hostname']);
    const lines = out(r).split('\n');
    assert.match(lines[1]!, /^\s*1 sh -c ps -o pid,args; hostname$/);
    assert.equal(lines.length, 4, r.stdout); // header, sh, ps, hostname line
    const id = await inspect<string>(fx.docker, 'pid1', '{{json .Id}}');
    assert.equal(lines[3], id.slice(0, 12));
    await fx.docker.ok(['rm', 'pid1']);
  });

  test('-e, --env-file, -w, -u, --hostname, --entrypoint, -l', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-envfile-'));
    try {
      await writeFile(join(dir, 'env'), '# a comment\nFROM_FILE=yes\nB=file\n');
      const r = await fx.docker.ok([
        'run',
        '--rm',
        '-e',
        'A=1',
        '-e',
        'B=flag',
        '--env-file',
        join(dir, 'env'),
        '-w',
        '/tmp/work',
        '-u',
        '65534:65534',
        '--hostname',
        'myhost',
        '--entrypoint',
        'sh',
        fx.image,
        '-c',
        'echo $A $B $FROM_FILE; pwd; id -u; id -g; hostname',
      ]);
      assert.deepEqual(out(r).split('\n'), ['1 flag yes', '/tmp/work', '65534', '65534', 'myhost']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    await fx.docker.ok(['create', '--name', 'labelled', '-l', 'tier=web', '-l', 'team', fx.image]);
    const labels = await inspect<Record<string, string>>(fx.docker, 'labelled', '{{json .Config.Labels}}');
    assert.deepEqual(labels, { tier: 'web', team: '' });
    await fx.docker.ok(['rm', 'labelled']);
  });

  test('a named user is looked up in the image /etc/passwd', async () => {
    const r = await fx.docker.ok(['run', '--rm', '-u', 'nobody', fx.image, 'id']);
    assert.match(out(r), /^uid=65534\(nobody\) gid=65534\(nogroup\)/);
  });

  test('-i passes piped stdin to the process and ends it at EOF', async () => {
    const r = await fx.docker.ok(['run', '--rm', '-i', fx.image, 'sh', '-c', 'tr a-z A-Z; echo done'], { input: 'hello stdin\n' });
    assert.equal(r.stdout, 'HELLO STDIN\ndone\n');
  });

  test('-d runs in the background; ps, logs, exec, stop, rm', async () => {
    const id = out(
      await fx.docker.ok([
        'run',
        '-d',
        '--name',
        'bg',
        fx.image,
        'sh',
        '-c',
        'echo started; echo warn >&2; trap "echo bye; exit 0" TERM; while true; do sleep 0.1; done',
      ]),
    );
    assert.match(id, /^[a-f0-9]{64}$/);
    const ps = out(await fx.docker.ok(['ps', '--format', '{{.ID}} {{.Names}} {{.Status}} {{.Command}}']));
    assert.match(ps, new RegExp(`^${id.slice(0, 12)} bg Up (Less than a second|\\d+ seconds?) "sh -c echo started;`, 'm'));
    await eventually('logs', async () => (await fx.docker.run(['logs', 'bg'])).stdout === 'started\n');
    const logs = await fx.docker.ok(['logs', 'bg']);
    assert.equal(logs.stderr, 'warn\n');
    const ex = await fx.docker.ok(['exec', '-e', 'X=42', '-w', '/tmp', 'bg', 'sh', '-c', 'echo $X $(pwd); ps -o pid,args | grep "^ *1 "']);
    assert.match(out(ex), /^42 \/tmp\n\s*1 sh -c echo started;/);
    const exu = await fx.docker.ok(['exec', '-u', 'nobody', 'bg', 'id', '-u']);
    assert.equal(out(exu), '65534');
    const exCode = await fx.docker.run(['exec', 'bg', 'sh', '-c', 'exit 7']);
    assert.equal(exCode.code, 7);
    const rmRunning = await fx.docker.run(['rm', 'bg']);
    assert.notEqual(rmRunning.code, 0);
    assert.match(rmRunning.stderr, /cannot remove container "\/?bg": container is running: stop the container before removing or force remove/);
    await fx.docker.ok(['stop', 'bg']);
    const state = await inspect<{ Status: string; ExitCode: number; Running: boolean }>(fx.docker, 'bg', '{{json .State}}');
    assert.equal(state.Status, 'exited');
    assert.equal(state.ExitCode, 0);
    assert.equal(state.Running, false);
    assert.equal((await fx.docker.ok(['logs', 'bg'])).stdout, 'started\nbye\n');
    assert.match(out(await fx.docker.ok(['ps', '-a', '--filter', 'name=bg', '--format', '{{.Status}}'])), /^Exited \(0\) /);
    await fx.docker.ok(['rm', 'bg']);
    assert.equal(out(await fx.docker.ok(['ps', '-aq', '--filter', 'name=bg'])), '');
  });

  test('rm -f removes a running container', async () => {
    await fx.docker.ok(['run', '-d', '--name', 'forced', fx.image, 'sleep', '1000']);
    await fx.docker.ok(['rm', '-f', 'forced']);
    assert.equal((await fx.docker.run(['inspect', 'forced'])).code, 1);
  });
});

describe('bad input', () => {
  test('an unknown container is a 404 with dockerd wording', async () => {
    for (const args of [
      ['container', 'inspect', 'nosuch'],
      ['stop', 'nosuch'],
      ['logs', 'nosuch'],
      ['rm', 'nosuch'],
      ['exec', 'nosuch', 'true'],
    ]) {
      const r = await fx.docker.run(args);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /No such container: nosuch/, args.join(' '));
    }
    const raw = await engineRequest(fx.agent.current.socket, 'GET', '/containers/nosuch/json');
    assert.equal(raw.status, 404);
    assert.deepEqual(raw.json(), { message: 'No such container: nosuch' });
    await assertServing(fx);
  });

  test('a name in use is a 409 with dockerd message', async () => {
    const id = out(await fx.docker.ok(['create', '--name', 'taken', fx.image]));
    const r = await fx.docker.run(['create', '--name', 'taken', fx.image]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `Conflict\\. The container name "/taken" is already in use by container "${id}"\\. You have to remove \\(or rename\\) that container to be able to reuse that name\\.`,
      ),
    );
    const raw = await engineRequest(fx.agent.current.socket, 'POST', '/containers/create?name=taken', { body: { Image: fx.image } });
    assert.equal(raw.status, 409);
    await fx.docker.ok(['rm', 'taken']);
    await assertServing(fx);
  });

  test('a missing command exits 127 with dockerd message', async () => {
    const r = await fx.docker.run(['run', '--name', 'nocmd', fx.image, 'nosuch']);
    assert.equal(r.code, 127);
    assert.match(r.stderr, /berth runtime: unable to start container process: exec: "nosuch": executable file not found in \$PATH/);
    assert.doesNotMatch(r.stderr, /runc|shim|OCI runtime/, 'Berth names no runtime it does not have');
    const state = await inspect<{ ExitCode: number; Error: string }>(fx.docker, 'nocmd', '{{json .State}}');
    assert.equal(state.ExitCode, 127);
    assert.match(state.Error, /executable file not found/);
    await fx.docker.ok(['rm', 'nocmd']);
    await assertServing(fx);
  });

  test('conflicting or invalid options are a 400', async () => {
    const raw = await engineRequest(fx.agent.current.socket, 'POST', '/containers/create', {
      body: { Image: fx.image, HostConfig: { AutoRemove: true, RestartPolicy: { Name: 'always' } } },
    });
    assert.equal(raw.status, 400);
    assert.match(raw.json<{ message: string }>().message, /can't create 'AutoRemove' container with restart policy/);
    const bad = await engineRequest(fx.agent.current.socket, 'POST', '/containers/create', {
      body: { Image: fx.image, HostConfig: { RestartPolicy: { Name: 'sometimes' } } },
    });
    assert.equal(bad.status, 400);
    const cli = await fx.docker.run(['run', '--rm', '--restart', 'always', fx.image, 'true']);
    assert.equal(cli.code, 125);
    assert.match(cli.stderr, /conflicting options: (--restart and --rm|cannot specify both --restart and --rm)/i);
    await assertServing(fx);
  });
});

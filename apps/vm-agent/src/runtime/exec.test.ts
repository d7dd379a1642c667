// Exec into a running container, and watching a process the agent did not start. Needs root.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';

import { execInContainer } from './exec.js';
import { watchPid } from './process.js';
import { spawnContainer } from './spawn.js';
import { collect, makeRootfs, type TestRootfs } from './test-rootfs.js';

let fx: TestRootfs;
before(() => {
  fx = makeRootfs();
});
after(() => fx.cleanup());

const ENV = ['PATH=/bin'];

test("exec shares the container's pid namespace, hostname and rootfs, with its own env, user and cwd", async (t) => {
  const init = await spawnContainer({ rootfs: fx.rootfs, args: ['sh', '-c', 'echo marker > /tmp/m; exec sleep 100'], env: ENV, hostname: 'ctr', cwd: '/tmp' });
  t.after(async () => {
    init.kill('SIGKILL');
    await init.exited;
  });
  await new Promise((r) => setTimeout(r, 100));
  const p = await execInContainer(init.pid, {
    args: ['sh', '-c', 'echo $$ $FOO; hostname; ps -o pid,comm; cat /tmp/m; id -u; pwd; true'],
    env: ['PATH=/bin', 'FOO=bar'],
    user: { uid: 1000, gid: 1000 },
    cwd: '/tmp',
  });
  const [out, err, status] = await Promise.all([collect(p.stdout), collect(p.stderr), p.exited]);
  assert.equal(err, '');
  assert.deepEqual(status, { exitCode: 0, signal: null });
  const lines = out.trim().split('\n');
  const [pid, foo] = lines[0]!.split(' ');
  assert.ok(Number(pid) > 1);
  assert.equal(foo, 'bar');
  assert.equal(lines[1], 'ctr');
  assert.match(out, /^\s*1 sleep$/m); // the container's init, as PID 1
  assert.match(out, /^marker$/m);
  assert.match(out, /^1000$/m);
  assert.match(out, /^\/tmp$/m);
});

test('exec errors, signals and a pty', async (t) => {
  const init = await spawnContainer({ rootfs: fx.rootfs, args: ['sleep', '100'], env: ENV });
  t.after(async () => {
    init.kill('SIGKILL');
    await init.exited;
  });
  await assert.rejects(execInContainer(init.pid, { args: ['nosuch'], env: ENV }), {
    message: 'exec: "nosuch": executable file not found in $PATH',
    exitCode: 127,
  });
  await assert.rejects(execInContainer(init.pid, { args: ['true'], env: ENV, cwd: '/no/such/dir' }), {
    code: 'ENOENT',
    syscall: 'chdir',
  });
  const sleeper = await execInContainer(init.pid, { args: ['sleep', '100'], env: ENV });
  sleeper.kill('SIGTERM'); // not PID 1: default action applies
  assert.deepEqual(await sleeper.exited, { exitCode: null, signal: 'SIGTERM' });

  const p = await execInContainer(init.pid, { args: ['sh', '-c', 'tty; stty size'], env: ENV, tty: true, consoleSize: { cols: 90, rows: 20 } });
  const text = (await collect(p.pty)).replace(/\r/g, '');
  assert.equal((await p.exited).exitCode, 0);
  assert.match(text, /^\/dev\/pts\/\d+\n20 90\n$/);
});

test('watchPid reports the exit of a process the agent did not start, status unknown', async () => {
  const child = spawn('sleep', ['0.2']);
  const started = Date.now();
  const status = await watchPid(child.pid!);
  assert.deepEqual(status, { exitCode: null, signal: null });
  assert.ok(Date.now() - started >= 150);
});

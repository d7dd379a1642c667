// Containers against the real kernel, from a busybox rootfs on an overlay.
// Needs root. Each test cleans up its mounts (and cgroups in cgroups.test.ts).
import assert from 'node:assert/strict';
import { openSync, closeSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { after, before, test } from 'node:test';

import { collect, makeRootfs, runScript, TEST_ENV, type TestRootfs } from './test-rootfs.js';
import { spawnContainer, type ContainerSpec } from './spawn.js';
import { isNativeError } from './native.js';

let fx: TestRootfs;
before(() => {
  fx = makeRootfs();
});
after(() => fx.cleanup());

const ENV = TEST_ENV;
const run = (script: string, extra: Partial<ContainerSpec> = {}) => runScript(fx.rootfs, script, extra);

test('the command is PID 1 and sees only its own processes; hostname is set', async () => {
  const r = await run('echo $$; hostname; ps -o pid,comm; true', { hostname: 'box1' }); // `; true`: sh would exec a last ps
  const [pid1, hostname, ...ps] = r.stdout.trim().split('\n');
  assert.equal(pid1, '1');
  assert.equal(hostname, 'box1');
  const pids = ps.slice(1).map((l) => l.trim().split(/\s+/)[0]);
  assert.equal(pids.length, 2, ps.join('\n')); // sh and ps only
  assert.equal(pids[0], '1');
  assert.equal(r.status.exitCode, 0);
  assert.ok(r.pid > 1);
});

test("capabilities are Docker's default set; the bounding set is the same; uid 0", async () => {
  const r = await run('grep -E "^Cap(Inh|Prm|Eff|Bnd|Amb)" /proc/self/status; id -u');
  assert.match(r.stdout, /CapInh:\s+0000000000000000/);
  assert.match(r.stdout, /CapPrm:\s+00000000a80425fb/);
  assert.match(r.stdout, /CapEff:\s+00000000a80425fb/);
  assert.match(r.stdout, /CapBnd:\s+00000000a80425fb/);
  assert.match(r.stdout, /^0$/m);
});

test('user, groups and a created working directory are applied; no_new_privs only on request', async () => {
  const r = await run('id; pwd; grep -E "^(CapEff|NoNewPrivs)" /proc/self/status', {
    user: { uid: 1000, gid: 1001, additionalGids: [20, 30] },
    cwd: '/work/deep/dir',
    noNewPrivileges: true,
  });
  assert.match(r.stdout, /uid=1000 gid=1001 groups=20,30/);
  assert.match(r.stdout, /^\/work\/deep\/dir$/m);
  assert.match(r.stdout, /CapEff:\s+0000000000000000/);
  assert.match(r.stdout, /NoNewPrivs:\s+1/);
  const plain = await run('grep NoNewPrivs /proc/self/status');
  assert.match(plain.stdout, /NoNewPrivs:\s+0/);
});

test("the agent's fds do not leak: only 0-2 (and ls's own) are open", async (t) => {
  const leak = openSync('/proc/self/status', 'r'); // not close-on-exec? Node opens O_CLOEXEC; the child still closes all
  t.after(() => closeSync(leak));
  const r = await run('ls /proc/self/fd');
  const fds = r.stdout
    .trim()
    .split('\n')
    .map(Number)
    .sort((a, b) => a - b);
  assert.deepEqual(fds.slice(0, 3), [0, 1, 2]);
  assert.ok(fds.length <= 4, `unexpected fds: ${fds.join(' ')}`); // 3 is ls reading the directory
});

test('stdin pipe, stdout and stderr are separate; /dev, /proc and binds are in place', async () => {
  writeFileSync(`${fx.etc}/hosts`, '127.0.0.1 localhost\n10.0.0.2 box\n');
  const p = await spawnContainer({
    rootfs: fx.rootfs,
    args: [
      'sh',
      '-c',
      'cat; echo err >&2; cat /etc/hosts; ls /dev; ls -ld /dev/pts/ptmx /dev/shm; mount | grep -c " /sys .*ro,"; echo x >> /etc/hosts || echo hosts-ro',
    ],
    env: ENV,
    stdin: true,
    binds: [{ source: `${fx.etc}/hosts`, destination: '/etc/hosts', readonly: true }],
  });
  p.stdin!.end('from stdin\n');
  const [out, err, status] = await Promise.all([collect(p.stdout), collect(p.stderr), p.exited]);
  assert.equal(status.exitCode, 0);
  assert.equal(err, "err\nsh: can't create /etc/hosts: Read-only file system\n");
  assert.match(out, /^from stdin\n127.0.0.1 localhost\n10.0.0.2 box\n/);
  for (const dev of ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'ptmx', 'fd', 'stdin', 'stdout', 'stderr', 'pts', 'shm'])
    assert.match(out, new RegExp(`^${dev}$`, 'm'));
  assert.match(out, /^1$/m);
  assert.match(out, /^hosts-ro$/m);
  // Nothing the container did reached the host's mount table.
  assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(`${fx.rootfs}/proc`));
});

test('exit codes and signals are reported', async () => {
  assert.deepEqual((await run('exit 3')).status, { exitCode: 3, signal: null });
  const p = await spawnContainer({ rootfs: fx.rootfs, args: ['sleep', '100'], env: ENV });
  assert.equal(p.kill('SIGKILL'), true);
  assert.deepEqual(await p.exited, { exitCode: null, signal: 'SIGKILL' });
  assert.equal(p.kill('SIGKILL'), false);
});

test('a missing command is dockerd\'s "executable file not found" with exit code 127', async () => {
  await assert.rejects(spawnContainer({ rootfs: fx.rootfs, args: ['nosuch'], env: ENV }), (err: unknown) => {
    assert.ok(isNativeError(err));
    assert.equal(err.message, 'exec: "nosuch": executable file not found in $PATH');
    assert.equal(err.code, 'ENOENT');
    assert.equal((err as { exitCode?: number }).exitCode, 127);
    return true;
  });
  await assert.rejects(spawnContainer({ rootfs: fx.rootfs, args: ['/etc/passwd'], env: ENV }), {
    message: 'exec: "/etc/passwd": permission denied',
    exitCode: 126,
  });
});

test('a failing step names itself; a failing beforeStart aborts the start', async () => {
  await assert.rejects(spawnContainer({ rootfs: fx.rootfs, args: ['true'], env: ENV, binds: [{ source: '/nonexistent/x', destination: '/x' }] }), {
    code: 'ENOENT',
    syscall: 'stat',
    message: 'bind mount source `/nonexistent/x`: No such file or directory',
  });
  let seen = 0;
  await assert.rejects(
    spawnContainer({
      rootfs: fx.rootfs,
      args: ['true'],
      env: ENV,
      beforeStart: (pid) => {
        seen = pid;
        assert.ok(existsSync(`/proc/${pid}/ns/net`));
        throw new Error('network setup failed');
      },
    }),
    /network setup failed/,
  );
  assert.ok(seen > 0);
  assert.equal(existsSync(`/proc/${seen}`), false); // killed and reaped
});

test('a pty: the slave is /dev/pts/0 and the controlling terminal; resize reaches stty', async () => {
  const p = await spawnContainer({
    rootfs: fx.rootfs,
    args: ['sh', '-c', 'tty; stty size; read line; stty size; echo got $line'],
    env: ENV,
    tty: true,
    consoleSize: { cols: 100, rows: 30 },
  });
  assert.equal(p.stdout, undefined);
  const out = collect(p.pty);
  // resize only once the first size is printed (a fixed wait raced the shell on a loaded machine)
  let seen = '';
  p.pty!.on('data', (c: Buffer) => (seen += c.toString()));
  for (let i = 0; i < 500 && !seen.includes('30 100'); i++) await new Promise((r) => setTimeout(r, 10));
  p.resize(120, 40);
  p.pty!.write('hello\n');
  const text = (await out).replace(/\r/g, '');
  assert.deepEqual(await p.exited, { exitCode: 0, signal: null });
  assert.match(text, /^\/dev\/pts\/0\n30 100\n/);
  assert.match(text, /40 120\n/);
  assert.match(text, /got hello/);
});

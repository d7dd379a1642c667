// Shared namespaces, /dev/shm, sysctls and the OOM score at the runtime's
// level, against the real kernel (needs root): what the addon does with the
// spec's fields, and the errors that name the step.
import assert from 'node:assert/strict';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { after, before, test } from 'node:test';

import { makeRootfs, runScript, TEST_ENV, type TestRootfs } from './test-rootfs.js';
import { spawnContainer, type ContainerSpec } from './spawn.js';

let fx: TestRootfs;
before(() => {
  fx = makeRootfs();
});
after(() => fx.cleanup());

const ENV = TEST_ENV;
const run = async (script: string, extra: Partial<ContainerSpec> = {}) => {
  const r = await runScript(fx.rootfs, script, extra);
  return { ...r, stdout: r.stdout.trim() };
};

test("uts host: the host's name, and a hostname in the spec is never set on the host", async () => {
  const before = hostname();
  const r = await run('hostname', { hostname: 'not-the-host', namespaces: { uts: 'host' } });
  assert.equal(r.stdout, before);
  assert.equal(hostname(), before);
});

test("pid host and a joined pid namespace; the agent's own namespaces stay", async () => {
  assert.equal((await run('cat /proc/1/comm', { namespaces: { pid: 'host' } })).stdout, readFileSync('/proc/1/comm', 'utf8').trim());
  const mine = readlinkSync('/proc/thread-self/ns/pid_for_children');
  const a = await spawnContainer({ rootfs: fx.rootfs, args: ['sleep', '303'], env: ENV });
  try {
    const r = await run('echo $$; ps -o comm,args', { namespaces: { pid: { joinPidOf: a.pid }, ipc: { joinPidOf: a.pid } } });
    const [self, ...ps] = r.stdout.split('\n');
    assert.notEqual(self, '1', 'A is pid 1 of that namespace');
    assert.match(ps.join('\n'), /sleep 303/);
    assert.equal(readlinkSync('/proc/thread-self/ns/pid_for_children'), mine);
  } finally {
    a.kill('SIGKILL');
    await a.exited;
  }
});

test('a process to join that is gone is an error naming pidfd_open', () => {
  assert.throws(() => spawnContainer({ rootfs: fx.rootfs, args: ['true'], env: ENV, namespaces: { pid: { joinPidOf: 0x3fffffff } } }), {
    syscall: 'pidfd_open',
    message: /open process 1073741823 to join its namespace \(spec\.joinPidOf\)/,
  });
});

test('/dev/shm sized, or none; sysctls written under /proc/sys, a bad one names its path; the OOM score', async () => {
  assert.match((await run('df -k /dev/shm | tail -1', { shmSize: 4 << 20 })).stdout, /\s4096\s/);
  assert.equal((await run('test -e /dev/shm && echo yes || echo no', { noShm: true })).stdout, 'no');
  assert.equal((await run('cat /proc/sys/kernel/msgmax', { sysctls: { 'kernel/msgmax': '4242' } })).stdout, '4242');
  await assert.rejects(run('true', { sysctls: { 'kernel/no_such_sysctl': '1' } }), {
    syscall: 'open',
    message: /open `\/proc\/sys\/kernel\/no_such_sysctl` to write `1`/,
  });
  assert.equal((await run('cat /proc/self/oom_score_adj', { oomScoreAdj: 321 })).stdout, '321');
  assert.throws(() => spawnContainer({ rootfs: fx.rootfs, args: ['true'], env: ENV, oomScoreAdj: 1001 }), /oomScoreAdj must be between -1000 and 1000/);
});

// cgroups on this machine's real layout (v1 hierarchies on the test host,
// v2 in the VM), with a container in them. Needs root.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';

import { Cgroup } from './cgroups.js';
import { detectCgroups } from './cgroup-layout.js';
import { execInContainer } from './exec.js';
import { spawnContainer } from './spawn.js';
import { makeRootfs, type TestRootfs } from './test-rootfs.js';

let fx: TestRootfs;
before(() => {
  fx = makeRootfs();
});
after(() => fx.cleanup());

const ENV = ['PATH=/bin'];

test('detectCgroups reads v1 hierarchies and v2 from mountinfo', () => {
  const v1 = detectCgroups(
    '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu,cpuacct\n' +
      '37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n' +
      '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n',
  );
  assert.equal(v1.version, 1);
  assert.deepEqual(
    [...v1.hierarchies],
    [
      ['cpu,cpuacct', '/sys/fs/cgroup/cpu'],
      ['freezer', '/sys/fs/cgroup/freezer'],
    ],
  );
  const v2 = detectCgroups('30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n');
  assert.equal(v2.version, 2);
});

test('a container joins its cgroup (exec too); freeze stops it, thaw resumes; stats; remove', async (t) => {
  const cg = Cgroup.create(`test-${process.pid}`);
  t.after(() => cg.remove());
  assert.equal(cg.version, detectCgroups().version);
  const p = await spawnContainer({
    rootfs: fx.rootfs,
    args: ['sh', '-c', 'while true; do echo tick; sleep 0.05; done'],
    env: ENV,
    cgroup: cg,
    mountCgroup2: cg.version === 2,
  });
  let ticks = 0;
  p.stdout!.on('data', (d: Buffer) => (ticks += d.toString().split('tick').length - 1));
  t.after(async () => {
    p.kill('SIGKILL');
    await p.exited;
  });

  for (const dir of cg.dirs) assert.ok(readFileSync(`${dir}/cgroup.procs`, 'utf8').split('\n').includes(String(p.pid)), dir);
  assert.ok(cg.pids().includes(p.pid));
  const own = readFileSync(`/proc/${p.pid}/cgroup`, 'utf8');
  assert.match(own, new RegExp(`/berth/test-${process.pid}$`, 'm'));

  const e = await execInContainer(p.pid, { args: ['sleep', '10'], env: ENV, cgroup: cg });
  assert.ok(cg.pids().includes(e.pid));
  e.kill('SIGKILL');
  await e.exited;

  await new Promise((r) => setTimeout(r, 200));
  assert.ok(ticks > 0);
  await cg.freeze();
  await new Promise((r) => setTimeout(r, 50)); // output already in the pipe drains
  const frozenAt = ticks;
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(ticks, frozenAt, 'a frozen container made progress');
  await cg.thaw();
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(ticks > frozenAt, 'a thawed container did not resume');

  const stats = cg.stats();
  assert.ok(stats.memoryBytes! > 0);
  assert.ok(stats.cpuNanos! > 0);
  assert.ok(stats.pids! >= 1);

  cg.setLimits({ memoryBytes: 256 * 1024 * 1024, nanoCpus: 1_500_000_000, pidsLimit: 100 });
  const memFile = cg.version === 2 ? 'memory.max' : 'memory.limit_in_bytes';
  const memDir = cg.dirs.find((d) => existsSync(`${d}/${memFile}`))!;
  assert.equal(readFileSync(`${memDir}/${memFile}`, 'utf8').trim(), String(256 * 1024 * 1024));

  p.kill('SIGKILL');
  await p.exited;
  await cg.remove();
  for (const dir of cg.dirs) assert.equal(existsSync(dir), false);
});

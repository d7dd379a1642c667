/**
 * The rest of HostConfig's resources, as dockerd applies them: memory
 * reservation, swappiness, OOM-kill disable, cpuset, blkio weight and
 * real-time CPU each reach the container's cgroup, or (where this machine's
 * cgroups have no such file) are dropped with dockerd's warning, which the
 * CLI prints, and inspect shows them unset; bad values are refused in
 * dockerd's words; docker update changes only what it is given (the CLI
 * sends every limit, unset ones as 0) and refuses other fields by name.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { engineRequest } from '../helpers/docker.js';
import { inspect, out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();
const run = randomBytes(3).toString('hex');
const MiB = 1024 * 1024;
after(async () => {
  await fx.docker?.run(['rm', '-f', `res-${run}`, `upd-${run}`, `rt-${run}`]);
});

const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
const v1Root = (controller: string) => join('/sys/fs/cgroup', controller);
const cgFile = (id: string, controller: string, file: string) => (v2 ? join('/sys/fs/cgroup/berth', id, file) : join(v1Root(controller), 'berth', id, file));
const readCg = (id: string, controller: string, file: string) => readFileSync(cgFile(id, controller, file), 'utf8').trim();
/** Does this machine's cgroup root have the file (what dockerd's sysinfo checks)? */
const v1Has = (controller: string, file: string) => !v2 && existsSync(join(v1Root(controller), file));

test("memory reservation, swappiness, OOM-kill disable, cpuset: applied, or dropped with dockerd's warning", async () => {
  const d = fx.docker;
  const r = await d.ok([
    'run',
    '-d',
    '--name',
    `res-${run}`,
    '-m',
    '64m',
    '--memory-reservation',
    '32m',
    '--memory-swappiness',
    '10',
    '--oom-kill-disable',
    '--cpuset-cpus',
    '0',
    '--blkio-weight',
    '300',
    fx.image,
    'sleep',
    '1000',
  ]);
  const id = out(r);
  const hc = await inspect<Record<string, unknown>>(d, `res-${run}`, '{{json .HostConfig}}');
  assert.equal(hc.MemoryReservation, 32 * MiB);
  assert.equal(readCg(id, 'memory', v2 ? 'memory.low' : 'memory.soft_limit_in_bytes'), String(32 * MiB));
  assert.equal(readCg(id, 'cpuset', 'cpuset.cpus'), '0');
  assert.equal(out(await d.ok(['exec', `res-${run}`, 'sh', '-c', 'grep Cpus_allowed_list /proc/self/status'])), 'Cpus_allowed_list:\t0');
  if (v1Has('memory', 'memory.swappiness')) {
    assert.equal(readCg(id, 'memory', 'memory.swappiness'), '10');
    assert.equal(hc.MemorySwappiness, 10);
  } else {
    assert.match(r.stderr, /Memory swappiness discarded/);
    assert.equal(hc.MemorySwappiness, null);
  }
  if (v1Has('memory', 'memory.oom_control')) {
    assert.match(readCg(id, 'memory', 'memory.oom_control'), /^oom_kill_disable 1$/m);
    assert.equal(hc.OomKillDisable, true);
  } else {
    assert.match(r.stderr, /OomKillDisable discarded/);
    assert.equal(hc.OomKillDisable, false);
  }
  if (v1Has('blkio', 'blkio.weight')) assert.equal(readCg(id, 'blkio', 'blkio.weight'), '300');
  else if (!v2) {
    assert.match(r.stderr, /Block I\/O weight .* Weight discarded/);
    assert.equal(hc.BlkioWeight, 0);
  }
});

test("bad values are refused in dockerd's words, and nothing is created", async () => {
  const before = out(await fx.docker.ok(['ps', '-aq']))
    .split('\n')
    .filter(Boolean).length;
  const cases: [string[], RegExp][] = [
    [['--memory-reservation', '1m'], /Minimum memory reservation allowed is 6MB/],
    [['-m', '32m', '--memory-reservation', '64m'], /Minimum memory limit can not be less than memory reservation limit/],
    [['--cpuset-cpus', '0-999'], /Requested CPUs are not available - requested 0-999, available: 0-\d+/],
    [['--cpuset-cpus', 'abc'], /Invalid value abc for cpuset cpus/],
    [['--cpuset-mems', '7'], /Requested memory nodes are not available - requested 7/],
    [['--blkio-weight', '5'], /Range of blkio weight is from 10 to 1000/],
    [
      ['--cpu-rt-period', '1000', '--cpu-rt-runtime', '2000'],
      v1Has('cpu', 'cpu.rt_runtime_us') ? /cpu-rt-runtime cannot be higher than cpu-rt-period/ : /Your kernel does not support CPU real-time scheduler/,
    ],
  ];
  for (const [args, message] of cases) {
    const r = await fx.docker.run(['create', ...args, fx.image, 'true']);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, message, args.join(' '));
  }
  // the CLI checks swappiness itself; the engine's check is for other clients
  const raw = await engineRequest(fx.agent.current.socket, 'POST', '/containers/create', { body: { Image: fx.image, HostConfig: { MemorySwappiness: 101 } } });
  assert.equal(raw.status, 400);
  assert.match(raw.text(), /Invalid value: 101, valid memory swappiness range is 0-100/);
  assert.equal(
    out(await fx.docker.ok(['ps', '-aq']))
      .split('\n')
      .filter(Boolean).length,
    before,
  );
});

test("real-time CPU reaches the cgroup where the kernel has it, as dockerd's runc writes it", async () => {
  const r = await fx.docker.run(['run', '--name', `rt-${run}`, '--cpu-rt-runtime', '950', fx.image, 'true']);
  if (v1Has('cpu', 'cpu.rt_runtime_us')) {
    // The parent cgroup has no real-time budget (dockerd needs --cpu-rt-runtime on the daemon for that),
    // so the kernel refuses the write, and the start says so rather than run without it.
    assert.notEqual(r.code, 0, 'the kernel took a real-time budget the parent does not have');
    assert.match(r.stderr, /cpu\.rt_runtime_us/);
    assert.equal(await inspect<number>(fx.docker, `rt-${run}`, '{{json .HostConfig.CpuRealtimeRuntime}}'), 950);
  } else {
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Your kernel does not support CPU real-time scheduler/);
  }
});

test('docker update changes what it is given and keeps the rest; other fields are refused by name', async () => {
  const d = fx.docker;
  await d.ok(['run', '-d', '--name', `upd-${run}`, '--cpu-shares', '512', '--pids-limit', '50', '-m', '64m', fx.image, 'sleep', '1000']);
  const id = out(await d.ok(['inspect', '--format', '{{.Id}}', `upd-${run}`]));
  await d.ok(['update', '--cpus', '0.5', '--cpuset-cpus', '0', `upd-${run}`]);
  const hc = await inspect<Record<string, number | string>>(d, `upd-${run}`, '{{json .HostConfig}}');
  assert.deepEqual(
    [hc.CpuShares, hc.PidsLimit, hc.Memory, hc.NanoCpus, hc.CpusetCpus],
    [512, 50, 64 * MiB, 500_000_000, '0'],
    'update kept the limits it was not given',
  );
  assert.equal(readCg(id, 'pids', 'pids.max'), '50');
  assert.equal(readCg(id, 'cpuset', 'cpuset.cpus'), '0');
  const bad = await engineRequest(fx.agent.current.socket, 'POST', `/containers/${id}/update`, { body: { Privileged: true } });
  assert.equal(bad.status, 400);
  assert.match(bad.text(), /Privileged cannot be changed by docker update/);
});

/**
 * Limits and stats over the docker CLI, enforced by the host's real cgroups
 * (v1 here, v2 in the VM): an OOM kill (OOMKilled, 137), a pids-limited fork
 * bomb with the engine still answering, --ulimit, --cpus/-m/--cpu-shares in
 * inspect and the cgroup files, docker update, docker stats figures; and
 * `--network host` (same network namespace as the host, a port bound in the
 * container reachable on the host's loopback, exec into it).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { engineRequest } from '../helpers/docker.js';
import { freePort } from '../helpers/net.js';
import { eventually, inspect, out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();
const run = randomBytes(3).toString('hex');
const MiB = 1024 * 1024;

after(async () => {
  await fx.docker?.run(['rm', '-f', `oom-${run}`, `bomb-${run}`, `lim-${run}`, `host-${run}`, `ul-${run}`]);
});

const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
/** A cgroup file of a container, on either layout. */
function cgroupFile(id: string, v1Controller: string, file: string): string {
  return v2 ? join('/sys/fs/cgroup/berth', id, file) : join('/sys/fs/cgroup', v1Controller, 'berth', id, file);
}
const readCg = (id: string, controller: string, file: string) => readFileSync(cgroupFile(id, controller, file), 'utf8').trim();

describe('limits', () => {
  test('a container over its memory limit is OOM-killed: exit 137, OOMKilled true', async () => {
    const d = fx.docker;
    // tail keeps the whole newline-free "line" in memory.
    const r = await d.run(['run', '--name', `oom-${run}`, '-m', '16m', fx.image, 'sh', '-c', 'head -c 200000000 /dev/zero | tail'], { timeoutMs: 60_000 });
    assert.equal(r.code, 137, r.stderr);
    const state = await inspect<{ OOMKilled: boolean; ExitCode: number }>(d, `oom-${run}`, '{{json .State}}');
    assert.equal(state.OOMKilled, true);
    assert.equal(state.ExitCode, 137);
    // A container that exits normally is not marked.
    await d.ok(['rm', `oom-${run}`]);
    await d.ok(['run', '--name', `oom-${run}`, '-m', '16m', fx.image, 'true']);
    assert.equal(await inspect<boolean>(d, `oom-${run}`, '{{json .State.OOMKilled}}'), false);
    await d.ok(['rm', `oom-${run}`]);
  });

  test('a fork bomb stops at the pids limit and the engine stays responsive', async () => {
    const d = fx.docker;
    await d.ok(['run', '-d', '--name', `bomb-${run}`, '--pids-limit', '40', fx.image, 'sh', '-c', 'b() { b | b & }; b; sleep 300']);
    const id = out(await d.ok(['inspect', '--format', '{{.Id}}', `bomb-${run}`]));
    try {
      assert.equal(readCg(id, 'pids', 'pids.max'), '40');
      await eventually('the bomb hits its limit', async () => Number(readCg(id, 'pids', v2 ? 'pids.events' : 'pids.events').split(' ')[1]) > 0, 20_000);
      assert.ok(Number(readCg(id, 'pids', 'pids.current')) <= 40);
      const t0 = Date.now();
      await d.ok(['ps', '-q'], { timeoutMs: 10_000 });
      assert.ok(Date.now() - t0 < 5000, 'docker ps took over 5 s during the bomb');
    } finally {
      await d.run(['rm', '-f', `bomb-${run}`], { timeoutMs: 30_000 });
    }
    assert.equal(existsSync(cgroupFile(id, 'pids', '')), false, 'the cgroup outlived the container');
  });

  test("--ulimit is set in the container and in exec'd processes", async () => {
    const r = await fx.docker.ok([
      'run',
      '--rm',
      '--ulimit',
      'nofile=256:512',
      '--ulimit',
      'nproc=100',
      fx.image,
      'sh',
      '-c',
      'ulimit -n; ulimit -Hn; ulimit -u',
    ]);
    assert.equal(r.stdout, '256\n512\n100\n');
    await fx.docker.ok(['run', '-d', '--name', `ul-${run}`, '--ulimit', 'nofile=300:400', fx.image, 'sleep', '300']);
    assert.equal((await fx.docker.ok(['exec', `ul-${run}`, 'sh', '-c', 'ulimit -n; ulimit -Hn'])).stdout, '300\n400\n');
    await fx.docker.ok(['rm', '-f', `ul-${run}`]);
    const bad = await fx.docker.run(['run', '--rm', '--ulimit', 'nofile=512:256', fx.image, 'true']);
    assert.notEqual(bad.code, 0);
  });

  test('--cpus, -m, --memory-swap, --cpu-shares, --pids-limit in inspect and the cgroup files; docker update; docker stats', async () => {
    const d = fx.docker;
    await d.ok([
      'run',
      '-d',
      '--name',
      `lim-${run}`,
      '--cpus',
      '0.5',
      '-m',
      '64m',
      '--memory-swap',
      '128m',
      '--cpu-shares',
      '512',
      '--pids-limit',
      '50',
      fx.image,
      'sh',
      '-c',
      'while :; do :; done',
    ]);
    const id = out(await d.ok(['inspect', '--format', '{{.Id}}', `lim-${run}`]));
    const hc = await inspect<Record<string, number>>(d, `lim-${run}`, '{{json .HostConfig}}');
    assert.deepEqual([hc.NanoCpus, hc.Memory, hc.MemorySwap, hc.CpuShares, hc.PidsLimit], [500_000_000, 64 * MiB, 128 * MiB, 512, 50]);
    if (v2) {
      assert.equal(readCg(id, 'cpu', 'cpu.max'), '50000 100000');
      assert.equal(readCg(id, 'memory', 'memory.max'), String(64 * MiB));
      assert.equal(readCg(id, 'memory', 'memory.swap.max'), String(64 * MiB));
    } else {
      assert.equal(readCg(id, 'cpu', 'cpu.cfs_quota_us'), '50000');
      assert.equal(readCg(id, 'cpu', 'cpu.shares'), '512');
      assert.equal(readCg(id, 'memory', 'memory.limit_in_bytes'), String(64 * MiB));
      assert.equal(readCg(id, 'memory', 'memory.memsw.limit_in_bytes'), String(128 * MiB));
    }
    assert.equal(readCg(id, 'pids', 'pids.max'), '50');

    await d.ok(['update', '--memory', '96m', '--memory-swap', '192m', '--cpus', '0.25', `lim-${run}`]);
    assert.equal(await inspect<number>(d, `lim-${run}`, '{{json .HostConfig.Memory}}'), 96 * MiB);
    assert.equal(readCg(id, 'memory', v2 ? 'memory.max' : 'memory.limit_in_bytes'), String(96 * MiB));
    assert.equal(readCg(id, 'cpu', v2 ? 'cpu.max' : 'cpu.cfs_quota_us'), v2 ? '25000 100000' : '25000');

    // Some traffic on eth0, then the figures.
    const gw = out(await d.ok(['inspect', '--format', '{{.NetworkSettings.Gateway}}', `lim-${run}`]));
    await d.run(['exec', `lim-${run}`, 'ping', '-c', '2', '-W', '1', gw]);
    const res = await engineRequest(fx.agent.current.socket, 'GET', `/containers/${id}/stats?stream=false`, { timeoutMs: 10_000 });
    assert.equal(res.status, 200);
    const s = JSON.parse(res.body.toString());
    assert.ok(s.cpu_stats.cpu_usage.total_usage > s.precpu_stats.cpu_usage.total_usage, 'a busy loop used no CPU');
    assert.ok(s.cpu_stats.system_cpu_usage > s.precpu_stats.system_cpu_usage);
    assert.ok(s.cpu_stats.online_cpus >= 1);
    assert.equal(s.memory_stats.limit, 96 * MiB);
    assert.ok(s.memory_stats.usage > 0);
    assert.ok(s.networks.eth0.tx_bytes > 0, JSON.stringify(s.networks));
    assert.ok(s.pids_stats.current >= 1);
    assert.equal(s.name, `/lim-${run}`);
    const cpuPct =
      ((s.cpu_stats.cpu_usage.total_usage - s.precpu_stats.cpu_usage.total_usage) / (s.cpu_stats.system_cpu_usage - s.precpu_stats.system_cpu_usage)) *
      s.cpu_stats.online_cpus *
      100;
    assert.ok(cpuPct > 5 && cpuPct < 45, `CPU ${cpuPct.toFixed(1)}% with --cpus 0.25`);

    const cli = JSON.parse(out(await d.ok(['stats', '--no-stream', '--format', '{{json .}}', `lim-${run}`], { timeoutMs: 20_000 }))) as Record<string, string>;
    assert.match(cli.MemUsage!, /\/ 96MiB$/);
    assert.ok(parseFloat(cli.CPUPerc!) > 0, cli.CPUPerc);
    assert.match(cli.NetIO!, /B \/ \d/);
    assert.ok(Number(cli.PIDs) >= 1);

    // A stopped container's stats are zeroed, as dockerd's.
    await d.ok(['stop', '-t', '0', `lim-${run}`]);
    const stopped = JSON.parse((await engineRequest(fx.agent.current.socket, 'GET', `/containers/${id}/stats?stream=false`)).body.toString());
    assert.equal(stopped.read, '0001-01-01T00:00:00Z');
    await d.ok(['rm', `lim-${run}`]);
  });

  test('bad limits are refused with dockerd wording', async () => {
    const small = await fx.docker.run(['run', '--rm', '-m', '1m', fx.image, 'true']);
    assert.match(small.stderr, /Minimum memory limit allowed is 6MB/);
    const swap = await fx.docker.run(['run', '--rm', '-m', '64m', '--memory-swap', '32m', fx.image, 'true']);
    assert.match(swap.stderr, /Minimum memoryswap limit should be larger than memory limit/);
    const cpus = await fx.docker.run(['run', '--rm', '--cpus', '1000', fx.image, 'true']);
    assert.match(cpus.stderr, /Range of CPUs is from 0\.01 to \d+\.00/);
  });
});

describe('--network host', () => {
  test('shares the host network namespace: same netns, a port bound inside answers on host loopback, exec works', async () => {
    const d = fx.docker;
    const port = await freePort();
    await d.ok(['run', '-d', '--name', `host-${run}`, '--network', 'host', fx.image, 'httpd', '-f', '-p', `127.0.0.1:${port}`, '-h', '/www']);
    const pid = await inspect<number>(d, `host-${run}`, '{{json .State.Pid}}');
    assert.equal(readlinkSync(`/proc/${pid}/ns/net`), readlinkSync('/proc/self/ns/net'));
    await eventually('httpd answers on the host loopback', async () => {
      const body = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.text(),
        () => '',
      );
      return body === '<h1>berth test image</h1>\n';
    });
    const links = out(await d.ok(['exec', `host-${run}`, 'cat', '/proc/net/dev']));
    assert.match(links, /^\s*lo:/m);
    const hostIfs = readFileSync('/proc/net/dev', 'utf8')
      .split('\n')
      .slice(2)
      .map((l) => l.split(':')[0]!.trim())
      .filter(Boolean);
    const first = hostIfs.find((n) => n !== 'lo');
    if (first) assert.match(links, new RegExp(`^\\s*${first}:`, 'm'));
    const hostname = out(await d.ok(['exec', `host-${run}`, 'hostname']));
    assert.equal(hostname, readFileSync('/proc/sys/kernel/hostname', 'utf8').trim());
    await d.ok(['rm', '-f', `host-${run}`]);
  });
});

describe('docker update', () => {
  test("docker update --restart on a --rm container is a 409 in dockerd's words; its limits still update", async () => {
    const d = fx.docker;
    const id = out(await d.ok(['run', '-d', '--rm', '--name', `rmupd-${run}`, fx.image, 'sleep', '300']));
    try {
      const r = await d.run(['update', '--restart', 'always', id]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, new RegExp(`Cannot update container ${id}: Restart policy cannot be updated because AutoRemove is enabled for the container`));
      assert.equal(await inspect(d, id, '{{json .HostConfig.RestartPolicy.Name}}'), 'no');
      await d.ok(['update', '--pids-limit', '50', id]);
      assert.equal(await inspect(d, id, '{{json .HostConfig.PidsLimit}}'), 50);
    } finally {
      await d.run(['rm', '-f', id]);
    }
  });
});

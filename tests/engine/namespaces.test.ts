/**
 * The namespace fields of HostConfig through the docker CLI, as the process
 * in the container sees them: --pid host and container:A (/proc/1/comm, ps,
 * the pid namespace link), --ipc shareable/container:A (one IPC namespace
 * and one /dev/shm), none (no /dev/shm) and host, --uts host (the host's
 * name), --sysctl (read back under /proc/sys), --oom-score-adj and
 * --group-add (in the process and in every docker exec); and each refusal's
 * status and words, with no container left behind.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { after, describe, test } from 'node:test';
import { engineRequest } from '../helpers/docker.js';
import { inspect, out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();
const run = randomBytes(3).toString('hex');
const name = (what: string) => `ns-${what}-${run}`;

after(async () => {
  const names = out(await fx.docker.run(['ps', '-aq', '--filter', `name=-${run}`]))
    .split('\n')
    .filter(Boolean);
  if (names.length) await fx.docker.run(['rm', '-f', ...names]);
});

/** stdout of a `docker run --rm` of `cmd` with `args`. */
const inContainer = async (args: string[], ...cmd: string[]) => out(await fx.docker.ok(['run', '--rm', ...args, fx.image, ...cmd]));
const daemon = async (args: string[], nm: string, ...cmd: string[]) => fx.docker.ok(['run', '-d', '--name', nm, ...args, fx.image, ...cmd]);
const execOut = async (nm: string, ...cmd: string[]) => out(await fx.docker.ok(['exec', nm, ...cmd]));
const nsLink = (kind: string) => ['busybox', 'readlink', `/proc/self/ns/${kind}`];
/** The agent's pid: the parent of a running container's init. */
async function agentPid(container: string): Promise<string> {
  const init = await inspect<number>(fx.docker, container, '{{json .State.Pid}}');
  return readFileSync(`/proc/${init}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]!;
}
const containerCount = async () =>
  out(await fx.docker.ok(['ps', '-aq']))
    .split('\n')
    .filter(Boolean).length;

/** POST /containers/create with HostConfig `hc`: the status and message. */
async function create(hc: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<{ status: number; message: string }> {
  const r = await engineRequest(fx.agent.current.socket, 'POST', '/containers/create', { body: { Image: fx.image, Cmd: ['true'], HostConfig: hc, ...extra } });
  return { status: r.status, message: r.status < 300 ? '' : (r.json() as { message: string }).message };
}

describe('pid namespace', () => {
  test("--pid host sees the host's pid 1, in the process and in an exec, and docker top still lists it", async () => {
    const host = readFileSync('/proc/1/comm', 'utf8').trim();
    assert.notEqual(await inContainer([], 'cat', '/proc/1/comm'), host, 'a default container has its own pid 1');
    assert.equal(await inContainer(['--pid', 'host'], 'cat', '/proc/1/comm'), host);
    const nm = name('pidhost');
    await daemon(['--pid', 'host'], nm, 'sleep', '300');
    assert.equal(await execOut(nm, 'cat', '/proc/1/comm'), host);
    assert.equal(await execOut(nm, ...nsLink('pid')), readlinkSync('/proc/self/ns/pid'));
    assert.match(out(await fx.docker.ok(['top', nm])), /sleep 300/);
    assert.equal(out(await fx.docker.ok(['stats', '--no-stream', '--format', '{{.PIDs}}', nm])), '1');
  });

  test("--pid container:A sees A's processes and shares its pid namespace", async () => {
    const a = name('pida');
    await daemon([], a, 'sleep', '301');
    const aLink = await execOut(a, ...nsLink('pid'));
    assert.match(await inContainer(['--pid', `container:${a}`], 'ps'), /sleep 301/);
    assert.equal(await inContainer(['--pid', `container:${a}`], ...nsLink('pid')), aLink);
    assert.doesNotMatch(await inContainer([], 'ps'), /sleep 301/);
    // an exec in the joined container is in the same namespace too
    const b = name('pidb');
    await daemon(['--pid', `container:${a}`], b, 'sleep', '302');
    assert.equal(await execOut(b, ...nsLink('pid')), aLink);
    assert.match(await execOut(b, 'ps'), /sleep 301/);
  });
});

describe('ipc namespace', () => {
  test("--ipc container:A shares A's IPC namespace and /dev/shm when A is shareable", async () => {
    const a = name('ipca');
    await daemon(['--ipc', 'shareable'], a, 'sh', '-c', 'echo from-a > /dev/shm/note; sleep 300');
    const aLink = await execOut(a, ...nsLink('ipc'));
    // the join is made from a thread of its own: the agent's main thread stays where it was
    const agentNs = (kind: string, agent: string) => readlinkSync(`/proc/${agent}/task/${agent}/ns/${kind}`);
    const agent = await agentPid(a);
    const before = ['ipc', 'pid_for_children'].map((k) => agentNs(k, agent));
    assert.equal(await inContainer(['--ipc', `container:${a}`], 'cat', '/dev/shm/note'), 'from-a');
    assert.match(await inContainer(['--ipc', `container:${a}`, '--pid', `container:${a}`], 'ps'), /sleep 300/);
    assert.deepEqual(
      ['ipc', 'pid_for_children'].map((k) => agentNs(k, agent)),
      before,
    );
    assert.notEqual(before[0], aLink);
    assert.equal(await inContainer(['--ipc', `container:${a}`], ...nsLink('ipc')), aLink);
    // and the other way: what the joiner writes, A reads
    await inContainer(['--ipc', `container:${a}`], 'sh', '-c', 'echo from-b > /dev/shm/back');
    assert.equal(await execOut(a, 'cat', '/dev/shm/back'), 'from-b');
    assert.notEqual(await inContainer([], ...nsLink('ipc')), aLink);
    assert.equal(await inContainer([], 'sh', '-c', 'cat /dev/shm/note 2>/dev/null || echo none'), 'none');
  });

  test("--ipc none has no /dev/shm, private has its own, host the host's namespace", async () => {
    assert.equal(await inContainer(['--ipc', 'none'], 'sh', '-c', 'test -e /dev/shm && echo yes || echo no'), 'no');
    assert.equal(await inContainer([], 'sh', '-c', 'test -d /dev/shm && echo yes || echo no'), 'yes');
    assert.equal(await inContainer(['--ipc', 'host'], ...nsLink('ipc')), readlinkSync('/proc/self/ns/ipc'));
    assert.notEqual(await inContainer([], ...nsLink('ipc')), readlinkSync('/proc/self/ns/ipc'));
    assert.equal(out(await fx.docker.ok(['inspect', '--format', '{{.HostConfig.IpcMode}} {{.HostConfig.ShmSize}}', name('pida')])), 'private 67108864');
  });

  test('--shm-size sizes the private /dev/shm', async () => {
    assert.match(await inContainer(['--shm-size', '8m'], 'df', '-k', '/dev/shm'), /\s8192\s/);
  });
});

describe('uts, sysctls, oom score, groups', () => {
  test("--uts host has the host's hostname; the default its own", async () => {
    assert.equal(await inContainer(['--uts', 'host'], 'hostname'), hostname());
    assert.notEqual(await inContainer([], 'hostname'), hostname());
    assert.equal(await inContainer(['--uts', 'host'], ...nsLink('uts')), readlinkSync('/proc/self/ns/uts'));
  });

  test('--sysctl values are read back in the container and leave the host as it was', async () => {
    const hostShmmax = readFileSync('/proc/sys/kernel/shmmax', 'utf8').trim();
    const r = await inContainer(
      ['--sysctl', 'net.ipv4.ip_forward=1', '--sysctl', 'kernel.shmmax=1048576'],
      'cat',
      '/proc/sys/net/ipv4/ip_forward',
      '/proc/sys/kernel/shmmax',
    );
    assert.deepEqual(r.split('\n'), ['1', '1048576']);
    assert.equal(await inContainer(['--sysctl', 'net.ipv4.ip_forward=0'], 'cat', '/proc/sys/net/ipv4/ip_forward'), '0');
    assert.equal(readFileSync('/proc/sys/kernel/shmmax', 'utf8').trim(), hostShmmax);
  });

  test("dockerd's default sysctls in a network namespace of its own (ping and ports under 1024 for any user), overridable", async () => {
    const read = (args: string[]) =>
      inContainer(['--user', 'nobody', ...args], 'cat', '/proc/sys/net/ipv4/ip_unprivileged_port_start', '/proc/sys/net/ipv4/ping_group_range');
    assert.deepEqual(
      (await read([])).split('\n').map((l) => l.split(/\s+/).join(' ')),
      ['0', '0 2147483647'],
    );
    assert.equal((await read(['--sysctl', 'net.ipv4.ip_unprivileged_port_start=1024'])).split('\n')[0], '1024');
    // --network host keeps the host's
    const host = ['ip_unprivileged_port_start', 'ping_group_range'].map((k) => readFileSync(`/proc/sys/net/ipv4/${k}`, 'utf8').trim().split(/\s+/).join(' '));
    assert.deepEqual(
      (await read(['--network', 'host'])).split('\n').map((l) => l.split(/\s+/).join(' ')),
      host,
    );
    // and nobody can listen on port 80 (0050, state 0A), which the kernel's default of 1024 refuses
    const listen = (args: string[]) =>
      inContainer(['--user', 'nobody', ...args], 'sh', '-c', 'nc -l -p 80 2>&1 & sleep 0.5; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null');
    assert.match(await listen([]), /:0050 0+:0000 0A/);
    assert.doesNotMatch(await listen(['--sysctl', 'net.ipv4.ip_unprivileged_port_start=1024']), /:0050 0+:0000 0A/);
  });

  test("--oom-score-adj reaches the process and every exec; the default is 0, not the agent's", async () => {
    assert.equal(await inContainer(['--oom-score-adj', '500'], 'cat', '/proc/self/oom_score_adj'), '500');
    const nm = name('oom');
    await daemon(['--oom-score-adj', '500'], nm, 'sleep', '300');
    assert.equal(await execOut(nm, 'cat', '/proc/self/oom_score_adj'), '500');
    // The agent gets a score of its own; a default container must not inherit it.
    const agent = await agentPid(nm);
    writeFileSync(`/proc/${agent}/oom_score_adj`, '200');
    try {
      assert.equal(await inContainer([], 'cat', '/proc/self/oom_score_adj'), '0');
    } finally {
      writeFileSync(`/proc/${agent}/oom_score_adj`, '0');
    }
    // Lowering the score takes CAP_SYS_RESOURCE, which the VM's agent has and a sandboxed host's root may lack.
    const canLower = (BigInt(`0x${/^CapEff:\s*(\w+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]}`) >> 24n) & 1n;
    const low = await fx.docker.run(['run', '--rm', '--oom-score-adj', '-300', fx.image, 'cat', '/proc/self/oom_score_adj']);
    if (canLower) assert.equal(out(low), '-300', low.stderr);
    else assert.match(low.stderr, /write `-300` to `\/proc\/self\/oom_score_adj`: Permission denied/);
  });

  test("--group-add by id and by name from the image's /etc/group, in the process and every exec", async () => {
    const groupImage = await fx.extraImage('ns-groups', { extraFiles: { 'etc/group': 'root:x:0:\naudio:x:29:\nnogroup:x:65534:\n' } });
    const groups = (status: string) =>
      /^Groups:\s*(.*)$/m
        .exec(status)?.[1]
        ?.trim()
        .split(/\s+/)
        .filter(Boolean)
        .map(Number)
        .sort((x, y) => x - y);
    const args = ['--group-add', '1234', '--group-add', 'audio'];
    const r = out(await fx.docker.ok(['run', '--rm', ...args, groupImage, 'cat', '/proc/self/status']));
    assert.deepEqual(groups(r), [29, 1234]);
    const nm = name('groups');
    await fx.docker.ok(['run', '-d', '--name', nm, ...args, groupImage, 'sleep', '300']);
    assert.deepEqual(groups(await execOut(nm, 'cat', '/proc/self/status')), [29, 1234]);
    assert.deepEqual(groups(out(await fx.docker.ok(['exec', '-u', 'nobody', nm, 'cat', '/proc/self/status']))), [29, 1234]);
    const bad = await fx.docker.run(['run', '--rm', '--group-add', 'nosuch', groupImage, 'true']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Unable to find group nosuch/);
  });
});

describe('refusals', () => {
  test("create refuses bad values with dockerd's 400 or 404, and stores nothing", async () => {
    const before = await containerCount();
    const cases: [Record<string, unknown>, number, RegExp, Record<string, unknown>?][] = [
      [{ OomScoreAdj: -1001 }, 400, /^Invalid value -1001, range for oom score adj is \[-1000, 1000\]$/],
      [{ Sysctls: { 'vm.swappiness': '10' } }, 400, /sysctl "vm\.swappiness" is not in a separate kernel namespace/],
      [{ Sysctls: { 'net.ipv4.ip_forward': '1' }, NetworkMode: 'host' }, 400, /sysctl "net\.ipv4\.ip_forward" not allowed in host network namespace/],
      [{ Sysctls: { 'kernel.shmmax': '1' }, IpcMode: 'host' }, 400, /not allowed in the hosts ipc namespace/],
      [{ UTSMode: 'host' }, 400, /^conflicting options: hostname and the UTS mode$/, { Hostname: 'box' }],
      [{ PidMode: 'sideways' }, 400, /^invalid PID mode: sideways$/],
      [{ IpcMode: 'sideways' }, 400, /^invalid IPC mode: sideways$/],
      [{ PidMode: `container:nosuch-${run}` }, 404, new RegExp(`^No such container: nosuch-${run}$`)],
      [{ IpcMode: `container:nosuch-${run}` }, 404, new RegExp(`^No such container: nosuch-${run}$`)],
    ];
    for (const [hc, status, message, extra] of cases) {
      const r = await create(hc, extra);
      assert.equal(r.status, status, JSON.stringify(hc));
      assert.match(r.message, message, JSON.stringify(hc));
    }
    const cli = await fx.docker.run(['run', '--rm', '--oom-score-adj', '1001', fx.image, 'true']);
    assert.match(cli.stderr, /Invalid value 1001, range for oom score adj is \[-1000, 1000\]/);
    assert.equal(await containerCount(), before);
  });

  test('a container to join that is stopped is a 409 at start, a private IPC one a 400; --rm leaves nothing', async () => {
    const stopped = name('stopped');
    await fx.docker.ok(['create', '--name', stopped, fx.image, 'true']);
    const privateIpc = name('privipc');
    await daemon([], privateIpc, 'sleep', '300');
    const before = await containerCount();
    for (const [flag, target, re] of [
      ['--pid', stopped, /failed to join PID namespace: container [0-9a-f]{64} is not running/],
      ['--ipc', stopped, /failed to join IPC namespace: container [0-9a-f]{64} is not running/],
      ['--ipc', privateIpc, /non-shareable IPC \(hint: use IpcMode:shareable for the donor container\)/],
    ] as const) {
      const r = await fx.docker.run(['run', '--rm', flag, `container:${target}`, fx.image, 'true']);
      assert.notEqual(r.code, 0, `${flag} ${target}`);
      assert.match(r.stderr, re, `${flag} ${target}`);
    }
    assert.equal(await containerCount(), before);
    // the status codes, through the API
    const id = JSON.parse(
      (
        await engineRequest(fx.agent.current.socket, 'POST', '/containers/create', {
          body: { Image: fx.image, Cmd: ['true'], HostConfig: { PidMode: `container:${stopped}` } },
        })
      ).text(),
    ).Id as string;
    const start = await engineRequest(fx.agent.current.socket, 'POST', `/containers/${id}/start`);
    assert.equal(start.status, 409, start.text());
    await fx.docker.ok(['rm', id]);
  });
});

/**
 * seccomp through the docker CLI: Berth's default profile (an allow list,
 * EPERM for the rest, entries opened by capabilities), seccomp=unconfined,
 * and a profile file as `--security-opt seccomp=FILE` sends it. A static
 * probe in the image makes each call with harmless arguments: a blocked
 * call reads the filter's errno, an allowed one reaches the kernel.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { probeResults, syscallProbeBinary } from '../helpers/syscall-probe.js';
import { out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();
const run = randomBytes(3).toString('hex');
let image = '';

/** Families Docker's documented default blocks: namespaces, keyrings, perf, io_uring, weakening ASLR. */
const BLOCKED = ['unshare', 'setns', 'keyctl', 'add_key', 'perf_event_open', 'io_uring_setup', 'personality-addr-no-randomize'];
const PROBES = ['getpid', 'mkdirat', 'clone3', 'unshare-user', ...BLOCKED];

after(async () => {
  await fx.docker?.run(['rm', '-f', `seccomp-${run}`]);
});

async function probe(args: string[]): Promise<Record<string, string>> {
  return probeResults(out(await fx.docker.ok(['run', '--rm', ...args, image, 'syscall-probe', ...PROBES])));
}

describe('seccomp', () => {
  before(async () => {
    image = await fx.extraImage('seccomp-probe', { extraFiles: { 'bin/syscall-probe': { content: syscallProbeBinary(), mode: 0o755 } } });
  });

  test('the default profile: Seccomp 2, the blocked families read EPERM, clone3 ENOSYS, the rest reaches the kernel', async () => {
    const status = out(
      await fx.docker.ok([
        'run',
        '--rm',
        '--cap-drop',
        'ALL',
        '--security-opt',
        'no-new-privileges',
        image,
        'grep',
        '-E',
        '^(CapBnd|NoNewPrivs|Seccomp):',
        '/proc/self/status',
      ]),
    );
    assert.match(status, /CapBnd:\s+0000000000000000/);
    assert.match(status, /NoNewPrivs:\s+1/);
    assert.match(status, /Seccomp:\s+2/);

    const r = await probe([]);
    for (const name of BLOCKED) assert.equal(r[name], 'EPERM', `${name} under the default profile`);
    assert.equal(r['unshare-user'], 'EPERM', 'unshare -U (the issue: dockerd blocks it)');
    assert.equal(r.clone3, 'ENOSYS', 'clone3 reads as missing, so the C library falls back to clone');
    assert.equal(r.getpid, 'ok');
    assert.equal(r.mkdirat, 'EFAULT', 'an allowed call reaches the kernel');
    // busybox's unshare, as a user would try it
    const u = await fx.docker.run(['run', '--rm', image, 'unshare', '-U', '-r', 'true']);
    assert.notEqual(u.code, 0);
  });

  test('seccomp=unconfined: no filter, every probe reaches the kernel', async () => {
    const r = await probe(['--security-opt', 'seccomp=unconfined']);
    for (const name of PROBES) assert.notEqual(r[name], 'EPERM', `${name} unconfined`);
    assert.equal(r.unshare, 'ok');
    assert.equal(r.setns, 'EBADF');
    const status = out(await fx.docker.ok(['run', '--rm', '--security-opt', 'seccomp=unconfined', image, 'grep', '^Seccomp:', '/proc/self/status']));
    assert.match(status, /Seccomp:\s+0/);
  });

  test("--cap-add SYS_ADMIN opens the namespace calls, as the profile's capability entries say", async () => {
    const r = await probe(['--cap-add', 'SYS_ADMIN']);
    assert.equal(r.unshare, 'ok');
    assert.equal(r.setns, 'EBADF');
    assert.notEqual(r.clone3, 'ENOSYS');
    assert.equal(r.keyctl, 'EPERM', 'keyrings stay blocked whatever the capabilities');
  });

  test('a profile file: its default action and errnoRet apply, and docker exec gets the same filter', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-seccomp-'));
    const file = join(dir, 'profile.json');
    writeFileSync(
      file,
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
        syscalls: [
          { names: ['setns', 'keyctl'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
          { names: ['mkdirat'], action: 'SCMP_ACT_ERRNO' },
        ],
      }),
    );
    const r = await probe(['--security-opt', `seccomp=${file}`]);
    assert.equal(r.setns, 'ENOSYS');
    assert.equal(r.keyctl, 'ENOSYS');
    assert.equal(r.mkdirat, 'EPERM', 'SCMP_ACT_ERRNO without errnoRet is EPERM');
    assert.equal(r.unshare, 'ok', 'what the profile does not name gets its default action');
    assert.equal(r.io_uring_setup, 'EFAULT');

    await fx.docker.ok(['run', '-d', '--name', `seccomp-${run}`, '--security-opt', `seccomp=${file}`, image, 'sleep', '300']);
    const e = probeResults(out(await fx.docker.ok(['exec', `seccomp-${run}`, 'syscall-probe', 'setns', 'mkdirat', 'unshare'])));
    assert.deepEqual(e, { setns: 'ENOSYS', mkdirat: 'EPERM', unshare: 'ok' });
  });

  test('a profile that denies execveat still runs the command and docker exec, as runc (its last step is an execve) does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-seccomp-'));
    const file = join(dir, 'no-execveat.json');
    writeFileSync(file, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['execveat'], action: 'SCMP_ACT_ERRNO' }] }));
    const r = await probe(['--security-opt', `seccomp=${file}`]);
    assert.equal(r.getpid, 'ok');
    const name = `seccomp-noexecveat-${run}`;
    try {
      await fx.docker.ok(['run', '-d', '--name', name, '--security-opt', `seccomp=${file}`, image, 'sleep', '300']);
      assert.equal(out(await fx.docker.ok(['exec', name, 'echo', 'exec ran'])), 'exec ran');
    } finally {
      await fx.docker.run(['rm', '-f', name]);
    }
  });

  test('a malformed profile is a 400 that says what is wrong, and no container is left', async () => {
    const d = fx.docker;
    const dir = mkdtempSync(join(tmpdir(), 'berth-seccomp-'));
    const cases: [unknown, RegExp][] = [
      [{ defaultAction: 'SCMP_ACT_PANIC' }, /decoding seccomp profile failed: defaultAction: unknown action "SCMP_ACT_PANIC"/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_NOTIFY' }] }, /SCMP_ACT_NOTIFY needs a seccomp agent/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/agent.sock' }, /listenerPath/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', syscals: [] }, /decoding seccomp profile failed: .*syscals/],
      [
        { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], archMap: [{ architecture: 'SCMP_ARCH_X86_64' }] },
        /use either 'architectures' or 'archMap'/,
      ],
    ];
    const before = out(await d.ok(['ps', '-aq']))
      .split('\n')
      .filter(Boolean).length;
    for (const [i, [profile, message]] of cases.entries()) {
      const file = join(dir, `bad-${i}.json`);
      writeFileSync(file, JSON.stringify(profile));
      const r = await d.run(['run', '--rm', '--security-opt', `seccomp=${file}`, image, 'true']);
      assert.notEqual(r.code, 0, JSON.stringify(profile));
      assert.match(r.stderr, message, JSON.stringify(profile));
    }
    assert.equal(
      out(await d.ok(['ps', '-aq']))
        .split('\n')
        .filter(Boolean).length,
      before,
    );
  });

  test('docker info reports the builtin seccomp profile', async () => {
    assert.match(out(await fx.docker.ok(['info', '--format', '{{json .SecurityOptions}}'])), /name=seccomp,profile=builtin/);
  });
});

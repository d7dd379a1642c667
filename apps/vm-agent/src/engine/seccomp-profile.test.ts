/** Which entries of a profile apply to a container (moby's rules), and what the default profile opens per capability. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_CAPABILITIES } from '../runtime/capabilities.js';
import { builtinSeccompProfile, parseSeccompProfile, resolveSeccomp, type SeccompTarget } from './seccomp-profile.js';

const AMD64: SeccompTarget = { goArch: 'amd64', kernel: '6.1.0-28-amd64' };
const ARM64: SeccompTarget = { goArch: 'arm64', kernel: '6.1.0-28-arm64' };
const names = (f: ReturnType<typeof resolveSeccomp>, action = 'allow') => new Set(f.rules.filter((r) => r.action.action === action).map((r) => r.syscall));

test('includes and excludes: caps (all of includes, any of excludes), arches, minKernel', () => {
  const p = parseSeccompProfile(
    JSON.stringify({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['a'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN'] } },
        { names: ['b'], action: 'SCMP_ACT_ALLOW', excludes: { caps: ['CAP_SYS_ADMIN', 'CAP_BPF'] } },
        { names: ['c'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['arm64'] } },
        { names: ['d'], action: 'SCMP_ACT_ALLOW', excludes: { arches: ['amd64'] } },
        { names: ['e'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '6.2' } },
        { names: ['f'], action: 'SCMP_ACT_ALLOW', excludes: { minKernel: '5.10' } },
        { name: 'g', action: 'SCMP_ACT_ALLOW' },
      ],
    }),
  );
  assert.deepEqual(names(resolveSeccomp(p, ['SYS_ADMIN'], AMD64)), new Set(['g']));
  assert.deepEqual(names(resolveSeccomp(p, ['CAP_SYS_ADMIN', 'net_admin'], AMD64)), new Set(['a', 'g']));
  assert.deepEqual(names(resolveSeccomp(p, [], AMD64)), new Set(['b', 'g']));
  assert.deepEqual(names(resolveSeccomp(p, [], ARM64)), new Set(['b', 'c', 'd', 'g']));
  assert.deepEqual(names(resolveSeccomp(p, [], { goArch: 'amd64', kernel: '6.10.1' })), new Set(['b', 'e', 'g']));
  assert.deepEqual(names(resolveSeccomp(p, [], { goArch: 'amd64', kernel: '4.19.0' })), new Set(['b', 'f', 'g']));
});

test('comparisons of one argument are alternatives, of different arguments all must hold; the default action is never repeated', () => {
  const p = parseSeccompProfile(
    JSON.stringify({
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 1,
      syscalls: [
        {
          names: ['personality'],
          action: 'SCMP_ACT_ALLOW',
          args: [
            { index: 0, value: 0, op: 'SCMP_CMP_EQ' },
            { index: 0, value: 8, op: 'SCMP_CMP_EQ' },
          ],
        },
        {
          names: ['mmap'],
          action: 'SCMP_ACT_ALLOW',
          args: [
            { index: 0, value: 0, op: 'SCMP_CMP_EQ' },
            { index: 2, value: 4, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' },
          ],
        },
        { names: ['kexec_load'], action: 'SCMP_ACT_ERRNO' },
        { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
      ],
    }),
  );
  const f = resolveSeccomp(p, [], AMD64);
  assert.deepEqual(
    f.rules.filter((r) => r.syscall === 'personality').map((r) => r.args.map((a) => a.value)),
    [[0n], [8n]],
  );
  assert.deepEqual(
    f.rules.filter((r) => r.syscall === 'mmap').map((r) => r.args.map((a) => `${a.index}${a.op}${a.value}/${a.valueTwo}`)),
    [['0eq0/0', '2masked-eq4/0']],
  );
  assert.equal(
    f.rules.some((r) => r.syscall === 'kexec_load'),
    false,
    'EPERM is already the default',
  );
  assert.deepEqual(f.rules.find((r) => r.syscall === 'clone3')?.action, { action: 'errno', errno: 38 });
});

test("archMap gives the native architecture and its sub-architectures, in libseccomp's names", () => {
  const p = builtinSeccompProfile();
  assert.deepEqual(resolveSeccomp(p, DEFAULT_CAPABILITIES, AMD64).architectures, ['x86_64', 'x86', 'x32']);
  assert.deepEqual(resolveSeccomp(p, DEFAULT_CAPABILITIES, ARM64).architectures, ['aarch64', 'arm']);
});

test('the default profile: an allow list with EPERM, the capability entries, clone without namespaces', () => {
  const p = builtinSeccompProfile();
  const plain = resolveSeccomp(p, DEFAULT_CAPABILITIES, AMD64);
  assert.deepEqual(plain.defaultAction, { action: 'errno', errno: 1 });
  const allowed = names(plain);
  for (const n of ['read', 'execve', 'clone', 'chroot', 'arch_prctl', 'socket', 'ptrace']) assert.ok(allowed.has(n), n);
  for (const n of [
    'mount',
    'unshare',
    'setns',
    'keyctl',
    'add_key',
    'bpf',
    'io_uring_setup',
    'reboot',
    'init_module',
    'kexec_load',
    'open_by_handle_at',
    'set_tls',
  ]) {
    assert.ok(!allowed.has(n), n);
  }
  const clone = plain.rules.filter((r) => r.syscall === 'clone');
  assert.deepEqual(
    clone.map((r) => r.args),
    [[{ index: 0, op: 'masked-eq', value: 0x7e020000n, valueTwo: 0n }]],
  );
  assert.deepEqual(plain.rules.find((r) => r.syscall === 'clone3')?.action, { action: 'errno', errno: 38 });

  const admin = resolveSeccomp(p, [...DEFAULT_CAPABILITIES, 'SYS_ADMIN'], AMD64);
  for (const n of ['mount', 'unshare', 'setns', 'clone3', 'bpf']) assert.ok(names(admin).has(n), n);
  assert.deepEqual(
    admin.rules.filter((r) => r.syscall === 'clone').map((r) => r.args),
    [[]],
    'clone with any flags',
  );
  const noChroot = resolveSeccomp(
    p,
    DEFAULT_CAPABILITIES.filter((c) => c !== 'SYS_CHROOT'),
    AMD64,
  );
  assert.ok(!names(noChroot).has('chroot'));
  assert.ok(names(resolveSeccomp(p, DEFAULT_CAPABILITIES, ARM64)).has('set_tls'));
});

test('what the format has and Berth does not implement is refused by name', () => {
  const refuse = (profile: unknown, message: RegExp) =>
    assert.throws(() => parseSeccompProfile(JSON.stringify(profile)), { kind: 'invalid-parameter', message });
  refuse({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_LOG'] }, /flags: .*not supported/);
  refuse({ defaultAction: 'SCMP_ACT_NOTIFY' }, /SCMP_ACT_NOTIFY needs a seccomp agent/);
  refuse({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_Z80'] }, /architectures\.0: unknown architecture "SCMP_ARCH_Z80"/);
  refuse({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'SCMP_ACT_ALLOW', errnoRet: 1 }] }, /errnoRet is only meaningful/);
  refuse({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ name: 'x', names: ['y'], action: 'SCMP_ACT_ALLOW' }] }, /use either 'name' or 'names'/);
  refuse(
    { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2 ** 60, op: 'SCMP_CMP_EQ' }] }] },
    /value/,
  );
  refuse(
    { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'SCMP_ACT_ALLOW', args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] }] },
    /index/,
  );
});

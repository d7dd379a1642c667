/** The confinement fields of HostConfig: dockerd's capability rules, SecurityOpt parsing, and the refusals. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_CAPABILITIES, heldCapabilities } from '../runtime/capabilities.js';
import { containerCapabilities, parseSecurityOpt, processConfinement, validateSecurity } from './container-security.js';

const sorted = (a: readonly string[]) => [...a].sort();

test('capabilities follow dockerd: default set, drops then adds, ALL on either side, with or without CAP_', () => {
  const cases: [object, readonly string[]][] = [
    [{}, DEFAULT_CAPABILITIES],
    [{ CapDrop: ['ALL'] }, []],
    [{ CapDrop: ['all'], CapAdd: ['cap_net_admin', 'CHOWN'] }, ['NET_ADMIN', 'CHOWN']],
    [{ CapDrop: ['CAP_CHOWN', 'net_raw'] }, DEFAULT_CAPABILITIES.filter((c) => c !== 'CHOWN' && c !== 'NET_RAW')],
    [{ CapAdd: ['SYS_ADMIN'] }, [...DEFAULT_CAPABILITIES, 'SYS_ADMIN']],
    [{ CapAdd: ['CHOWN'] }, DEFAULT_CAPABILITIES],
  ];
  for (const [hc, want] of cases) assert.deepEqual(sorted(containerCapabilities(hc)), sorted(want), JSON.stringify(hc));
  const all = containerCapabilities({ CapAdd: ['ALL'], CapDrop: ['SYS_ADMIN'] });
  assert.ok(all.includes('SYS_MODULE') && all.includes('BPF') && !all.includes('SYS_ADMIN'));
});

test('an unknown capability is a 400 naming the field', () => {
  assert.throws(() => containerCapabilities({ CapAdd: ['FLY'] }), { kind: 'invalid-parameter', message: 'invalid CapAdd: unknown capability: "CAP_FLY"' });
  assert.throws(() => validateSecurity({ CapDrop: ['cap_nope'] }), { kind: 'invalid-parameter', message: 'invalid CapDrop: unknown capability: "CAP_NOPE"' });
});

test("SecurityOpt: no-new-privileges in its spellings; what the VM cannot apply is refused; malformed entries get dockerd's words", () => {
  assert.equal(parseSecurityOpt([]).noNewPrivileges, false);
  assert.equal(parseSecurityOpt(['no-new-privileges']).noNewPrivileges, true);
  assert.equal(parseSecurityOpt(['no-new-privileges:true']).noNewPrivileges, true);
  assert.equal(parseSecurityOpt(['no-new-privileges=false']).noNewPrivileges, false);
  assert.equal(parseSecurityOpt(['seccomp=unconfined', 'apparmor=unconfined', 'label=disable', 'disable']).noNewPrivileges, false);
  assert.throws(() => parseSecurityOpt(['no-new-privileges=maybe']), {
    kind: 'invalid-parameter',
    message: 'invalid --security-opt 2: "no-new-privileges=maybe"',
  });
  assert.throws(() => parseSecurityOpt(['bogus']), { kind: 'invalid-parameter', message: 'invalid --security-opt 1: "bogus"' });
  assert.throws(() => parseSecurityOpt(['bogus=1']), { kind: 'invalid-parameter', message: 'invalid --security-opt 2: "bogus=1"' });
  assert.equal(parseSecurityOpt(['seccomp=unconfined']).seccomp, 'unconfined');
  assert.equal((parseSecurityOpt([]).seccomp as { comment: string }).comment.startsWith("Berth's default seccomp profile"), true);
  assert.equal(parseSecurityOpt(['seccomp=builtin']).seccomp, parseSecurityOpt([]).seccomp);
  assert.deepEqual(parseSecurityOpt(['seccomp={"defaultAction":"SCMP_ACT_LOG"}']).seccomp, { defaultAction: 'SCMP_ACT_LOG' });
  assert.throws(() => parseSecurityOpt(['seccomp={"defaultAction"']), { kind: 'invalid-parameter', message: /^decoding seccomp profile failed: / });
  assert.throws(() => parseSecurityOpt(['apparmor=docker-default']), { kind: 'invalid-parameter', message: /no AppArmor.*docker-default/ });
  assert.throws(() => parseSecurityOpt(['label=type:svirt_t']), { kind: 'invalid-parameter', message: /no SELinux/ });
});

test('fields Berth does not apply yet are refused by name; the values clients send by default pass', () => {
  const refused: [string, unknown][] = [
    ['UsernsMode', 'private'],
    ['CgroupnsMode', 'host'],
    ['MaskedPaths', ['/proc/kcore']],
  ];
  for (const [field, value] of refused) {
    assert.throws(
      () => validateSecurity({ [field]: value }),
      { kind: 'invalid-parameter', message: new RegExp(`^HostConfig\\.${field}: Berth does not support`) },
      field,
    );
  }
  validateSecurity({
    Privileged: false,
    Devices: [],
    DeviceCgroupRules: null,
    GroupAdd: null,
    PidMode: '',
    IpcMode: 'private',
    UTSMode: '',
    UsernsMode: 'host',
    CgroupnsMode: 'private',
    Sysctls: {},
    OomScoreAdj: 0,
    Init: null,
    MaskedPaths: null,
  });
  validateSecurity({ IpcMode: 'shareable', Init: false });
});

test('the runtime gets the capabilities, no_new_privs and a compiled filter unless unconfined', () => {
  const unconfined = processConfinement({ CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges', 'seccomp=unconfined'] });
  assert.deepEqual(unconfined, { capabilities: [], noNewPrivileges: true });
  const confined = processConfinement({ CapDrop: ['ALL'] });
  assert.ok(confined.seccomp && confined.seccomp.length > 0 && confined.seccomp.length % 8 === 0, 'whole BPF instructions');
  // the capability entries change the program: SYS_ADMIN opens mount, unshare and the rest
  assert.notDeepEqual(processConfinement({ CapAdd: ['SYS_ADMIN'] }).seccomp, processConfinement({}).seccomp);
});

test('privileged: every capability the agent holds whatever CapDrop says, no seccomp unless a profile is named', () => {
  const held = heldCapabilities();
  assert.ok(held.length > DEFAULT_CAPABILITIES.length && held.includes('SYS_ADMIN'));
  const p = processConfinement({ Privileged: true, CapDrop: ['NET_ADMIN', 'ALL'], CapAdd: ['SYS_TIME'] });
  assert.deepEqual(p, { capabilities: held, noNewPrivileges: false });
  assert.throws(() => validateSecurity({ Privileged: true, CapDrop: ['FLY'] }), { message: 'invalid CapDrop: unknown capability: "CAP_FLY"' });
  assert.ok(processConfinement({ Privileged: true, SecurityOpt: ['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}'] }).seccomp, 'a named profile applies');
  assert.equal(processConfinement({ Privileged: true, SecurityOpt: ['seccomp=unconfined'] }).seccomp, undefined);
  validateSecurity({ Privileged: true, DeviceCgroupRules: ['c 1:3 rwm'] });
});

test("exec --privileged: every capability, and the container's own seccomp filter (runc installs it in every exec)", () => {
  const e = processConfinement({ CapDrop: ['ALL'] }, true);
  assert.deepEqual(e.capabilities, heldCapabilities());
  assert.deepEqual(e.seccomp, processConfinement({ CapDrop: ['ALL'] }).seccomp);
});

test('a profile libseccomp refuses is a 400 at create', () => {
  // the same comparison with two different actions: libseccomp cannot tell which wins
  const args = [{ index: 0, op: 'SCMP_CMP_EQ', value: 1 }];
  const profile = JSON.stringify({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      { names: ['getpid'], action: 'SCMP_ACT_ERRNO', args },
      { names: ['getpid'], action: 'SCMP_ACT_KILL', args },
    ],
  });
  assert.throws(() => validateSecurity({ SecurityOpt: [`seccomp=${profile}`] }), {
    kind: 'invalid-parameter',
    message: /^HostConfig\.SecurityOpt seccomp: the profile cannot be compiled: seccomp rule 1 for `getpid`/,
  });
});

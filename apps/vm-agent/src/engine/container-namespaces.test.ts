import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adoptSharedNamespaces, namespaceDefaults, validateNamespaces } from './container-namespaces.js';
import type { ContainerRecord, HostConfig } from './container-types.js';

const refuses = (hc: Partial<HostConfig>, message: RegExp, hostname?: string) =>
  assert.throws(() => validateNamespaces(hc, hostname), { kind: 'invalid-parameter', message }, JSON.stringify(hc));

test("modes in dockerd's words: pid, ipc and uts, and the hostname that --uts host cannot take", () => {
  for (const hc of [
    { PidMode: 'host' },
    { PidMode: 'container:abc' },
    { IpcMode: 'none' },
    { IpcMode: 'private' },
    { IpcMode: 'shareable' },
    { IpcMode: 'host' },
    { IpcMode: 'container:abc' },
    { UTSMode: 'host' },
    { PidMode: '', IpcMode: '', UTSMode: '' },
  ]) {
    validateNamespaces(hc, '');
  }
  refuses({ PidMode: 'private' }, /^invalid PID mode: private$/);
  refuses({ PidMode: 'container:' }, /^invalid PID mode: container:$/);
  refuses({ IpcMode: 'shared' }, /^invalid IPC mode: shared$/);
  refuses({ UTSMode: 'container:abc' }, /^invalid UTS mode: container:abc$/);
  refuses({ UTSMode: 'host' }, /^conflicting options: hostname and the UTS mode$/, 'box');
});

test('OomScoreAdj in -1000..1000, GroupAdd names or ids', () => {
  validateNamespaces({ OomScoreAdj: -1000, GroupAdd: ['audio', '1234'] }, undefined);
  validateNamespaces({ OomScoreAdj: 1000 }, undefined);
  refuses({ OomScoreAdj: -1001 }, /^Invalid value -1001, range for oom score adj is \[-1000, 1000\]$/);
  refuses({ OomScoreAdj: 1001 }, /^Invalid value 1001, range/);
  refuses({ GroupAdd: [''] }, /GroupAdd/);
});

test("sysctls: only namespaced ones, and not in a namespace shared with the host (runc's words)", () => {
  validateNamespaces(
    { Sysctls: { 'kernel.shmmax': '1', 'kernel.sem': '1 2 3 4', 'fs.mqueue.msg_max': '9', 'net.ipv4.ip_forward': '1', 'kernel.domainname': 'x' } },
    undefined,
  );
  validateNamespaces({ Sysctls: { 'net/ipv4/conf/eth0.1/rp_filter': '1' } }, undefined);
  refuses({ Sysctls: { 'vm.swappiness': '1' } }, /^HostConfig\.Sysctls: sysctl "vm\.swappiness" is not in a separate kernel namespace/);
  refuses({ Sysctls: { 'kernel.hostname': 'x' } }, /sysctl "kernel\.hostname" is not allowed as it conflicts with the OCI "hostname" field/);
  refuses({ Sysctls: { 'kernel.domainname': 'x' }, UTSMode: 'host' }, /sysctl "kernel\.domainname" is not in a separate kernel namespace/);
  refuses({ Sysctls: { 'kernel.shmmax': '1' }, IpcMode: 'host' }, /sysctl "kernel\.shmmax" is not allowed in the hosts ipc namespace/);
  refuses({ Sysctls: { 'net.ipv4.ip_forward': '1' }, NetworkMode: 'host' }, /sysctl "net\.ipv4\.ip_forward" not allowed in host network namespace/);
  // nothing can climb out of /proc/sys
  refuses({ Sysctls: { 'net/../../etc/passwd': 'x' } }, /is not a sysctl name/);
  refuses({ Sysctls: { 'net..ipv4': 'x' } }, /is not a sysctl name/);
  refuses({ Sysctls: { 'net.a=b': 'x' } }, /is not a sysctl name/);
});

test("dockerd's defaults, and container:NAME kept as container:ID", () => {
  assert.deepEqual(namespaceDefaults({}), { IpcMode: 'private' });
  assert.deepEqual(namespaceDefaults({ IpcMode: 'shareable' }), { IpcMode: 'shareable' });
  const hc = { PidMode: 'container:web', IpcMode: 'container:web' } as unknown as HostConfig;
  adoptSharedNamespaces(hc, (term) => ({ Id: `id-of-${term}` }) as ContainerRecord);
  assert.deepEqual([hc.PidMode, hc.IpcMode], ['container:id-of-web', 'container:id-of-web']);
});

/**
 * Privileged, Devices and DeviceCgroupRules as dockerd builds them, against
 * this machine's real /dev (the nodes every Linux has: null, zero) and a
 * directory of nodes made here (needs root for mknod).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { mknod } from '../runtime/native.js';
import { deviceAccess, parseDeviceCgroupRule, validateDevices } from './container-devices.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-devices-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const map = (PathOnHost: string, PathInContainer: string, CgroupPermissions = 'rwm') => ({ PathOnHost, PathInContainer, CgroupPermissions });

test("device cgroup rules: dockerd's format and words", () => {
  assert.deepEqual(parseDeviceCgroupRule('c 1:3 rwm'), { type: 'c', major: 1, minor: 3, access: 'rwm' });
  assert.deepEqual(parseDeviceCgroupRule('a *:* m'), { type: 'a', major: '*', minor: '*', access: 'm' });
  assert.deepEqual(parseDeviceCgroupRule('b 8:* r'), { type: 'b', major: 8, minor: '*', access: 'r' });
  for (const bad of ['', 'c 1:1  rwm', ' c 1:1 rwm', 'c 1:1 rwm ', 'z 1:1 rwm', 'c 11 rwm', 'c a:a rwm', 'c -1:1 rwm', 'c 1:1', 'c 1:1 x', 'c 1:1 rwmrwm']) {
    assert.throws(() => parseDeviceCgroupRule(bad), { kind: 'invalid-parameter', message: `invalid device cgroup rule format: '${bad}'` }, bad);
  }
  assert.throws(() => parseDeviceCgroupRule('c 18446744073709551616:1 rwm'), {
    message: "invalid major value in device cgroup rule format: 'c 18446744073709551616:1 rwm'",
  });
  assert.throws(() => parseDeviceCgroupRule('c 1:18446744073709551616 rwm'), {
    message: "invalid minor value in device cgroup rule format: 'c 1:18446744073709551616 rwm'",
  });
});

test('a mapping gives the host node at the container path, with a rule of its permissions; rules follow', () => {
  const a = deviceAccess({ Devices: [map('/dev/zero', '/dev/z', 'r')], DeviceCgroupRules: ['c 1:3 rwm'] });
  assert.deepEqual(a.runtime.devices, [{ path: '/dev/z', type: 'c', major: 1, minor: 5, mode: 0o666, uid: 0, gid: 0 }]);
  assert.deepEqual(a.cgroupRules, [
    { type: 'c', major: 1, minor: 5, access: 'r' },
    { type: 'c', major: 1, minor: 3, access: 'rwm' },
  ]);
  assert.equal(a.runtime.maskedPaths, undefined, 'the default masks stay');
  // a symlink to a node is followed, as dockerd does
  symlinkSync('/dev/null', join(dir, 'link'));
  assert.deepEqual(
    deviceAccess({ Devices: [map(join(dir, 'link'), '/dev/n/')] }).runtime.devices?.map((d) => [d.path, d.major, d.minor]),
    [['/dev/n', 1, 3]],
  );
});

test('a directory adds every node under it, renamed under the container path', () => {
  const d = join(dir, 'snd');
  mkdirSync(join(d, 'by-id'), { recursive: true });
  mknod(join(d, 'controlC0'), 0o020640, 116, 0); // S_IFCHR
  mknod(join(d, 'by-id', 'blk'), 0o060600, 7, 9); // S_IFBLK
  writeFileSync(join(d, 'README'), 'not a node');
  const a = deviceAccess({ Devices: [map(d, '/dev/snd', 'rw')] });
  const got = (a.runtime.devices ?? []).map((n) => `${n.path} ${n.type} ${n.major}:${n.minor} ${n.mode.toString(8)}`).sort();
  assert.deepEqual(got, ['/dev/snd/by-id/blk b 7:9 600', '/dev/snd/controlC0 c 116:0 640']);
  assert.deepEqual(a.cgroupRules.map((r) => `${r.type} ${r.major}:${r.minor} ${r.access}`).sort(), ['b 7:9 rw', 'c 116:0 rw']);
});

test('what dockerd refuses is a 400 in its words', () => {
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  const cases: [object, string | RegExp][] = [
    [{ Devices: [map('/dev/nope', '/dev/nope')] }, 'error gathering device information while adding custom device "/dev/nope": no such file or directory'],
    [{ Devices: [map('/etc/hostname', '/dev/h')] }, 'error gathering device information while adding custom device "/etc/hostname": not a device node'],
    [{ Devices: [map(empty, '/dev/empty')] }, `error gathering device information while adding custom device "${empty}": not a device node`],
    [{ Devices: [map('/dev/zero', '/dev/z', 'rwx')] }, /^invalid device mode: rwx /],
    [{ Devices: [map('/dev/zero', '/dev/z', 'rr')] }, /^invalid device mode: rr /],
    [{ Devices: [map('/dev/zero', '/dev/z', '')] }, /^invalid device mode: {2}/],
    [{ Devices: [map('/dev/zero', 'dev/z')] }, /no absolute PathInContainer/],
    [{ Devices: [{ PathInContainer: '/dev/z', CgroupPermissions: 'rwm' }] }, /no PathOnHost/],
    [{ DeviceCgroupRules: ['c 1:3 rwx'] }, "invalid device cgroup rule format: 'c 1:3 rwx'"],
  ];
  for (const [hc, message] of cases) assert.throws(() => validateDevices(hc), { kind: 'invalid-parameter', message }, JSON.stringify(hc));
});

test("privileged: the machine's /dev, the cgroup open to all, no masks, /sys writable; mappings to another path too", () => {
  const a = deviceAccess({ Privileged: true, Devices: [map('/dev/zero', '/dev/zero'), map('/dev/zero', '/dev/z2', 'r')], DeviceCgroupRules: ['c 9:9 r'] });
  assert.deepEqual(a.cgroupRules, [{ type: 'a', major: '*', minor: '*', access: 'rwm' }]);
  assert.deepEqual({ ...a.runtime, devices: undefined }, { devices: undefined, maskedPaths: [], readonlyPaths: [], writableSysfs: true });
  const paths = (a.runtime.devices ?? []).map((d) => d.path);
  for (const p of ['/dev/null', '/dev/zero', '/dev/z2']) assert.ok(paths.includes(p), p);
  assert.equal(paths.filter((p) => p === '/dev/zero').length, 1, 'a mapping to the same path is not added twice');
  assert.ok(!paths.some((p) => /^\/dev\/(pts|shm|mqueue)\/|^\/dev\/console$/.test(p)), 'what the container mounts itself is skipped');
  assert.ok((a.runtime.devices ?? []).every((d) => d.type !== 'p'));
  // a bad path on a mapping to itself is dockerd's no-op; to another path it is checked
  validateDevices({ Privileged: true, Devices: [map('/dev/nope', '/dev/nope')] });
  assert.throws(() => validateDevices({ Privileged: true, Devices: [map('/dev/nope', '/dev/x')] }), { message: /custom device "\/dev\/nope": no such file/ });
});

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  bootShares,
  defaultSettings,
  loadSettings,
  nativeUnavailable,
  parseSettingValue,
  planAccelerator,
  saveSettings,
  settingsPath,
  shareListProblems,
  updateSettings,
} from './settings.js';

const homes: string[] = [];
const home = () => {
  const h = mkdtempSync(join(tmpdir(), 'berth-settings-'));
  homes.push(h);
  return h;
};
after(() => homes.forEach((h) => rmSync(h, { recursive: true, force: true })));

test('defaults follow the host: half its CPUs, a quarter of its memory within 2-8 GiB', () => {
  assert.deepEqual(defaultSettings({ cpus: 2, memoryMiB: 24_000, home: '/home/ann', os: 'linux' }), {
    cpus: 2,
    memoryMiB: 5888,
    diskGiB: 64,
    accelerator: 'auto',
    fileShares: ['/home/ann'],
    engineMode: 'vm',
  });
  assert.deepEqual(defaultSettings({ cpus: 2, memoryMiB: 24_000, home: 'C:\\Users\\ann', os: 'win32' }).fileShares, []);
  assert.equal(defaultSettings({ cpus: 16, memoryMiB: 65_536 }).cpus, 8);
  assert.equal(defaultSettings({ cpus: 16, memoryMiB: 65_536 }).memoryMiB, 8192);
  assert.equal(defaultSettings({ cpus: 1, memoryMiB: 4096 }).cpus, 1);
  assert.equal(defaultSettings({ cpus: 1, memoryMiB: 4096 }).memoryMiB, 2048);
});

test('a missing file gives the defaults; a partial one fills in the rest; unknown fields are ignored', () => {
  const h = home();
  const d = defaultSettings({ cpus: 4, memoryMiB: 16_384 });
  assert.deepEqual(loadSettings(h, d), d);
  writeFileSync(settingsPath(h), JSON.stringify({ cpus: 3, fromTheFuture: true }));
  assert.deepEqual(loadSettings(h, d), { ...d, cpus: 3 });
});

test('bad values are refused with the file, the field and the rule', () => {
  const h = home();
  writeFileSync(settingsPath(h), JSON.stringify({ cpus: 0, accelerator: 'vmware' }));
  assert.throws(
    () => loadSettings(h),
    (err: Error) => {
      assert.match(err.message, new RegExp(`^${settingsPath(h).replace(/[.]/g, '\\.')}: cpus: .*>=1.*; accelerator: .*"kvm"`));
      assert.match(err.message, /delete .*settings\.json for the defaults/);
      return true;
    },
  );
  writeFileSync(settingsPath(h), '{"cpus": 2,');
  assert.throws(() => loadSettings(h), /settings\.json is not valid JSON/);
  writeFileSync(settingsPath(h), '[]');
  assert.throws(() => loadSettings(h), /must hold a JSON object/);
});

test('saved atomically (no temp file left), validated first, read back equal', () => {
  const h = home();
  const s = { ...defaultSettings(), memoryMiB: 3072, acceleratorFallback: { from: 'kvm' as const, reason: 'stalled', at: '2026-01-02T03:04:05.000Z' } };
  saveSettings(h, s);
  assert.deepEqual(loadSettings(h), s);
  assert.deepEqual(readdirSync(h), ['settings.json']);
  assert.equal(statSync(settingsPath(h)).mode & 0o777, 0o644);
  assert.throws(() => saveSettings(h, { ...s, diskGiB: 1 }), /diskGiB/);
  assert.deepEqual(JSON.parse(readFileSync(settingsPath(h), 'utf8')), s);
  assert.equal(updateSettings(h, (x) => ({ ...x, cpus: 1 })).cpus, 1);
  assert.equal(loadSettings(h).cpus, 1);
});

test('setting values from the command line', () => {
  assert.deepEqual(parseSettingValue('cpus', '4'), { cpus: 4 });
  assert.deepEqual(parseSettingValue('accelerator', 'tcg'), { accelerator: 'tcg' });
  assert.throws(() => parseSettingValue('memoryMiB', '100'), /memoryMiB 100: .*>=512/);
  assert.throws(() => parseSettingValue('cpus', 'two'), /whole number/);
  assert.throws(() => parseSettingValue('accelerator', 'vbox'), /one of auto, kvm, hvf, whpx, tcg/);
  assert.throws(() => parseSettingValue('acceleratorFallback', 'x'), /unknown setting/);
});

test('auto uses the host hypervisor unless it stalled before; explicit choices are kept', () => {
  const kvm = { kvmUsable: () => true };
  const fallback = { from: 'kvm' as const, reason: 'kvm printed nothing on the console within 6 s', at: '2026-01-02T03:04:05.000Z' };
  assert.deepEqual(planAccelerator('auto', undefined, 'linux', kvm), { accel: 'kvm' });
  assert.deepEqual(planAccelerator('auto', undefined, 'linux', { kvmUsable: () => false }), { accel: 'tcg' });
  const remembered = planAccelerator('auto', fallback, 'linux', kvm);
  assert.equal(remembered.accel, 'tcg');
  assert.match(remembered.note!, /kvm did not boot on 2026-01-02 .*--accel kvm/);
  assert.deepEqual(planAccelerator('kvm', fallback, 'linux', kvm), { accel: 'kvm' });
  assert.deepEqual(planAccelerator('auto', fallback, 'darwin'), { accel: 'hvf' });
});

test('file shares: absolute, no duplicates, none inside another; a newly added one must exist', () => {
  assert.deepEqual(shareListProblems(['/home/ann', '/srv/data']), []);
  assert.deepEqual(shareListProblems(['home/ann']), ['"home/ann" is not an absolute folder path']);
  assert.deepEqual(shareListProblems(['/srv/data', '/srv/data/']), ['"/srv/data/" is listed twice']);
  assert.deepEqual(shareListProblems(['/srv', '/srv/data']), ['"/srv/data" and "/srv" are nested: share only the outer folder']);
  assert.deepEqual(shareListProblems(['/srv/data', '/srv']), ['"/srv" and "/srv/data" are nested: share only the outer folder']);
  // A common prefix is not nesting.
  assert.deepEqual(shareListProblems(['/srv/data', '/srv/data2']), []);
  assert.match(shareListProblems(['/a\nb'])[0]!, /control character/);

  const h = home();
  const shared = join(h, 'shared');
  mkdirSync(shared);
  assert.deepEqual(updateSettings(h, (s) => ({ ...s, fileShares: [shared] })).fileShares, [shared]);
  assert.throws(() => updateSettings(h, (s) => ({ ...s, fileShares: [shared, join(h, 'missing')] })), /fileShares: ".*missing" does not exist/);
  assert.throws(() => updateSettings(h, (s) => ({ ...s, fileShares: [shared, settingsPath(h)] })), /is not a folder/);
  assert.throws(() => updateSettings(h, (s) => ({ ...s, fileShares: [shared, join(shared, 'x')] })), /fileShares: .*nested/);
  assert.deepEqual(loadSettings(h).fileShares, [shared]);
  // A folder removed after it was shared does not make the file unloadable, nor block other changes; the boot skips it.
  rmSync(shared, { recursive: true });
  assert.equal(updateSettings(h, (s) => ({ ...s, cpus: 2 })).cpus, 2);
  assert.deepEqual(bootShares(loadSettings(h).fileShares, 'linux'), { extraShares: [], skipped: [shared] });
});

test('the VM shares each configured folder that exists at the same path: the first as berthhome, the rest as extras', () => {
  const h = home();
  const [a, b] = [join(h, 'a'), join(h, 'b c')];
  mkdirSync(a);
  mkdirSync(b);
  assert.deepEqual(bootShares([a, join(h, 'gone'), b], 'linux'), {
    share: { hostPath: a, guestPath: a },
    extraShares: [{ hostPath: b, guestPath: b }],
    skipped: [join(h, 'gone')],
  });
  assert.deepEqual(bootShares([a], 'win32'), { extraShares: [], skipped: [a] });
});

test('engine mode: vm or native; native only on Linux as root', () => {
  assert.equal(nativeUnavailable('linux', 0), undefined);
  assert.match(nativeUnavailable('linux', 1000)!, /needs root/);
  assert.match(nativeUnavailable('darwin', 0)!, /Linux only/);
  assert.deepEqual(parseSettingValue('engineMode', 'native'), { engineMode: 'native' });
  assert.throws(() => parseSettingValue('engineMode', 'docker'), /one of vm, native/);
  const h = home();
  writeFileSync(settingsPath(h), JSON.stringify({ engineMode: 'wsl' }));
  assert.throws(() => loadSettings(h), /engineMode: /);
  rmSync(settingsPath(h));
  const why = nativeUnavailable();
  if (why) assert.throws(() => updateSettings(h, (s) => ({ ...s, engineMode: 'native' })), new RegExp(`engineMode: ${why.slice(0, 20)}`));
  else assert.equal(updateSettings(h, (s) => ({ ...s, engineMode: 'native' })).engineMode, 'native');
});

test('file shares from the command line, separated like PATH', () => {
  assert.deepEqual(parseSettingValue('fileShares', '/a:/b c'), { fileShares: ['/a', '/b c'] });
  assert.deepEqual(parseSettingValue('fileShares', ''), { fileShares: [] });
  assert.throws(() => parseSettingValue('fileShares', '/a:rel'), /fileShares: "rel" is not an absolute/);
});

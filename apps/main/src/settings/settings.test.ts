import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { defaultSettings, loadSettings, parseSettingValue, planAccelerator, saveSettings, settingsPath, updateSettings } from './settings.js';

const homes: string[] = [];
const home = () => {
  const h = mkdtempSync(join(tmpdir(), 'berth-settings-'));
  homes.push(h);
  return h;
};
after(() => homes.forEach((h) => rmSync(h, { recursive: true, force: true })));

test('defaults follow the host: half its CPUs, a quarter of its memory within 2-8 GiB', () => {
  assert.deepEqual(defaultSettings({ cpus: 2, memoryMiB: 24_000 }), { cpus: 2, memoryMiB: 5888, diskGiB: 64, accelerator: 'auto' });
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
  assert.throws(() => loadSettings(h), (err: Error) => {
    assert.match(err.message, new RegExp(`^${settingsPath(h).replace(/[.]/g, '\\.')}: cpus: .*>=1.*; accelerator: .*"kvm"`));
    assert.match(err.message, /delete .*settings\.json for the defaults/);
    return true;
  });
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

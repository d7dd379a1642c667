import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { defaultAccelerator, hostOs, kvmUsable } from './accel.js';

describe('defaultAccelerator', () => {
  it('picks the host hypervisor, TCG when KVM cannot be opened', () => {
    assert.equal(defaultAccelerator('linux', { kvmUsable: () => true }), 'kvm');
    assert.equal(defaultAccelerator('linux', { kvmUsable: () => false }), 'tcg');
    assert.equal(defaultAccelerator('darwin'), 'hvf');
    assert.equal(defaultAccelerator('win32'), 'whpx');
  });
});

describe('kvmUsable', () => {
  it('is false for a device that does not exist, true for one that can be opened read-write', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-accel-'));
    try {
      assert.equal(kvmUsable(path.join(dir, 'nope')), false);
      const f = path.join(dir, 'kvm');
      fs.writeFileSync(f, '');
      assert.equal(kvmUsable(f), true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('hostOs', () => {
  it('accepts the three desktop platforms only', () => {
    assert.equal(hostOs('linux'), 'linux');
    assert.equal(hostOs('darwin'), 'darwin');
    assert.equal(hostOs('win32'), 'win32');
    assert.throws(() => hostOs('freebsd'), /not on freebsd/);
  });
});

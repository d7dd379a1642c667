import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { detectDiskFormat, ensureDataDisk } from './data-disk.js';

describe('ensureDataDisk', () => {
  it('makes a sparse raw disk once and never touches it again', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-disk-'));
    try {
      const file = path.join(dir, 'data.disk');
      const first = await ensureDataDisk(file, 8, null);
      assert.deepEqual(first, { path: file, format: 'raw', created: true });
      const st = fs.statSync(file);
      assert.equal(st.size, 8 * 1024 ** 3);
      assert.ok(st.blocks * 512 < 1024 ** 2, 'the raw disk is sparse');
      fs.writeFileSync(file, 'guest data', { flag: 'r+' });
      const again = await ensureDataDisk(file, 16, null);
      assert.deepEqual(again, { path: file, format: 'raw', created: false });
      const head = Buffer.alloc(10);
      const fd = fs.openSync(file, 'r');
      fs.readSync(fd, head, 0, 10, 0);
      fs.closeSync(fd);
      assert.equal(head.toString(), 'guest data');
      assert.equal(fs.statSync(file).size, 8 * 1024 ** 3);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('falls back to raw when qemu-img is not installed', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-disk-'));
    try {
      const d = await ensureDataDisk(path.join(dir, 'd'), 1, path.join(dir, 'no-such-qemu-img'));
      assert.equal(d.format, 'raw');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tells qcow2 from raw by the magic', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-disk-'));
    try {
      fs.writeFileSync(path.join(dir, 'q'), Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]));
      fs.writeFileSync(path.join(dir, 'r'), Buffer.alloc(512));
      assert.equal(await detectDiskFormat(path.join(dir, 'q')), 'qcow2');
      assert.equal(await detectDiskFormat(path.join(dir, 'r')), 'raw');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

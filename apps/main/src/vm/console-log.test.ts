import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConsoleLog } from './console-log.js';

describe('ConsoleLog', () => {
  it('yields whole lines across partial writes and keeps the last ones', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-console-'));
    try {
      const file = path.join(dir, 'console.log');
      const seen: string[] = [];
      const log = new ConsoleLog(file, (l) => seen.push(l), 3);
      log.poll(); // not created yet: nothing
      fs.writeFileSync(file, 'one\r\ntw');
      log.poll();
      assert.deepEqual(seen, ['one']);
      fs.appendFileSync(file, 'o\nthree\nfour\nfi');
      log.poll();
      assert.deepEqual(seen, ['one', 'two', 'three', 'four']);
      log.stop(); // flushes the unterminated line
      assert.deepEqual(seen, ['one', 'two', 'three', 'four', 'fi']);
      assert.deepEqual(log.lastLines(), ['three', 'four', 'fi']);
      assert.equal(log.bytesSeen, Buffer.byteLength('one\r\ntwo\nthree\nfour\nfi'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the opening of a kernel report that the stack trace after it pushed out of the last lines', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-console-'));
    try {
      const file = path.join(dir, 'console.log');
      const log = new ConsoleLog(file, () => {}, 40);
      const opening = [
        '[  250.1] watchdog: BUG: soft lockup - CPU#1 stuck for 26s! [sleep:412]',
        '[  250.1] Modules linked in: overlay veth bridge',
        '[  250.1] CPU: 1 PID: 412 Comm: sleep Not tainted 6.1.0-28-amd64',
        '[  250.1] Hardware name: QEMU Standard PC (i440FX + PIIX, 1996)',
        '[  250.1] RIP: 0010:queued_spin_lock_slowpath+0x4a/0x1d0',
        '[  250.1] Code: 0f 1f 44 00 00',
      ];
      const trace = Array.from({ length: 30 }, (_, i) => `[  250.1]  frame_${i}+0x10/0x20`);
      fs.writeFileSync(file, ['[    0.0] Linux version 6.1.0', 'berth-init: agent started', ...opening, ...trace, ''].join('\n'));
      log.poll();
      const tail = log.lastLines(20);
      assert.equal(tail.length, 20);
      assert.deepEqual(tail.slice(0, 7), [...opening, '…']);
      assert.deepEqual(tail.slice(7), trace.slice(-13));
      // while the report is still among the last lines, they are given as they are
      assert.deepEqual(log.lastLines(40), ['[    0.0] Linux version 6.1.0', 'berth-init: agent started', ...opening, ...trace].slice(-40));
      // a new boot (QEMU truncates the file) forgets the last boot's report
      const again = Array.from({ length: 25 }, (_, i) => `boot 2, line ${i}`);
      fs.writeFileSync(file, again.join('\n') + '\n');
      log.poll();
      assert.deepEqual(log.lastLines(20), again.slice(-20));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

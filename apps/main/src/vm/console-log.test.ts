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
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { waitForFile } from './wait-for-file.js';

describe('waitForFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-wait-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves true once another party creates the file', async () => {
    const file = join(dir, 'later');
    setTimeout(() => writeFileSync(file, ''), 120);
    assert.equal(await waitForFile(file, 10_000, 10), true);
  });

  it('resolves false when the file never comes', async () => {
    assert.equal(await waitForFile(join(dir, 'never'), 100, 10), false);
  });
});

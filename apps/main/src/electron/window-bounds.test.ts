import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { dotBitmap } from './tray-icon.js';
import { loadWindowState, saveWindowState, windowStatePath } from './window-bounds.js';

const screen = [{ x: 0, y: 0, width: 1920, height: 1080 }];

test('window state round-trips through $BERTH_HOME/window-state.json', () => {
  const home = mkdtempSync(join(tmpdir(), 'berth-win-'));
  assert.equal(loadWindowState(home, screen), undefined);
  saveWindowState(home, { bounds: { x: 100, y: 80, width: 1000, height: 700 }, maximized: true });
  assert.deepEqual(loadWindowState(home, screen), { bounds: { x: 100, y: 80, width: 1000, height: 700 }, maximized: true });
});

test('a window saved on a display that is gone, or a damaged file, gives no state', () => {
  const home = mkdtempSync(join(tmpdir(), 'berth-win-'));
  saveWindowState(home, { bounds: { x: 3000, y: 80, width: 1000, height: 700 }, maximized: false });
  assert.equal(loadWindowState(home, screen), undefined);
  assert.ok(loadWindowState(home, [...screen, { x: 1920, y: 0, width: 2560, height: 1440 }]));
  writeFileSync(windowStatePath(home), '{"bounds": {"x": "a"}}');
  assert.equal(loadWindowState(home, screen), undefined);
  writeFileSync(windowStatePath(home), 'not json');
  assert.equal(loadWindowState(home, screen), undefined);
});

test('the tray dot is opaque in the middle, transparent in the corner, in the state colour (BGRA)', () => {
  const px = dotBitmap('running', 16);
  assert.equal(px.length, 16 * 16 * 4);
  const mid = (8 * 16 + 8) * 4;
  assert.deepEqual([...px.subarray(mid, mid + 4)], [0x5e, 0xc5, 0x22, 255]);
  assert.equal(px[3], 0);
  assert.notDeepEqual([...dotBitmap('error').subarray(mid, mid + 3)], [...px.subarray(mid, mid + 3)]);
});

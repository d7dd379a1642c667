import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineSplitter } from './lines.js';

test('lines split at odd chunk boundaries come out whole, blank lines dropped', () => {
  const text = '{"a":1}\r\n{"b":"é"}\n\n{"c":3}';
  for (let cut = 0; cut <= text.length; cut++) {
    const s = new LineSplitter();
    const got = [...s.push(text.slice(0, cut)), ...s.push(text.slice(cut)), ...s.end()];
    assert.deepEqual(got, ['{"a":1}', '{"b":"é"}', '{"c":3}'], `cut at ${cut}`);
  }
});

test('end() returns nothing after a trailing newline', () => {
  const s = new LineSplitter();
  assert.deepEqual(s.push('x\n'), ['x']);
  assert.deepEqual(s.end(), []);
});

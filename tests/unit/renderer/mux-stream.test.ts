import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineAssembler, MuxDecoder, type Frame } from '../../../apps/renderer/src/lib/mux-stream.js';

function frame(type: number, text: string): Uint8Array {
  const data = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + data.length);
  out[0] = type;
  new DataView(out.buffer).setUint32(4, data.length);
  out.set(data, 8);
  return out;
}

const all = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
};

const text = (fs: Frame[]) => fs.map((f) => `${f.stream}:${new TextDecoder().decode(f.data)}`);

test('frames split at every offset decode to the same frames', () => {
  const bytes = all(frame(1, 'hello\n'), frame(2, 'oops\n'), frame(1, ''), frame(1, 'h\u00e9 \u6c34\n'));
  const whole = text(new MuxDecoder().push(bytes));
  assert.deepEqual(whole, ['stdout:hello\n', 'stderr:oops\n', 'stdout:', 'stdout:h\u00e9 \u6c34\n']);
  for (let cut = 0; cut <= bytes.length; cut++) {
    for (let cut2 = cut; cut2 <= bytes.length; cut2 += 3) {
      const d = new MuxDecoder();
      const got = [...d.push(bytes.slice(0, cut)), ...d.push(bytes.slice(cut, cut2)), ...d.push(bytes.slice(cut2))];
      assert.deepEqual(text(got), whole, `cut at ${cut}, ${cut2}`);
      assert.equal(d.leftover, 0);
    }
  }
});

test('an unfinished frame is held and counted; a foreign header is refused', () => {
  const d = new MuxDecoder();
  assert.deepEqual(d.push(frame(1, 'abcdef').slice(0, 10)), []);
  assert.equal(d.leftover, 10);
  assert.throws(() => new MuxDecoder().push(new TextEncoder().encode('plain text here')), /not a multiplexed stream/);
});

test('raw mode (TTY) passes bytes through as stdout', () => {
  const d = new MuxDecoder(true);
  assert.deepEqual(text(d.push(new TextEncoder().encode('\x01\x00 raw'))), ['stdout:\x01\x00 raw']);
});

test('lines are assembled per stream across frames, multi-byte characters kept whole', () => {
  const a = new LineAssembler();
  const water = new TextEncoder().encode('\u6c34');
  const lines = [
    ...a.push({ stream: 'stdout', data: new TextEncoder().encode('one\r\ntw') }),
    ...a.push({ stream: 'stderr', data: new TextEncoder().encode('err\n') }),
    ...a.push({ stream: 'stdout', data: all(new TextEncoder().encode('o '), water.slice(0, 1)) }),
    ...a.push({ stream: 'stdout', data: all(water.slice(1), new TextEncoder().encode('\nlast')) }),
  ];
  assert.deepEqual(lines, [
    { stream: 'stdout', text: 'one' },
    { stream: 'stderr', text: 'err' },
    { stream: 'stdout', text: 'two \u6c34' },
  ]);
  assert.deepEqual(a.end(), [{ stream: 'stdout', text: 'last' }]);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { foldPull, initialPull } from '../../../apps/renderer/src/lib/pull-progress.js';

test('a pull stream becomes per-layer bars and summary lines', () => {
  const lines = [
    { status: 'Pulling from busybox', id: 'latest' },
    { status: 'Pulling fs layer', id: 'aaa', progressDetail: {} },
    { status: 'Pulling fs layer', id: 'bbb', progressDetail: {} },
    { status: 'Downloading', id: 'aaa', progressDetail: { current: 50, total: 200 } },
    { status: 'Already exists', id: 'bbb', progressDetail: {} },
    { status: 'Downloading', id: 'aaa', progressDetail: { current: 200, total: 200 } },
    { status: 'Extracting', id: 'aaa', progressDetail: { current: 10, total: 40 } },
  ];
  const mid = lines.slice(0, 4).reduce(foldPull, initialPull);
  assert.deepEqual(
    mid.layers.map((l) => [l.id, l.status, l.fraction]),
    [
      ['aaa', 'Downloading', 0.25],
      ['bbb', 'Pulling fs layer', undefined],
    ],
  );
  const s = [
    ...lines,
    { status: 'Pull complete', id: 'aaa', progressDetail: {} },
    { status: 'Digest: sha256:123' },
    { status: 'Status: Downloaded newer image for busybox:latest' },
  ].reduce(foldPull, initialPull);
  assert.deepEqual(
    s.layers.map((l) => [l.id, l.status, l.fraction, l.done]),
    [
      ['aaa', 'Pull complete', 1, true],
      ['bbb', 'Already exists', 1, true],
    ],
  );
  assert.deepEqual(s.messages, ['Pulling from busybox (latest)', 'Digest: sha256:123', 'Status: Downloaded newer image for busybox:latest']);
  assert.equal(s.error, undefined);
});

test('an in-band error is kept', () => {
  const s = foldPull(initialPull, { error: 'x', errorDetail: { message: 'manifest unknown' } });
  assert.equal(s.error, 'manifest unknown');
});

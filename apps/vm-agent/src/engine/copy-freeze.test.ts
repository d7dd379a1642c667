import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cgroup } from '../runtime/cgroups.js';
import { CopyFreeze } from './copy-freeze.js';

/** A cgroup that records what was asked of it; freezing takes a moment, as the kernel's may. */
function fakeCgroup() {
  const calls: string[] = [];
  let frozen = false;
  const cg = {
    canFreeze: true,
    freeze: async () => {
      calls.push('freeze');
      await new Promise((r) => setTimeout(r, 20));
      frozen = true;
    },
    thaw: async () => {
      calls.push('thaw');
      frozen = false;
    },
  } as unknown as Cgroup;
  return { cg, calls, isFrozen: () => frozen };
}

test('a copy of a running container runs frozen and thaws after, even when it fails', async () => {
  const { cg, calls, isFrozen } = fakeCgroup();
  const f = new CopyFreeze();
  assert.equal(
    await f.run(
      'c1',
      () => cg,
      async () => isFrozen(),
    ),
    true,
  );
  assert.equal(isFrozen(), false);
  await assert.rejects(
    f.run(
      'c1',
      () => cg,
      async () => {
        throw new Error('copy failed');
      },
    ),
    /copy failed/,
  );
  assert.equal(isFrozen(), false);
  assert.deepEqual(calls, ['freeze', 'thaw', 'freeze', 'thaw']);
});

test('overlapping copies share one freeze: the second waits for it, the last one out thaws', async () => {
  const { cg, calls, isFrozen } = fakeCgroup();
  const f = new CopyFreeze();
  let releaseFirst!: () => void;
  const first = f.run(
    'c1',
    () => cg,
    () => new Promise<void>((r) => (releaseFirst = r)),
  );
  const secondSaw = await f.run(
    'c1',
    () => cg,
    async () => isFrozen(),
  );
  assert.equal(secondSaw, true, 'the second copy did not start before the freeze took');
  assert.equal(isFrozen(), true, 'the first copy still runs');
  releaseFirst();
  await first;
  assert.equal(isFrozen(), false);
  assert.deepEqual(calls, ['freeze', 'thaw']);
});

test('a stopped or paused container is left as it is; one paused during the copy stays frozen', async () => {
  const { cg, calls } = fakeCgroup();
  const f = new CopyFreeze();
  await f.run(
    'c1',
    () => undefined,
    async () => {},
  );
  assert.deepEqual(calls, [], 'not running: no freeze, no thaw');
  let status = 'running';
  await f.run(
    'c1',
    () => (status === 'running' ? cg : undefined),
    async () => {
      status = 'paused'; // docker pause while the copy runs
    },
  );
  assert.deepEqual(calls, ['freeze'], 'no thaw of a container paused meanwhile');
});

test('a freeze that fails fails the copy with the container named, and the work never runs', async () => {
  const cg = {
    canFreeze: true,
    freeze: async () => {
      throw new Error('EBUSY');
    },
    thaw: async () => {},
  } as unknown as Cgroup;
  let ran = false;
  await assert.rejects(
    new CopyFreeze().run(
      'c1',
      () => cg,
      async () => {
        ran = true;
      },
    ),
    /pausing container c1 for the copy: EBUSY/,
  );
  assert.equal(ran, false);
});

test('on a machine with no cgroup freezer the work runs unfrozen (as dockerd commits there, and copies)', async () => {
  const { calls } = fakeCgroup();
  const cg = {
    canFreeze: false,
    freeze: async () => {
      calls.push('freeze');
      throw new Error('no freezer');
    },
    thaw: async () => {
      calls.push('thaw');
      throw new Error('no freezer');
    },
  } as unknown as Cgroup;
  assert.equal(
    await new CopyFreeze().run(
      'c1',
      () => cg,
      async () => 'done',
    ),
    'done',
  );
  assert.deepEqual(calls, []);
});

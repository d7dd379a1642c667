import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContainerRecord } from '../../engine/container-types.js';
import type { ContainerService } from '../../engine/containers.js';
import type { Health } from '../../engine/health-rules.js';
import { containerFilter } from './container-filters.js';

const rec = (Id: string) => ({ Id, Name: `/${Id}`, Config: { Labels: {} }, State: { Status: 'running' } }) as unknown as ContainerRecord;
const health: Record<string, Health> = {
  a: { Status: 'healthy', FailingStreak: 0, Log: [] },
  b: { Status: 'unhealthy', FailingStreak: 3, Log: [] },
  c: { Status: 'starting', FailingStreak: 0, Log: [] },
};
const svc = {} as ContainerService; // not consulted by these filters

function matching(values: string[]): string[] {
  const f = containerFilter(svc, new Map([['health', values]]), (id) => health[id]);
  return ['a', 'b', 'c', 'd']
    .map(rec)
    .filter(f)
    .map((c) => c.Id);
}

test('health filter: each status, none for containers without a check, values OR-ed', () => {
  assert.deepEqual(matching(['healthy']), ['a']);
  assert.deepEqual(matching(['unhealthy']), ['b']);
  assert.deepEqual(matching(['starting']), ['c']);
  assert.deepEqual(matching(['none']), ['d']);
  assert.deepEqual(matching(['healthy', 'starting']), ['a', 'c']);
});

test('health filter: an unknown value is refused', () => {
  assert.throws(() => matching(['sick']), /Unrecognised filter value for health: sick/);
});

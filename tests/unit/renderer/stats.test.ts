import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleOf } from '../../../apps/renderer/src/lib/stats.js';

test('CPU percent as docker stats computes it, memory without the inactive page cache', () => {
  const s = sampleOf({
    cpu_stats: { cpu_usage: { total_usage: 3_000_000 }, system_cpu_usage: 20_000_000, online_cpus: 2 },
    precpu_stats: { cpu_usage: { total_usage: 1_000_000 }, system_cpu_usage: 10_000_000 },
    memory_stats: { usage: 50_000_000, limit: 1_000_000_000, stats: { inactive_file: 10_000_000 } },
  });
  assert.equal(s.cpuPercent, 40);
  assert.equal(s.memoryBytes, 40_000_000);
  assert.equal(s.memoryLimit, 1_000_000_000);
});

test('the first sample (no previous reading) and an empty object give zeros', () => {
  assert.deepEqual(sampleOf({ cpu_stats: { cpu_usage: { total_usage: 5 }, system_cpu_usage: 0 } }), { cpuPercent: 0, memoryBytes: 0, memoryLimit: 0 });
  assert.deepEqual(sampleOf({}), { cpuPercent: 0, memoryBytes: 0, memoryLimit: 0 });
  assert.equal(sampleOf({ memory_stats: { usage: 7, stats: { total_inactive_file: 2 } } }).memoryBytes, 5);
});

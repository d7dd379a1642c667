import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  applyResult,
  healthSuffix,
  healthTimings,
  mergeHealthcheck,
  probeCommand,
  validateHealthcheck,
  type Health,
  type HealthResult,
} from './health-rules.js';

const S = 1_000_000_000;
const result = (ExitCode: number, Output = ''): HealthResult => ({ Start: 's', End: 'e', ExitCode, Output });
const starting: Health = { Status: 'starting', FailingStreak: 0, Log: [] };

describe('health check config', () => {
  test('merge: the request wins field by field; an empty Test and zero durations inherit the image', () => {
    const image = { Test: ['CMD', 'true'], Interval: 10 * S, Retries: 5 };
    assert.deepEqual(mergeHealthcheck(image, undefined), image);
    assert.deepEqual(mergeHealthcheck(undefined, { Test: ['NONE'] }), { Test: ['NONE'] });
    assert.deepEqual(mergeHealthcheck(image, { Test: [], Timeout: 2 * S }), {
      Test: ['CMD', 'true'],
      Interval: 10 * S,
      Timeout: 2 * S,
      StartPeriod: undefined,
      StartInterval: undefined,
      Retries: 5,
    });
    assert.deepEqual(mergeHealthcheck(image, { Test: ['NONE'] })?.Test, ['NONE']);
  });

  test('validation refuses what dockerd refuses', () => {
    assert.throws(() => validateHealthcheck({ Interval: 1000 }), /Interval in Healthcheck cannot be less than 1ms/);
    assert.throws(() => validateHealthcheck({ Retries: -1 }), /Retries in Healthcheck cannot be negative/);
    assert.throws(() => validateHealthcheck({ Test: ['SHELL', 'x'] }), /unknown Healthcheck type 'SHELL'/);
    validateHealthcheck({ Test: ['CMD-SHELL', 'true'], Interval: 0, Timeout: 1_000_000 });
    validateHealthcheck(undefined);
  });

  test('probe command: CMD runs as is, CMD-SHELL through /bin/sh -c, NONE and empty mean no check', () => {
    assert.deepEqual(probeCommand({ Test: ['CMD', 'wget', '-q', 'http://localhost/'] }), ['wget', '-q', 'http://localhost/']);
    assert.deepEqual(probeCommand({ Test: ['CMD-SHELL', 'curl -f localhost || exit 1'] }), ['/bin/sh', '-c', 'curl -f localhost || exit 1']);
    assert.equal(probeCommand({ Test: ['NONE'] }), undefined);
    assert.equal(probeCommand({ Test: [] }), undefined);
    assert.equal(probeCommand(undefined), undefined);
  });

  test('timings: nanoseconds to milliseconds, dockerd defaults for zero', () => {
    assert.deepEqual(healthTimings(undefined), { intervalMs: 30_000, timeoutMs: 30_000, startPeriodMs: 0, startIntervalMs: 5_000, retries: 3 });
    assert.deepEqual(healthTimings({ Interval: S / 2, Timeout: 3 * S, StartPeriod: 10 * S, StartInterval: S / 10, Retries: 2 }), {
      intervalMs: 500,
      timeoutMs: 3000,
      startPeriodMs: 10_000,
      startIntervalMs: 100,
      retries: 2,
    });
  });
});

describe('health status', () => {
  test('a success makes it healthy; retries failures in a row make it unhealthy; a success clears the streak', () => {
    let h = applyResult(starting, result(0, 'ok'), 3, false);
    assert.deepEqual([h.Status, h.FailingStreak], ['healthy', 0]);
    h = applyResult(h, result(1), 3, false);
    h = applyResult(h, result(1), 3, false);
    assert.deepEqual([h.Status, h.FailingStreak], ['healthy', 2]);
    h = applyResult(h, result(1), 3, false);
    assert.deepEqual([h.Status, h.FailingStreak], ['unhealthy', 3]);
    h = applyResult(h, result(0), 3, false);
    assert.deepEqual([h.Status, h.FailingStreak], ['healthy', 0]);
  });

  test('failures in the start period do not count while starting, but do once it has been healthy', () => {
    let h = applyResult(starting, result(1), 1, true);
    assert.deepEqual([h.Status, h.FailingStreak, h.Log.length], ['starting', 0, 1]);
    h = applyResult(h, result(0), 1, true);
    h = applyResult(h, result(1), 1, true);
    assert.deepEqual([h.Status, h.FailingStreak], ['unhealthy', 1]);
  });

  test('the log keeps the last five results, outputs cut at 4 KiB', () => {
    let h = starting;
    for (let i = 0; i < 7; i++) h = applyResult(h, result(0, i === 6 ? 'x'.repeat(10_000) : String(i)), 3, false);
    assert.deepEqual(
      h.Log.slice(0, 4).map((r) => r.Output),
      ['2', '3', '4', '5'],
    );
    assert.equal(h.Log[4]!.Output.length, 4096);
  });

  test('ps suffix', () => {
    assert.equal(healthSuffix(undefined), '');
    assert.equal(healthSuffix(starting), ' (health: starting)');
    assert.equal(healthSuffix({ ...starting, Status: 'healthy' }), ' (healthy)');
    assert.equal(healthSuffix({ ...starting, Status: 'unhealthy' }), ' (unhealthy)');
  });
});

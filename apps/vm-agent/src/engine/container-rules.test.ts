/** Pure rules of the engine: create merge, restart policies, status text, detach keys, log lines. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildContainerRecord, mergeEnv } from './container-create.js';
import { statusText } from './human-duration.js';
import { JsonFileLog, parseSize, readLogFiles } from './json-log.js';
import { nextBackoff, shouldRestart, validateRestartPolicy } from './restart-policy.js';

const image = {
  rootfs: { type: 'layers' as const, diff_ids: [] },
  config: { Entrypoint: ['/entry'], Cmd: ['default'], Env: ['PATH=/bin', 'A=img'], WorkingDir: '/app', Labels: { a: '1' } },
};
const make = (req: object) =>
  buildContainerRecord({ id: 'f'.repeat(64), name: '/x', imageId: 'sha256:' + '0'.repeat(64), image, req: { Image: 'img', ...req } });

test('create merges with the image as dockerd does', () => {
  const a = make({});
  assert.equal(a.Path, '/entry');
  assert.deepEqual(a.Args, ['default']);
  assert.equal(a.Config.WorkingDir, '/app');
  assert.equal(a.Config.Hostname, 'ffffffffffff');
  const b = make({ Cmd: ['mine'], Env: ['A=user', 'B=2'], Labels: { b: '2' } });
  assert.deepEqual([b.Path, ...b.Args], ['/entry', 'mine']);
  assert.deepEqual(b.Config.Env, ['PATH=/bin', 'A=user', 'B=2']);
  assert.deepEqual(b.Config.Labels, { a: '1', b: '2' });
  const c = make({ Entrypoint: ['sh'] });
  assert.deepEqual([c.Path, ...c.Args], ['sh'], 'a new entrypoint drops the image Cmd');
  const d = make({ Entrypoint: [''], Cmd: ['ls'] });
  assert.deepEqual([d.Path, ...d.Args], ['ls'], '--entrypoint "" clears it');
  const noCmd = { ...image, config: { ...image.config, Cmd: null, Entrypoint: null } };
  assert.throws(
    () => buildContainerRecord({ id: 'f'.repeat(64), name: '/x', imageId: 'sha256:0', image: noCmd, req: { Image: 'img' } }),
    /No command specified/,
  );
  assert.throws(() => make({ WorkingDir: 'rel' }), /needs to be an absolute path/);
  assert.throws(() => make({ HostConfig: { AutoRemove: true, RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } } }), /AutoRemove/);
  assert.deepEqual(mergeEnv(['A=1', 'B=1'], ['A=2']), ['B=1', 'A=2']);
});

test('restart policies and back-off', () => {
  const p = (Name: string, MaximumRetryCount = 0) => ({ Name, MaximumRetryCount }) as never;
  assert.equal(shouldRestart({ policy: p('on-failure', 2), exitCode: 1, restartCount: 1, manuallyStopped: false }), true);
  assert.equal(shouldRestart({ policy: p('on-failure', 2), exitCode: 1, restartCount: 2, manuallyStopped: false }), false);
  assert.equal(shouldRestart({ policy: p('on-failure'), exitCode: 0, restartCount: 0, manuallyStopped: false }), false);
  assert.equal(shouldRestart({ policy: p('always'), exitCode: 0, restartCount: 9, manuallyStopped: true }), false);
  assert.equal(shouldRestart({ policy: p('unless-stopped'), exitCode: 0, restartCount: 9, manuallyStopped: false }), true);
  assert.throws(() => validateRestartPolicy(p('always', 3), false), /only be used with 'on-failure'/);
  assert.equal(nextBackoff(0, 0), 100);
  assert.equal(nextBackoff(100, 50), 200);
  assert.equal(nextBackoff(40_000, 50), 60_000);
  assert.equal(nextBackoff(800, 20_000), 100);
});

test('status text as docker ps shows it', () => {
  const rec = make({});
  const now = Date.parse('2024-01-01T00:01:00Z');
  rec.State = { ...rec.State, Status: 'running', StartedAt: '2024-01-01T00:00:57.000000000Z' };
  assert.equal(statusText(rec, now), 'Up 3 seconds');
  rec.State = { ...rec.State, Status: 'exited', ExitCode: 1, FinishedAt: '2023-12-31T23:58:00Z' };
  assert.equal(statusText(rec, now), 'Exited (1) 3 minutes ago');
});

test('json-file log lines, rotation and reading back', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-log-'));
  try {
    assert.equal(parseSize('1k'), 1024);
    assert.equal(parseSize('2m'), 2 * 1024 * 1024);
    const log = new JsonFileLog(join(dir, 'c-json.log'), { maxSize: 400, maxFiles: 2 });
    log.write('stdout', 'one\ntw');
    log.write('stdout', 'o\n');
    log.write('stderr', 'partial');
    log.endRun();
    const first = JSON.parse(readFileSync(join(dir, 'c-json.log'), 'utf8').split('\n')[0]!);
    assert.equal(first.log, 'one\n');
    assert.equal(first.stream, 'stdout');
    assert.match(first.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    for (let i = 0; i < 20; i++) log.write('stdout', `line ${i}\n`);
    log.close();
    const all = readLogFiles(join(dir, 'c-json.log'), 2, { stdout: true, stderr: true, sinceNs: 0n, untilNs: 0n });
    assert.equal(all[all.length - 1]!.log, 'line 19\n');
    assert.ok(all.length < 23, 'older entries rotated away');
    const tail = readLogFiles(join(dir, 'c-json.log'), 2, { stdout: true, stderr: false, sinceNs: 0n, untilNs: 0n, tail: 1 });
    assert.deepEqual(
      tail.map((e) => e.log),
      ['line 19\n'],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

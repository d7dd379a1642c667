import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyCommitChanges } from './commit-changes.js';

test('shell forms use the config shell; ENTRYPOINT without CMD drops the old CMD', () => {
  const rc = applyCommitChanges({ Cmd: ['sh'], Shell: ['/bin/ash', '-c'] }, ['ENTRYPOINT run.sh']);
  assert.deepEqual(rc.Entrypoint, ['/bin/ash', '-c', 'run.sh']);
  assert.equal(rc.Cmd, null);
  const both = applyCommitChanges({ Cmd: ['sh'] }, ['CMD ["x"]', 'ENTRYPOINT ["e"]']);
  assert.deepEqual([both.Entrypoint, both.Cmd], [['e'], ['x']]);
});

test('ENV keeps positions and expands, LABEL/EXPOSE/VOLUME merge, WORKDIR resolves against the old one', () => {
  const rc = applyCommitChanges(
    { Env: ['PATH=/bin', 'A=0'], Labels: { a: '1' }, ExposedPorts: { '80/tcp': {} }, WorkingDir: '/app' },
    ['ENV A=1 B=$A-x', 'LABEL b="two words"', 'EXPOSE 53/udp', 'VOLUME /data', 'WORKDIR sub', 'USER 1000:1000', 'STOPSIGNAL SIGINT'],
  );
  assert.deepEqual(rc.Env, ['PATH=/bin', 'A=1', 'B=1-x']);
  assert.deepEqual(rc.Labels, { a: '1', b: 'two words' });
  assert.deepEqual(Object.keys(rc.ExposedPorts!), ['80/tcp', '53/udp']);
  assert.deepEqual(Object.keys(rc.Volumes!), ['/data']);
  assert.equal(rc.WorkingDir, '/app/sub');
  assert.equal(rc.User, '1000:1000');
  assert.equal(rc.StopSignal, 'SIGINT');
});

test('build-only instructions and bad values are refused', () => {
  assert.throws(() => applyCommitChanges({}, ['COPY a b']), /copy is not a valid change command/);
  assert.throws(() => applyCommitChanges({}, ['FROM x']), /from is not a valid change command/);
  assert.throws(() => applyCommitChanges({}, ['EXPOSE http']), /invalid containerPort: http/);
  assert.throws(() => applyCommitChanges({}, ['STOPSIGNAL ~']), /Invalid signal/);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPortProblem, publishedPort, TUTORIAL_PORTS, tutorialCreateBody, tutorialRunLine } from '../../../apps/renderer/src/lib/tutorial.js';

test('the tutorial runs on 80, then falls back to 8080, 8081, ...', () => {
  assert.deepEqual(TUTORIAL_PORTS.slice(0, 3), [80, 8080, 8081]);
  assert.equal(tutorialRunLine(80), 'docker run -d -p 80:80 --name getting-started berth/getting-started');
  assert.deepEqual((tutorialCreateBody(8081).HostConfig as { PortBindings: unknown }).PortBindings, { '80/tcp': [{ HostIp: '', HostPort: '8081' }] });
});

test('port refusals are told from other failures', () => {
  assert.ok(isPortProblem('Ports are not available: listen tcp 0.0.0.0:80: bind: address already in use'));
  assert.ok(isPortProblem('listen tcp 0.0.0.0:80: bind: permission denied'));
  assert.ok(!isPortProblem('No such image: berth/getting-started:latest'));
});

test('the published port is read from inspect', () => {
  assert.equal(
    publishedPort({
      '80/tcp': [
        { HostIp: '0.0.0.0', HostPort: '8080' },
        { HostIp: '::', HostPort: '8080' },
      ],
    }),
    8080,
  );
  assert.equal(publishedPort({ '80/tcp': null }), undefined);
  assert.equal(publishedPort(undefined), undefined);
});

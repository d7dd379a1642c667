import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBody, dockerRunLine, parsePort, splitCommand, type RunSpec } from '../../../apps/renderer/src/lib/docker-run.js';

const spec: RunSpec = {
  image: 'berth/getting-started',
  name: 'tutorial',
  ports: ['8080:80', ' '],
  env: ['GREETING=hello world'],
  volumes: ['/srv/site:/www:ro'],
  restart: 'unless-stopped',
  command: `httpd -f -h /www -c "it's"`,
};

test('the docker run line quotes only what needs it', () => {
  assert.equal(
    dockerRunLine(spec),
    `docker run -d --name tutorial -p 8080:80 -e 'GREETING=hello world' -v /srv/site:/www:ro --restart unless-stopped berth/getting-started httpd -f -h /www -c 'it'\\''s'`,
  );
  assert.equal(dockerRunLine({ ...spec, name: '', ports: [], env: [], volumes: [], restart: 'no', command: '' }), 'docker run -d berth/getting-started');
});

test('the create body carries ports, env, binds, restart policy and the split command', () => {
  assert.deepEqual(createBody(spec), {
    Image: 'berth/getting-started',
    Cmd: ['httpd', '-f', '-h', '/www', '-c', "it's"],
    Env: ['GREETING=hello world'],
    ExposedPorts: { '80/tcp': {} },
    HostConfig: {
      PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] },
      Binds: ['/srv/site:/www:ro'],
      RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
    },
  });
});

test('ports parse in every docker form, and bad ones say why', () => {
  assert.deepEqual(parsePort('127.0.0.1:8080:80/udp'), { hostIp: '127.0.0.1', hostPort: '8080', containerPort: '80', proto: 'udp' });
  assert.deepEqual(parsePort('80'), { hostIp: '', hostPort: '', containerPort: '80', proto: 'tcp' });
  assert.throws(() => parsePort('http:80'), /invalid port mapping "http:80"/);
  assert.throws(() => createBody({ ...spec, env: ['NOEQUALS'] }), /KEY=value/);
});

test('commands split like a shell', () => {
  assert.deepEqual(splitCommand(`sh -c 'echo "a b"' x\\ y ""`), ['sh', '-c', 'echo "a b"', 'x y', '']);
  assert.throws(() => splitCommand('echo "oops'), /unterminated/);
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureDockerContext } from './docker-context.js';
import { hostSocketAddress, isNamedPipe } from '../util/berth-home.js';

const DOCKER = process.env.BERTH_DOCKER_BIN ?? '/usr/local/bin/docker';

test('Linux and macOS: a unix socket under the home, DOCKER_HOST unix://', () => {
  for (const platform of ['linux', 'darwin'] as const) {
    const a = hostSocketAddress('/home/u/.berth', platform);
    assert.deepEqual(a, { path: '/home/u/.berth/run/docker.sock', dockerHost: 'unix:///home/u/.berth/run/docker.sock' });
    assert.equal(isNamedPipe(a.path), false);
  }
});

test('Windows: a named pipe per home, DOCKER_HOST npipe:// naming the same pipe', () => {
  const a = hostSocketAddress('C:\\Users\\u\\.berth', 'win32');
  const name = /^\\\\\.\\pipe\\(berth_engine-[0-9a-f]{8})$/.exec(a.path)?.[1];
  assert.ok(name, a.path);
  assert.equal(a.dockerHost, `npipe:////./pipe/${name}`);
  assert.ok(isNamedPipe(a.path));
  // One home whatever its case; another home, another pipe.
  assert.deepEqual(hostSocketAddress('c:\\users\\U\\.BERTH', 'win32'), a);
  assert.notEqual(hostSocketAddress('D:\\berth-test', 'win32').path, a.path);
});

test('the docker CLI reads an npipe:// host back from the berth context', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-docker-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { dockerHost } = hostSocketAddress('C:\\Users\\u\\.berth', 'win32');
  const path = ensureDockerContext({ host: dockerHost, dockerConfigDir: dir });
  assert.equal(JSON.parse(readFileSync(path, 'utf8')).Endpoints.docker.Host, dockerHost);
  if (!existsSync(DOCKER)) return t.skip(`no docker CLI at ${DOCKER}`);
  const out = execFileSync(DOCKER, ['context', 'inspect', 'berth', '--format', '{{.Endpoints.docker.Host}}'], { env: { ...process.env, DOCKER_CONFIG: dir } });
  assert.equal(out.toString().trim(), dockerHost);
});

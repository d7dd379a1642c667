import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureDockerContext } from './docker-context.js';

const DOCKER = process.env.BERTH_DOCKER_BIN ?? '/usr/local/bin/docker';

test('the berth context is created, updated in place, and read back by the docker CLI', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-docker-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = ensureDockerContext({ host: 'unix:///tmp/one.sock', dockerConfigDir: dir });
  ensureDockerContext({ host: 'unix:///tmp/two.sock', dockerConfigDir: dir });
  const meta = JSON.parse(readFileSync(path, 'utf8'));
  assert.equal(meta.Name, 'berth');
  assert.equal(meta.Endpoints.docker.Host, 'unix:///tmp/two.sock');
  if (!existsSync(DOCKER)) return t.skip(`no docker CLI at ${DOCKER}`);
  const out = execFileSync(DOCKER, ['context', 'inspect', 'berth', '--format', '{{.Endpoints.docker.Host}}'], { env: { ...process.env, DOCKER_CONFIG: dir } });
  assert.equal(out.toString().trim(), 'unix:///tmp/two.sock');
});

/**
 * `docker context use berth` in native mode (issue 10): `berth web --engine
 * native` starts the agent on this host and writes the `berth` context, so
 * the docker CLI reaches it by context name alone. A temp BERTH_HOME and an
 * isolated DOCKER_CONFIG; the CLI gets no DOCKER_HOST.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startWebMode, type WebMode } from '../dashboard/web-mode.js';
import { DOCKER_BIN, runCommand, type RunResult } from '../helpers/docker.js';

let work: string;
let web: WebMode | undefined;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'berth-native-context-'));
});
after(async () => {
  await web?.stop();
  rmSync(work, { recursive: true, force: true });
});

test('berth web --engine native writes the berth context, and `docker --context berth` answers', async () => {
  const home = join(work, 'home');
  const dockerConfig = join(work, 'docker-config');
  const env = { BERTH_HOME: home, DOCKER_CONFIG: dockerConfig };
  const docker = (args: string[]): Promise<RunResult> =>
    runCommand(DOCKER_BIN, args, { env: { ...env, DOCKER_HOST: '', DOCKER_CONTEXT: '', DOCKER_CLI_HINTS: 'false' } });
  assert.notEqual((await docker(['--context', 'berth', 'version'])).code, 0, 'no berth context before berth web');

  web = await startWebMode(['--engine', 'native'], env);
  // The engine starts after the dashboard serves: poll until the context answers.
  const deadline = Date.now() + 30_000;
  let r = await docker(['--context', 'berth', 'version', '--format', '{{.Server.Os}} {{.Server.APIVersion}}']);
  while (r.code !== 0 && Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, 250));
    r = await docker(['--context', 'berth', 'version', '--format', '{{.Server.Os}} {{.Server.APIVersion}}']);
  }
  assert.equal(r.code, 0, `docker --context berth version: ${r.stderr}\n${web.output()}`);
  assert.match(r.stdout, /^linux 1\.\d+\n$/);
  const ls = await docker(['context', 'ls', '--format', '{{.Name}} {{.DockerEndpoint}}']);
  assert.match(ls.stdout, new RegExp(`^berth unix://${join(home, 'run/docker.sock')}$`, 'm'));
  // `docker context use berth` then makes it the default for plain commands.
  assert.equal((await docker(['context', 'use', 'berth'])).code, 0);
  const info = await docker(['info', '--format', '{{.ServerVersion}}']);
  assert.equal(info.code, 0, info.stderr);
});

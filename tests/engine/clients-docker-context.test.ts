/**
 * The docker CLI's own discovery: with no DOCKER_HOST, the current context
 * decides which engine the CLI (and tools that follow it, like
 * docker-compose 1.29 through docker-py's context support) talk to.
 * `docker context create berth --docker host=unix://SOCK` and `docker
 * context use berth` in an isolated DOCKER_CONFIG make both reach Berth.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { useAgent } from '../helpers/agent.js';
import { DOCKER_BIN, runCommand, type RunResult } from '../helpers/docker.js';

const COMPOSE_BIN = process.env.BERTH_COMPOSE_BIN ?? '/usr/bin/docker-compose';
const agent = useAgent();
let config = '';

/** No DOCKER_HOST or DOCKER_CONTEXT (empty is unset for both tools): only the config directory decides. */
const env = () => ({ DOCKER_CONFIG: config, DOCKER_HOST: '', DOCKER_CONTEXT: '', DOCKER_CLI_HINTS: 'false' });

async function docker(args: string[]): Promise<RunResult> {
  const r = await runCommand(DOCKER_BIN, args, { env: env(), timeoutMs: 30_000 });
  if (r.code !== 0) assert.fail(`docker ${args.join(' ')} exited ${r.code ?? r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

describe('docker context', { timeout: 120_000 }, () => {
  before(async () => {
    await agent.ready;
    config = await mkdtemp(join(tmpdir(), 'berth-docker-context-'));
  });
  after(async () => {
    if (config) await rm(config, { recursive: true, force: true });
  });

  test('create berth and use it: the CLI with no DOCKER_HOST reaches the engine', async () => {
    const created = await docker(['context', 'create', 'berth', '--description', 'Berth', '--docker', `host=${agent.current.host}`]);
    assert.equal(created.stdout.trim(), 'berth');
    await docker(['context', 'use', 'berth']);
    const cfg = JSON.parse(await readFile(join(config, 'config.json'), 'utf8')) as { currentContext?: string };
    assert.equal(cfg.currentContext, 'berth');

    const ls = await docker(['context', 'ls', '--format', '{{.Name}} {{.Current}} {{.DockerEndpoint}}']);
    assert.ok(ls.stdout.split('\n').includes(`berth true ${agent.current.host}`), ls.stdout);

    const version = await docker(['version', '--format', '{{.Server.Platform.Name}} {{.Server.APIVersion}}']);
    assert.equal(version.stdout.trim(), 'Berth Engine 1.47');
    const info = await docker(['info', '--format', '{{.DockerRootDir}}']);
    assert.equal(info.stdout.trim(), agent.current.dataRoot);
  });

  test('docker-compose 1.29 follows the current context too', { skip: !existsSync(COMPOSE_BIN) && `${COMPOSE_BIN} is missing` }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-compose-context-'));
    try {
      await writeFile(join(dir, 'docker-compose.yml'), 'version: "3.8"\nservices:\n  app:\n    image: none/such:latest\n');
      const r = await runCommand(COMPOSE_BIN, ['--verbose', 'ps'], { cwd: dir, env: env(), timeoutMs: 60_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /Docker version: Platform=\{'Name': 'Berth Engine'\}/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

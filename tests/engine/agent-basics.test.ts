/**
 * The agent as a process: its socket is private, it refuses to share a
 * socket with a live engine, replaces a stale one, streams events live and
 * stops cleanly on SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AGENT_MAIN, useAgent } from '../helpers/agent.js';
import { DockerCli } from '../helpers/docker.js';
import { buildBusyboxImage, dockerArchive } from '../helpers/test-images.js';

const agent = useAgent();
let docker: DockerCli;
let dir: string;

before(async () => {
  await agent.ready;
  docker = new DockerCli(agent.current.socket);
  dir = await mkdtemp(join(tmpdir(), 'berth-basics-'));
});
after(async () => {
  docker?.dispose();
  await rm(dir, { recursive: true, force: true });
});

/** Runs the agent binary to completion (for the cases where it must exit). */
function runAgent(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [AGENT_MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => c.kill('SIGKILL'), 20_000);
    c.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

test('the engine socket is 0600: only its owner can drive the engine', () => {
  const st = statSync(agent.current.socket);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o600);
});

test('a second agent on a live socket refuses to start and says why', async () => {
  const r = await runAgent(['--host', `unix://${agent.current.socket}`, '--data-root', join(dir, 'other')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /another engine is already serving .*docker\.sock: stop it first, or choose another --host/);
  // The first agent still serves.
  await docker.ok(['version']);
});

test('a stale socket left by a crash is replaced', async () => {
  const sock = join(dir, 'stale.sock');
  const s = createServer();
  await new Promise<void>((r) => s.listen(sock, r));
  // Close without unlinking, as a killed process would leave it.
  (s as unknown as { _handle: { close(): void } })._handle.close();
  const child = spawn(process.execPath, [AGENT_MAIN, '--host', `unix://${sock}`, '--data-root', join(dir, 'stale-data')], { stdio: 'ignore' });
  try {
    const cli = new DockerCli(sock);
    let ok = false;
    for (let i = 0; i < 100 && !ok; i++) {
      ok = (await cli.run(['version'])).code === 0;
      if (!ok) await new Promise((r) => setTimeout(r, 100));
    }
    cli.dispose();
    assert.ok(ok, 'the agent took over the stale socket');
  } finally {
    child.kill('SIGTERM');
  }
});

test('bad flags are refused with usage', async () => {
  const r = await runAgent(['--host', 'tcp://0.0.0.0:2375', '--data-root', join(dir, 'x')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--host must be unix:\/\/\/PATH/);
});

test('docker events follows live events', async () => {
  const img = await buildBusyboxImage({ layerCount: 1, labels: { events: 'live' } });
  const file = join(dir, 'ev.tar');
  await dockerArchive(img, ['events/live:1'], file);
  const events = docker.run(['events', '--format', '{{.Type}} {{.Action}} {{.Actor.ID}}', '--filter', 'type=image'], { timeoutMs: 4000 });
  await new Promise((r) => setTimeout(r, 500));
  await docker.ok(['load', '-i', file]);
  await docker.ok(['tag', 'events/live:1', 'events/live:2']);
  const r = await events; // ends by its timeout: events streams until stopped
  assert.ok(r.timedOut);
  assert.match(r.stdout, new RegExp(`image load ${img.config.digest}`));
  assert.match(r.stdout, new RegExp(`image tag ${img.config.digest}`));
});

test('SIGTERM stops the agent with status 0', async () => {
  const sock = join(dir, 'term.sock');
  const child = spawn(process.execPath, [AGENT_MAIN, '--host', `unix://${sock}`, '--data-root', join(dir, 'term-data')], { stdio: 'ignore' });
  const cli = new DockerCli(sock);
  try {
    for (let i = 0; i < 100 && (await cli.run(['version'])).code !== 0; i++) await new Promise((r) => setTimeout(r, 100));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    cli.dispose();
  }
});

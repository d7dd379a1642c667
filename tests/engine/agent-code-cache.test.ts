/**
 * The agent's loader (dist/main.cjs) and V8's code cache beside its bundle:
 * a cache made with BERTH_AGENT_CODE_CACHE_OUT (as the guest image's build
 * does) is taken silently, and is the same bytes each time; one V8 rejects is
 * said once and the agent still starts, compiled from source.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { AGENT_MAIN } from '../helpers/agent.js';

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-code-cache-'));
  // the loader and its bundle alone, as in the guest (/opt/berth)
  for (const f of ['main.cjs', 'agent.cjs']) copyFileSync(join(dirname(AGENT_MAIN), f), join(dir, f));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function run(args: string[], env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [...nodeArgs, join(dir, 'main.cjs'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH, ...env },
    });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    c.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => c.kill('SIGKILL'), 60_000);
    c.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Makes a cache as resources/vm/lib/code-cache.mjs does (with this node). */
async function makeCache(name: string, nodeArgs: string[] = []): Promise<Buffer> {
  const out = join(dir, `${name}.cache`);
  const r = await run(['--version'], { BERTH_AGENT_CODE_CACHE_OUT: out, BERTH_AGENT_CODE_CACHE_NAME: '/opt/berth/agent.cjs' }, nodeArgs);
  assert.equal(r.code, 0, r.stderr);
  return readFileSync(out);
}

test('a cache the loader made is taken without a word, and the agent starts', async () => {
  const cache = await makeCache('made');
  assert.ok(cache.length > 100_000, `a cache of ${cache.length} bytes holds little of a ~2 MB bundle`);
  writeFileSync(join(dir, 'agent.cjs.cache'), cache);
  const r = await run(['--version']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^berth-agent \d/);
  assert.equal(r.stderr, '');
});

test('a cache V8 rejects is said once, and the agent starts compiled from source', async () => {
  writeFileSync(join(dir, 'agent.cjs.cache'), Buffer.alloc(4096, 7));
  const r = await run(['--version']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^berth-agent \d/);
  assert.equal(r.stderr.match(/code cache .*agent\.cjs\.cache does not fit this node/g)?.length, 1, r.stderr);
});

test('without a cache the agent starts as before; making one twice gives the same bytes', async () => {
  await rm(join(dir, 'agent.cjs.cache'), { force: true });
  const r = await run(['--version']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  // V8's string hashes follow --random-seed, which the image's build fixes (the guest image is reproducible)
  const [a, b] = await Promise.all([makeCache('a', ['--random-seed=1']), makeCache('b', ['--random-seed=1'])]);
  assert.ok(a.equals(b), 'two caches of the same bundle and node differ');
  assert.ok(!existsSync(join(dir, 'agent.cjs.cache')), 'making a cache writes only where it is told');
});

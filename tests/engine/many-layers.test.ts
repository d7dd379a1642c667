/**
 * Images with many layers run, as on dockerd (whose overlay2 stacks 125):
 * the overlay's options name each lower layer by a short descriptor path
 * instead of its ~90-byte store path, which filled the kernel's one page of
 * mount options at about 40 layers. A 100-step build (its RUN mounts 101
 * lowers) and a run of the result.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();
let dir: string | undefined;
after(async () => {
  await fx.docker?.run(['rmi', '-f', 'many-layers:100']);
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a 100-layer image builds and runs', { timeout: 300_000 }, async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-layers-'));
  const steps = [`FROM ${fx.image}`];
  for (let i = 1; i <= 100; i++) {
    await writeFile(join(dir, `f${i}`), `${i}\n`);
    steps.push(`COPY f${i} /layers/f${i}`);
  }
  steps.push('RUN cat /layers/f1 /layers/f100 > /both');
  await writeFile(join(dir, 'Dockerfile'), steps.join('\n') + '\n');
  const b = await fx.docker.run(['build', '-q', '-t', 'many-layers:100', dir], { env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 240_000 });
  assert.equal(b.code, 0, `build failed:\n${b.stdout}\n${b.stderr}`);
  const layers = Number(out(await fx.docker.ok(['inspect', '--format', '{{len .RootFS.Layers}}', 'many-layers:100'])));
  assert.ok(layers >= 100, `expected at least 100 layers, got ${layers}`);
  const r = await fx.docker.ok(['run', '--rm', 'many-layers:100', 'sh', '-c', 'ls /layers | wc -l; cat /both']);
  assert.equal(out(r), '100\n1\n100');
});

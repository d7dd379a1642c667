/**
 * A container's filesystem with the real docker CLI: diff, commit, cp in
 * both directions (running and stopped), and cp that cannot leave the
 * container through symlinks or `..`.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { assertServing, out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-cp-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('diff lists added, changed and deleted paths', async () => {
  await fx.docker.ok(['run', '--name', 'changed', fx.image, 'sh', '-c', 'echo new > /tmp/added.txt; rm /www/index.html; mkdir -p /data/sub']);
  const lines = out(await fx.docker.ok(['diff', 'changed']))
    .split('\n')
    .sort();
  assert.deepEqual(lines, ['A /data', 'A /data/sub', 'A /tmp/added.txt', 'C /tmp', 'C /www', 'D /www/index.html']);
});

test('commit makes an image with the changes and the container config', async () => {
  const id = out(await fx.docker.ok(['commit', '-m', 'snapshot', 'changed', 'committed:v1']));
  assert.match(id, /^sha256:[a-f0-9]{64}$/);
  const r = await fx.docker.ok(['run', '--rm', 'committed:v1', 'sh', '-c', 'cat /tmp/added.txt; ls /www | wc -l; ls -d /data/sub']);
  assert.equal(out(r), 'new\n0\n/data/sub');
  const history = out(await fx.docker.ok(['history', '--format', '{{.Comment}}', 'committed:v1'])).split('\n');
  assert.equal(history[0], 'snapshot');
  const rmi = await fx.docker.run(['rmi', fx.image]);
  assert.notEqual(rmi.code, 0, 'an image a container uses is not deleted');
  await fx.docker.ok(['rm', 'changed']);
});

test('cp into and out of a running and a stopped container', async () => {
  await writeFile(join(dir, 'in.txt'), 'from the host\n');
  await mkdir(join(dir, 'tree/sub'), { recursive: true });
  await writeFile(join(dir, 'tree/sub/f'), 'deep\n');
  await fx.docker.ok(['run', '-d', '--name', 'cpbox', fx.image, 'sleep', '1000']);
  await fx.docker.ok(['cp', join(dir, 'in.txt'), 'cpbox:/tmp/']);
  await fx.docker.ok(['cp', join(dir, 'tree'), 'cpbox:/tree']);
  const seen = await fx.docker.ok(['exec', 'cpbox', 'sh', '-c', 'cat /tmp/in.txt /tree/sub/f']);
  assert.equal(seen.stdout, 'from the host\ndeep\n');
  await fx.docker.ok(['exec', 'cpbox', 'sh', '-c', 'echo made inside > /tmp/out.txt']);
  await fx.docker.ok(['cp', 'cpbox:/tmp/out.txt', join(dir, 'out.txt')]);
  assert.equal(await readFile(join(dir, 'out.txt'), 'utf8'), 'made inside\n');
  await fx.docker.ok(['stop', '-t', '0', 'cpbox']);
  await fx.docker.ok(['cp', 'cpbox:/tree', join(dir, 'back')]);
  assert.equal(await readFile(join(dir, 'back/sub/f'), 'utf8'), 'deep\n');
  await fx.docker.ok(['cp', join(dir, 'in.txt'), 'cpbox:/stopped.txt']);
  await fx.docker.ok(['start', 'cpbox']);
  assert.equal(out(await fx.docker.ok(['exec', 'cpbox', 'cat', '/stopped.txt'])), 'from the host');
  const missing = await fx.docker.run(['cp', 'cpbox:/nope', join(dir, 'x')]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /Could not find the file \/nope in container cpbox/);
  await fx.docker.ok(['rm', '-f', 'cpbox']);
  await assertServing(fx);
});

test('cp follows symlinks inside the container only', async () => {
  const marker = join(dir, 'host-secret');
  await writeFile(marker, 'host only\n');
  // A link to the host path, as absolute: inside the container it resolves under its own root.
  await fx.docker.ok([
    'run',
    '--name',
    'linky',
    fx.image,
    'sh',
    '-c',
    `mkdir -p ${dir}; echo container > ${marker}; ln -s / /tmp/root; ln -s ../../../../../.. /tmp/up`,
  ]);
  await fx.docker.ok(['cp', `linky:/tmp/root${marker}`, join(dir, 'got1')]);
  assert.equal(await readFile(join(dir, 'got1'), 'utf8'), 'container\n');
  await fx.docker.ok(['cp', `linky:/tmp/up${marker}`, join(dir, 'got2')]);
  assert.equal(await readFile(join(dir, 'got2'), 'utf8'), 'container\n');
  await mkdir(join(dir, 'src'));
  await writeFile(join(dir, 'src/payload'), 'written\n');
  await fx.docker.ok(['cp', join(dir, 'src/payload'), `linky:/tmp/up${dir}/`]);
  assert.ok(!existsSync(join(dir, 'payload')), 'cp wrote through a symlink onto the host');
  await fx.docker.ok(['cp', `linky:${dir}/payload`, join(dir, 'got3')]);
  assert.equal(await readFile(join(dir, 'got3'), 'utf8'), 'written\n');
  assert.equal(await readFile(marker, 'utf8'), 'host only\n');
  await fx.docker.ok(['rm', '-f', 'linky']);
});

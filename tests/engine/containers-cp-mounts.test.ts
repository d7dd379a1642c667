/**
 * `docker cp` sees the container's filesystem as its processes do: volumes,
 * binds and the /etc files Berth binds in, running or stopped, as dockerd
 * resolves paths through the container's mount points. Read-only volumes
 * and a read-only rootfs refuse writes with dockerd's words, and a mount
 * point is never removed to make room for an entry.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();
let dir: string;
const names = ['cpvol', 'cpro', 'cpreadonly'];
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-cpm-'));
});
after(async () => {
  for (const n of names) await fx.docker?.run(['rm', '-f', '-v', n]);
  await fx.docker?.run(['volume', 'rm', '-f', 'cpvol-data']);
  await rm(dir, { recursive: true, force: true });
});

test('cp reaches into a named volume and a bind, running and stopped', async () => {
  const bind = join(dir, 'bind');
  await mkdir(bind);
  await writeFile(join(bind, 'host.txt'), 'on the host\n');
  await writeFile(join(dir, 'in.txt'), 'copied in\n');
  await fx.docker.ok([
    'run',
    '-d',
    '--name',
    'cpvol',
    '-v',
    'cpvol-data:/data',
    '-v',
    `${bind}:/bind`,
    fx.image,
    'sh',
    '-c',
    'echo made inside > /data/made.txt; ln -s /etc/hostname /data/hn; sleep 1000',
  ]);
  await fx.docker.ok(['exec', 'cpvol', 'test', '-e', '/data/made.txt']);

  // out of the volume and the bind
  await fx.docker.ok(['cp', 'cpvol:/data/made.txt', join(dir, 'made.txt')]);
  assert.equal(await readFile(join(dir, 'made.txt'), 'utf8'), 'made inside\n');
  await fx.docker.ok(['cp', 'cpvol:/bind/host.txt', join(dir, 'back.txt')]);
  assert.equal(await readFile(join(dir, 'back.txt'), 'utf8'), 'on the host\n');
  // a symlink in the volume to /etc/hostname means the container's, with -L
  await fx.docker.ok(['cp', '-L', 'cpvol:/data/hn', join(dir, 'hn')]);
  const hostname = out(await fx.docker.ok(['exec', 'cpvol', 'hostname']));
  assert.equal((await readFile(join(dir, 'hn'), 'utf8')).trim(), hostname);

  // into them: the container sees the files (before the fix cp said it worked and nothing appeared)
  await fx.docker.ok(['cp', join(dir, 'in.txt'), 'cpvol:/data/']);
  await fx.docker.ok(['cp', join(dir, 'in.txt'), 'cpvol:/bind/in.txt']);
  assert.equal((await fx.docker.ok(['exec', 'cpvol', 'cat', '/data/in.txt', '/bind/in.txt'])).stdout, 'copied in\ncopied in\n');
  assert.equal(await readFile(join(bind, 'in.txt'), 'utf8'), 'copied in\n');

  // a directory above a mount point carries the mount's content, as the container sees it
  await fx.docker.ok(['cp', 'cpvol:/data', join(dir, 'datadir')]);
  assert.deepEqual((await readdir(join(dir, 'datadir'))).sort(), ['hn', 'in.txt', 'made.txt']);

  // stopped: the same paths
  await fx.docker.ok(['stop', '-t', '0', 'cpvol']);
  await writeFile(join(dir, 'later.txt'), 'while stopped\n');
  await fx.docker.ok(['cp', join(dir, 'later.txt'), 'cpvol:/data/later.txt']);
  await fx.docker.ok(['cp', 'cpvol:/data/made.txt', join(dir, 'made2.txt')]);
  assert.equal(await readFile(join(dir, 'made2.txt'), 'utf8'), 'made inside\n');
  await fx.docker.ok(['start', 'cpvol']);
  assert.equal(out(await fx.docker.ok(['exec', 'cpvol', 'cat', '/data/later.txt'])), 'while stopped');
});

test('cp refuses read-only volumes and a read-only rootfs, and never replaces a mount point', async () => {
  const ro = join(dir, 'ro');
  await mkdir(ro);
  await writeFile(join(ro, 'keep.txt'), 'keep\n');
  await writeFile(join(dir, 'f.txt'), 'x\n');
  await fx.docker.ok(['run', '-d', '--name', 'cpro', '-v', `${ro}:/ro:ro`, fx.image, 'sleep', '1000']);
  const r = await fx.docker.run(['cp', join(dir, 'f.txt'), 'cpro:/ro/']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /mounted volume is marked read-only/);
  assert.deepEqual(await readdir(ro), ['keep.txt']);
  // reading it works
  await fx.docker.ok(['cp', 'cpro:/ro/keep.txt', join(dir, 'keep-out.txt')]);

  // a file named like the bind's mount point must not remove the user's directory
  await writeFile(join(dir, 'ro-file'), 'not a dir\n');
  await mkdir(join(dir, 'tarsrc'));
  await writeFile(join(dir, 'tarsrc', 'ro'), 'a file where the bind is\n');
  const clash = await fx.docker.run(['cp', join(dir, 'tarsrc', 'ro'), 'cpro:/']);
  assert.notEqual(clash.code, 0);
  assert.deepEqual(await readdir(ro), ['keep.txt']);

  await fx.docker.ok(['run', '-d', '--name', 'cpreadonly', '--read-only', '-v', 'cpvol-data:/data', fx.image, 'sleep', '1000']);
  const rr = await fx.docker.run(['cp', join(dir, 'f.txt'), 'cpreadonly:/tmp/']);
  assert.notEqual(rr.code, 0);
  assert.match(rr.stderr, /container rootfs is marked read-only/);
  // the writable volume of a read-only container takes files
  await fx.docker.ok(['cp', join(dir, 'f.txt'), 'cpreadonly:/data/f.txt']);
  assert.equal(out(await fx.docker.ok(['exec', 'cpreadonly', 'cat', '/data/f.txt'])), 'x');
});

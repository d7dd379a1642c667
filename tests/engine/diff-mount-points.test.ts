/**
 * The runtime's mount points in `docker diff` and in the layer `docker
 * commit` makes, against what dockerd 20.10 showed for the same containers
 * (an image of /bin only, and one with /sbin and /etc):
 *
 *   run IMG true                       diff: nothing        commit layer: empty
 *   run --init IMG true (no /sbin)     A /sbin, A /sbin/docker-init (0755, empty)
 *   run --init IMG2 true (has /sbin)   C /sbin, A /sbin/docker-init
 *   run IMG sh -c 'echo x > /etc/foo'  C /etc, A /etc/foo   commit layer: etc/, etc/foo
 *
 * /etc/hosts, /etc/hostname, /etc/resolv.conf, /dev, /proc, /sys and the
 * /etc that holds them live in dockerd's init layer, so they are no change;
 * --init's /sbin/docker-init is made in the container's own layer there, as
 * here.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import * as tar from 'tar-stream';
import { busyboxBinary, makeTar, type Entry } from '../helpers/test-images.js';
import { out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();

/** Path, type and mode of each entry of a tar. */
async function entries(archive: Buffer): Promise<Map<string, { type: string; mode: number; body: Buffer }>> {
  const found = new Map<string, { type: string; mode: number; body: Buffer }>();
  const ex = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        found.set(h.name.replace(/^\.\//, '').replace(/\/$/, ''), { type: h.type ?? 'file', mode: (h.mode ?? 0) & 0o7777, body: Buffer.concat(chunks) });
        next();
      });
      stream.resume();
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  Readable.from([archive]).pipe(ex);
  await done;
  return found;
}

describe('mount points in docker diff and commit', () => {
  let dir: string;
  const bin: Entry[] = [
    { path: 'bin/busybox', content: busyboxBinary(), mode: 0o755 },
    ...['sh', 'true', 'echo', 'mkdir'].map((a): Entry => ({ path: `bin/${a}`, type: 'symlink', target: 'busybox' })),
  ];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-mount-points-'));
    await fx.docker.ok(['import', '-', 'mountpoints/bin-only'], { input: await makeTar(bin) });
    await fx.docker.ok(['import', '-', 'mountpoints/sbin'], {
      input: await makeTar([...bin, { path: 'sbin', type: 'dir' }, { path: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\n' }]),
    });
  });
  after(async () => {
    await fx.docker?.run(['rm', '-f', 'mp-plain', 'mp-init', 'mp-init-sbin', 'mp-etc']);
    await fx.docker?.run(['rmi', 'mp/plain', 'mp/init', 'mp/etc', 'mountpoints/bin-only', 'mountpoints/sbin']);
    await rm(dir, { recursive: true, force: true });
  });

  const diff = async (name: string) =>
    out(await fx.docker.ok(['diff', name]))
      .split('\n')
      .filter(Boolean);

  /** The entries of the layer `docker commit` made for `container` (the image's last layer, read from docker save). */
  async function committedLayer(container: string, image: string) {
    await fx.docker.ok(['commit', container, image]);
    const file = join(dir, `${container}.tar`);
    await fx.docker.ok(['save', '-o', file, image]);
    const saved = await entries(await readFile(file));
    const manifest = JSON.parse(saved.get('manifest.json')!.body.toString()) as { Layers: string[] }[];
    return entries(saved.get(manifest[0]!.Layers.at(-1)!)!.body);
  }

  test('a plain run of an image without /etc: no change, an empty layer', async () => {
    await fx.docker.ok(['run', '--name', 'mp-plain', 'mountpoints/bin-only', 'true']);
    assert.deepEqual(await diff('mp-plain'), []);
    assert.deepEqual([...(await committedLayer('mp-plain', 'mp/plain')).keys()], []);
  });

  test('--init: /sbin/docker-init is a change, as on dockerd, an empty 0755 file in the commit', async () => {
    await fx.docker.ok(['run', '--init', '--name', 'mp-init', 'mountpoints/bin-only', 'true']);
    assert.deepEqual(await diff('mp-init'), ['A /sbin', 'A /sbin/docker-init']);
    const layer = await committedLayer('mp-init', 'mp/init');
    assert.deepEqual([...layer.keys()], ['sbin', 'sbin/docker-init']);
    assert.deepEqual({ ...layer.get('sbin/docker-init'), body: layer.get('sbin/docker-init')!.body.length }, { type: 'file', mode: 0o755, body: 0 });
    await fx.docker.ok(['run', '--init', '--name', 'mp-init-sbin', 'mountpoints/sbin', 'true']);
    assert.deepEqual(await diff('mp-init-sbin'), ['C /sbin', 'A /sbin/docker-init']);
  });

  test('a file written under /etc of an image without /etc: C /etc, A /etc/foo; only those are committed', async () => {
    await fx.docker.ok(['run', '--name', 'mp-etc', 'mountpoints/bin-only', 'sh', '-c', 'mkdir -p /etc && echo x > /etc/foo']);
    assert.deepEqual(await diff('mp-etc'), ['C /etc', 'A /etc/foo']);
    assert.deepEqual([...(await committedLayer('mp-etc', 'mp/etc')).keys()], ['etc', 'etc/foo']);
  });
});

/**
 * Volumes and mounts over the docker CLI: named volumes (create, ls filters,
 * inspect, rm, prune), data kept across containers and an agent restart,
 * a volume filled from the image on first use, anonymous volumes from
 * VOLUME and `-v /path` (gone with `rm -v` and `--rm`), bind mounts (rw,
 * `:ro`, a missing source), tmpfs, --read-only, a volume in use (409),
 * `system df`, and nothing left behind.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { engineRequest } from '../helpers/docker.js';
import { buildBusyboxImage, makeBlob, pushImage, type BuiltImage } from '../helpers/test-images.js';
import { inspect, out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();
const run = randomBytes(3).toString('hex');
const hostDir = mkdtempSync(join(tmpdir(), 'berth-bind-'));

/** A busybox image with content at /seed and `VOLUME /seed`. */
async function imageWithVolume(): Promise<BuiltImage> {
  const img = await buildBusyboxImage({ extraFiles: { 'seed/hello.txt': 'from the image\n', 'seed/sub/deep.txt': 'deep\n' } });
  const configJson = { ...img.configJson, config: { ...img.configJson.config, Volumes: { '/seed': {} } } };
  const config = makeBlob(img.config.mediaType, Buffer.from(JSON.stringify(configJson)));
  const manifestJson = JSON.parse(img.manifest.bytes.toString()) as { config: object };
  manifestJson.config = { mediaType: config.mediaType, digest: config.digest, size: config.size };
  const manifest = makeBlob(img.manifest.mediaType, Buffer.from(JSON.stringify(manifestJson)));
  return { ...img, config, configJson: configJson as BuiltImage['configJson'], manifest };
}

after(async () => {
  await fx.docker?.run(['rm', '-f', '-v', `anon-${run}`, `busy-${run}`]);
  await fx.docker?.run(['volume', 'rm', '-f', `data-${run}`, `pop-${run}`, `busyvol-${run}`, `lab-${run}`, `keep-${run}`]);
  rmSync(hostDir, { recursive: true, force: true });
});

async function volumeNames(): Promise<string[]> {
  return out(await fx.docker.ok(['volume', 'ls', '-q']))
    .split('\n')
    .filter(Boolean);
}

describe('volumes', () => {
  test('create, inspect, ls with filters, rm', async () => {
    const d = fx.docker;
    await d.ok(['volume', 'create', '--label', 'team=berth', `lab-${run}`]);
    const v = await inspect<{ Name: string; Driver: string; Mountpoint: string; Labels: Record<string, string>; Scope: string; CreatedAt: string }>(
      d,
      `lab-${run}`,
    );
    assert.equal(v.Driver, 'local');
    assert.equal(v.Scope, 'local');
    assert.deepEqual(v.Labels, { team: 'berth' });
    assert.equal(v.Mountpoint, join(fx.agent.current.dataRoot, 'volumes', `lab-${run}`, '_data'));
    assert.ok(existsSync(v.Mountpoint));
    assert.match(v.CreatedAt, /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(out(await d.ok(['volume', 'ls', '-q', '--filter', 'label=team=berth'])).split('\n'), [`lab-${run}`]);
    assert.equal(out(await d.ok(['volume', 'ls', '-q', '--filter', `name=lab-${run}`, '--filter', 'dangling=false'])), '');
    assert.equal(out(await d.ok(['volume', 'ls', '-q', '--filter', `name=lab-${run}`, '--filter', 'dangling=true'])), `lab-${run}`);
    await d.ok(['volume', 'rm', `lab-${run}`]);
    assert.equal(existsSync(v.Mountpoint), false);
    const missing = await d.run(['volume', 'inspect', `lab-${run}`]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, new RegExp(`no such volume`));
    const bad = await d.run(['volume', 'create', 'bad/name']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /includes invalid characters for a local volume name/);
  });

  test('data written to a named volume survives rm of the container and an agent restart', async () => {
    const d = fx.docker;
    await d.ok(['run', '--rm', '-v', `data-${run}:/data`, fx.image, 'sh', '-c', 'echo kept > /data/note && mkdir -p /data/dir']);
    assert.equal(out(await d.ok(['run', '--rm', '-v', `data-${run}:/data`, fx.image, 'cat', '/data/note'])), 'kept');
    await fx.agent.current.restart();
    assert.ok((await volumeNames()).includes(`data-${run}`));
    assert.equal(out(await d.ok(['run', '--rm', '-v', `data-${run}:/data:ro`, fx.image, 'cat', '/data/note'])), 'kept');
  });

  test('a new volume is filled from the image content at its path; anonymous volumes from VOLUME go with rm -v', async () => {
    const d = fx.docker;
    const img = await imageWithVolume();
    const volImage = `${fx.reg.domain}/test/volimg-${run}:latest`;
    await pushImage({ url: fx.reg.url }, `test/volimg-${run}`, 'latest', img);
    await d.ok(['pull', '-q', volImage]);

    assert.equal(out(await d.ok(['run', '--rm', '-v', `pop-${run}:/seed`, volImage, 'cat', '/seed/hello.txt', '/seed/sub/deep.txt'])), 'from the image\ndeep');
    const mp = (await inspect<{ Mountpoint: string }>(d, `pop-${run}`)).Mountpoint;
    assert.equal(readFileSync(join(mp, 'hello.txt'), 'utf8'), 'from the image\n');
    assert.equal(statSync(join(mp, 'hello.txt')).mode & 0o777, 0o644);
    // Not copied again over what is there.
    await d.ok(['run', '--rm', '-v', `pop-${run}:/seed`, volImage, 'sh', '-c', 'rm /seed/hello.txt']);
    assert.equal((await d.run(['run', '--rm', '-v', `pop-${run}:/seed`, volImage, 'cat', '/seed/hello.txt'])).code, 1);

    const before = await volumeNames();
    await d.ok(['run', '-d', '--name', `anon-${run}`, volImage, 'sleep', '300']);
    const mounts = await inspect<{ Type: string; Name: string; Source: string; Destination: string; Driver: string; RW: boolean }[]>(
      d,
      `anon-${run}`,
      '{{json .Mounts}}',
    );
    assert.equal(mounts.length, 1);
    assert.equal(mounts[0]!.Type, 'volume');
    assert.match(mounts[0]!.Name, /^[0-9a-f]{64}$/);
    assert.equal(mounts[0]!.Destination, '/seed');
    assert.equal(mounts[0]!.Driver, 'local');
    assert.equal(mounts[0]!.RW, true);
    assert.equal(out(await d.ok(['exec', `anon-${run}`, 'cat', '/seed/hello.txt'])), 'from the image');
    assert.ok((await volumeNames()).includes(mounts[0]!.Name));
    const inUse = await d.run(['volume', 'rm', mounts[0]!.Name]);
    assert.match(inUse.stderr, /volume is in use/);
    await d.ok(['rm', '-f', '-v', `anon-${run}`]);
    assert.deepEqual((await volumeNames()).sort(), before.sort());

    // --rm removes the anonymous volumes of -v /path and VOLUME, named ones stay.
    await d.ok(['run', '--rm', '-v', '/scratch', '-v', `pop-${run}:/named`, volImage, 'sh', '-c', 'echo x > /scratch/f']);
    assert.deepEqual((await volumeNames()).sort(), before.sort());
  });

  test('bind mounts: read-write, :ro refuses writes, -v creates a missing source, --mount refuses it', async () => {
    const d = fx.docker;
    writeFileSync(join(hostDir, 'in.txt'), 'from the host\n');
    const r = await d.ok(['run', '--rm', '-v', `${hostDir}:/mnt`, fx.image, 'sh', '-c', 'cat /mnt/in.txt && echo from-container > /mnt/out.txt']);
    assert.equal(r.stdout, 'from the host\n');
    assert.equal(readFileSync(join(hostDir, 'out.txt'), 'utf8'), 'from-container\n');

    const ro = await d.run(['run', '--rm', '-v', `${hostDir}:/mnt:ro`, fx.image, 'sh', '-c', 'cat /mnt/in.txt; echo x > /mnt/nope']);
    assert.notEqual(ro.code, 0);
    assert.match(ro.stdout, /from the host/);
    assert.match(ro.stderr, /Read-only file system/);
    assert.equal(existsSync(join(hostDir, 'nope')), false);

    const created = join(hostDir, 'made', 'by-v');
    await d.ok(['run', '--rm', '-v', `${created}:/x`, fx.image, 'true']);
    assert.ok(statSync(created).isDirectory());

    const missing = join(hostDir, 'absent');
    const refused = await d.run(['run', '--rm', '--mount', `type=bind,source=${missing},target=/x`, fx.image, 'true']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, new RegExp(`invalid mount config for type "bind": bind source path does not exist: ${missing}`));
    assert.equal(existsSync(missing), false);

    const viaMount = await d.ok(['run', '--rm', '--mount', `type=bind,source=${hostDir},target=/m,readonly`, fx.image, 'cat', '/m/in.txt']);
    assert.equal(viaMount.stdout, 'from the host\n');

    await d.ok([
      'run',
      '-d',
      '--name',
      `busy-${run}`,
      '-v',
      `${hostDir}:/b:ro`,
      '--mount',
      `type=volume,source=busyvol-${run},target=/v`,
      fx.image,
      'sleep',
      '300',
    ]);
    const mounts = await inspect<{ Type: string; Source: string; Destination: string; RW: boolean; Propagation: string; Mode: string; Name?: string }[]>(
      d,
      `busy-${run}`,
      '{{json .Mounts}}',
    );
    const bind = mounts.find((m) => m.Type === 'bind')!;
    assert.deepEqual([bind.Source, bind.Destination, bind.RW, bind.Propagation, bind.Mode], [hostDir, '/b', false, 'rprivate', 'ro']);
    assert.equal(mounts.find((m) => m.Type === 'volume')!.Name, `busyvol-${run}`);
    const hc = await inspect<{ Binds: string[]; Mounts: { Type: string; Source: string; Target: string }[] }>(d, `busy-${run}`, '{{json .HostConfig}}');
    assert.deepEqual(hc.Binds, [`${hostDir}:/b:ro`]);
    assert.equal(hc.Mounts[0]!.Target, '/v');
  });

  test('a volume in use can not be removed (409 naming the container); removable once the container is gone', async () => {
    const d = fx.docker;
    const id = out(await d.ok(['inspect', '--format', '{{.Id}}', `busy-${run}`]));
    const res = await engineRequest(fx.agent.current.socket, 'DELETE', `/volumes/busyvol-${run}`);
    assert.equal(res.status, 409);
    assert.equal(JSON.parse(res.body.toString()).message, `remove busyvol-${run}: volume is in use - [${id}]`);
    await d.ok(['stop', '-t', '0', `busy-${run}`]);
    const stopped = await d.run(['volume', 'rm', `busyvol-${run}`]);
    assert.match(stopped.stderr, /volume is in use/);
    await d.ok(['rm', `busy-${run}`]);
    await d.ok(['volume', 'rm', `busyvol-${run}`]);
  });

  test('tmpfs (--tmpfs and --mount type=tmpfs) and --read-only', async () => {
    const d = fx.docker;
    const r = await d.ok([
      'run',
      '--rm',
      '--tmpfs',
      '/scratch:size=1m,mode=1770',
      '--mount',
      'type=tmpfs,target=/t2,tmpfs-size=2097152',
      fx.image,
      'sh',
      '-c',
      'grep -E " /(scratch|t2) " /proc/mounts; stat -c %a /scratch; echo ok > /scratch/f && cat /scratch/f',
    ]);
    assert.match(r.stdout, /^tmpfs \/scratch tmpfs rw,nosuid,nodev,noexec,.*size=1024k,mode=1770/m);
    assert.match(r.stdout, /^tmpfs \/t2 tmpfs .*size=2048k/m);
    assert.match(r.stdout, /^1770$/m);
    assert.match(r.stdout, /^ok$/m);
    // Bigger than the tmpfs: refused by the kernel.
    const full = await d.run(['run', '--rm', '--tmpfs', '/s:size=64k', fx.image, 'dd', 'if=/dev/zero', 'of=/s/big', 'bs=1k', 'count=256']);
    assert.notEqual(full.code, 0);
    assert.match(full.stderr, /No space left on device/);

    const ro = await d.run(['run', '--rm', '--read-only', '--tmpfs', '/tmp', fx.image, 'sh', '-c', 'echo ok > /tmp/f && cat /tmp/f && touch /etc/nope']);
    assert.notEqual(ro.code, 0);
    assert.match(ro.stdout, /^ok$/m);
    assert.match(ro.stderr, /Read-only file system/);
  });

  test('prune removes unused anonymous volumes, --all the named ones too; system df lists volumes', async () => {
    const d = fx.docker;
    await d.ok(['volume', 'create', `keep-${run}`]);
    await d.ok(['run', '--rm', '-v', `keep-${run}:/k`, fx.image, 'sh', '-c', 'head -c 10000 /dev/zero > /k/blob']);
    const anon = out(await d.ok(['volume', 'create']));
    assert.match(anon, /^[0-9a-f]{64}$/);
    const df = await engineRequest(fx.agent.current.socket, 'GET', '/system/df');
    const vols = JSON.parse(df.body.toString()).Volumes as { Name: string; UsageData: { Size: number; RefCount: number } }[];
    assert.equal(vols.find((v) => v.Name === `keep-${run}`)!.UsageData.Size, 10000);
    assert.match(out(await d.ok(['system', 'df'])), /Local Volumes\s+\d+/);

    const pruned = await d.ok(['volume', 'prune', '-f']);
    assert.match(pruned.stdout, new RegExp(anon));
    const names = await volumeNames();
    assert.ok(!names.includes(anon));
    assert.ok(names.includes(`keep-${run}`));
    const all = await d.ok(['volume', 'prune', '-a', '-f']);
    assert.match(all.stdout, new RegExp(`keep-${run}`));
    assert.ok(!(await volumeNames()).includes(`keep-${run}`));
  });

  test('nothing is left mounted under the data root once containers are gone', async () => {
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((p) => p?.startsWith(fx.agent.current.dataRoot));
    assert.deepEqual(mounts, []);
  });
});

/**
 * Images through the real docker CLI against berth-agent, with images built
 * by an independent implementation and served by a real registry
 * (Debian's docker-registry). Asserts on what the CLI prints and on the
 * store on disk.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, mkdtemp, rm } from 'node:fs/promises';
import { release, tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { useAgent } from '../helpers/agent.js';
import { DockerCli, engineRequest } from '../helpers/docker.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { buildBusyboxImage, buildIndex, dockerArchive, pushImage, pushIndex, type BuiltImage } from '../helpers/test-images.js';

const agent = useAgent();
let reg: TestRegistry;
let docker: DockerCli;
let work: string;
let busybox: BuiltImage;
let busyboxRef: string;

const hex = (d: string) => d.replace('sha256:', '');

before(async () => {
  await agent.ready;
  reg = await startRegistry();
  docker = new DockerCli(agent.current.socket);
  work = await mkdtemp(join(tmpdir(), 'berth-images-cli-'));
  busybox = await buildBusyboxImage({ layerCount: 3, labels: { 'org.berth.test': 'yes' } });
  busyboxRef = (await pushImage({ url: reg.url }, 'test/busybox', 'latest', busybox)).ref;
});

after(async () => {
  docker?.dispose();
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('system', () => {
  test('version negotiates the API and names the engine', async () => {
    const r = await docker.ok(['version', '--format', '{{.Server.APIVersion}} {{.Server.Os}} {{.Client.APIVersion}}']);
    assert.equal(r.stdout.trim(), '1.47 linux 1.47');
  });

  test('info reports real figures', async () => {
    const r = await docker.ok(['info', '--format', '{{json .}}']);
    const info = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(info.KernelVersion, release());
    assert.equal(info.NCPU, cpus().length);
    assert.equal(info.DockerRootDir, agent.current.dataRoot);
    assert.equal(info.OSType, 'linux');
    assert.ok(Number(info.MemTotal) > 0);
    assert.equal(typeof info.Images, 'number');
  });
});

describe('pull and list', () => {
  test('pull by tag stores every layer and names the image', async () => {
    const r = await docker.ok(['pull', busyboxRef]);
    assert.match(r.stdout, /latest: Pulling from test\/busybox/);
    for (const l of busybox.layers) assert.match(r.stdout, new RegExp(`${hex(l.digest).slice(0, 12)}: Pull complete`));
    assert.match(r.stdout, new RegExp(`Digest: ${busybox.manifest.digest}`));
    assert.match(r.stdout, /Status: Downloaded newer image for 127\.0\.0\.1:\d+\/test\/busybox:latest/);
    // On disk: one unpacked directory per diff ID, blobs by digest.
    const root = join(agent.current.dataRoot, 'images');
    for (const d of busybox.diffIds) assert.ok(existsSync(join(root, 'layers', hex(d), 'diff')), `layer ${d} unpacked`);
    for (const l of busybox.layers) assert.ok(existsSync(join(root, 'blobs/sha256', hex(l.digest))), `blob ${l.digest}`);
    assert.ok(existsSync(join(root, 'layers', hex(busybox.diffIds[0]!), 'diff/bin/busybox')));
  });

  test('pulling again is up to date and fetches no layer', async () => {
    const r = await docker.ok(['pull', busyboxRef]);
    assert.match(r.stdout, /Status: Image is up to date for/);
    assert.doesNotMatch(r.stdout, /Pull complete/);
  });

  test('images lists it with ID, digests, -q and filters', async () => {
    const id = hex(busybox.config.digest).slice(0, 12);
    const table = await docker.ok(['images']);
    assert.match(table.stdout, new RegExp(`127\\.0\\.0\\.1:\\d+/test/busybox\\s+latest\\s+${id}`));
    const q = await docker.ok(['images', '-q']);
    assert.deepEqual(q.stdout.trim().split('\n'), [id]);
    const dig = await docker.ok(['images', '--digests', '--format', '{{.Digest}}']);
    assert.equal(dig.stdout.trim(), busybox.manifest.digest);
    const ref = await docker.ok(['images', '--filter', `reference=*/test/busy*`, '--format', '{{.Repository}}:{{.Tag}}']);
    assert.equal(ref.stdout.trim(), busyboxRef);
    const none = await docker.ok(['images', '--filter', 'reference=nothing*', '-q']);
    assert.equal(none.stdout.trim(), '');
    const all = await docker.ok(['images', '--all', '-q']);
    assert.ok(all.stdout.includes(id));
  });

  test('image inspect shows dockerd fields', async () => {
    const r = await docker.ok(['image', 'inspect', busyboxRef]);
    const [img] = JSON.parse(r.stdout) as Array<Record<string, any>>;
    assert.equal(img!.Id, busybox.config.digest);
    assert.deepEqual(img!.RepoTags, [busyboxRef]);
    assert.deepEqual(img!.RepoDigests, [`${busyboxRef.replace(/:latest$/, '')}@${busybox.manifest.digest}`]);
    assert.deepEqual(img!.RootFS.Layers, busybox.diffIds);
    assert.deepEqual(img!.Config.Cmd, ['sh']);
    assert.equal(img!.Config.Labels['org.berth.test'], 'yes');
    assert.equal(img!.Os, 'linux');
    const f = await docker.ok(['image', 'inspect', '--format', '{{.Architecture}} {{len .RootFS.Layers}}', busyboxRef]);
    assert.equal(f.stdout.trim(), 'amd64 3');
  });

  test('history shows each step, newest first', async () => {
    const r = await docker.ok(['history', '--no-trunc', '--format', '{{.ID}}|{{.CreatedBy}}', busyboxRef]);
    const rows = r.stdout.trim().split('\n');
    assert.equal(rows.length, 4);
    assert.equal(rows[0], `${busybox.config.digest}|CMD ["sh"]`);
    assert.equal(rows[3], '<missing>|berth test layer 1');
  });

  test('a multi-arch index resolves to the engine platform', async () => {
    const amd = await buildBusyboxImage({ layerCount: 1, format: 'oci', labels: { arch: 'amd64' } });
    const arm = await buildBusyboxImage({ layerCount: 1, format: 'oci', architecture: 'arm64', variant: 'v8', labels: { arch: 'arm64' } });
    const idx = buildIndex([arm, amd], 'oci');
    await pushIndex({ url: reg.url }, 'test/multi', 'v1', [arm, amd], idx);
    const r = await docker.ok(['pull', `${reg.domain}/test/multi:v1`]);
    assert.match(r.stdout, new RegExp(`Digest: ${idx.digest}`));
    const id = await docker.ok(['image', 'inspect', '--format', '{{.Id}} {{.Architecture}}', `${reg.domain}/test/multi:v1`]);
    assert.equal(id.stdout.trim(), `${amd.config.digest} amd64`);
  });

  test('pull by digest names the image by digest only', async () => {
    const img = await buildBusyboxImage({ layerCount: 1, labels: { by: 'digest' } });
    const pushed = await pushImage({ url: reg.url }, 'test/bydigest', 'x', img);
    await docker.ok(['pull', pushed.digestRef]);
    const r = await docker.ok(['images', '--digests', '--format', '{{.Repository}} {{.Tag}} {{.Digest}}', `${reg.domain}/test/bydigest`]);
    assert.equal(r.stdout.trim(), `${reg.domain}/test/bydigest <none> ${img.manifest.digest}`);
  });
});

describe('tag, rmi and prune', () => {
  test('tag adds a name; rmi of one of two names only untags', async () => {
    await docker.ok(['tag', busyboxRef, 'berth/mine:v1']);
    const r = await docker.ok(['image', 'inspect', '--format', '{{json .RepoTags}}', 'berth/mine:v1']);
    assert.deepEqual(JSON.parse(r.stdout).sort(), ['berth/mine:v1', busyboxRef].sort());
    const rm1 = await docker.ok(['rmi', 'berth/mine:v1']);
    assert.equal(rm1.stdout.trim(), 'Untagged: berth/mine:v1');
    await docker.ok(['image', 'inspect', busyboxRef]);
  });

  test('rmi by ID with names in several repositories needs -f', async () => {
    await docker.ok(['tag', busyboxRef, 'berth/other:v1']);
    const id = hex(busybox.config.digest).slice(0, 12);
    const r = await docker.run(['rmi', id]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`conflict: unable to delete ${id} \\(must be forced\\) - image is referenced in multiple repositories`));
    await docker.ok(['image', 'inspect', busyboxRef]);
    await docker.ok(['rmi', 'berth/other:v1']);
  });

  test('rmi of the last name deletes the image and its layers', async () => {
    const img = await buildBusyboxImage({ layerCount: 2, extraFiles: { 'only-here.txt': 'unique\n' } });
    const pushed = await pushImage({ url: reg.url }, 'test/doomed', 'latest', img);
    await docker.ok(['pull', pushed.ref]);
    const uniqueLayer = img.diffIds[1]!;
    const dir = join(agent.current.dataRoot, 'images/layers', hex(uniqueLayer));
    assert.ok(existsSync(dir));
    const r = await docker.ok(['rmi', pushed.ref]);
    assert.match(r.stdout, new RegExp(`Untagged: ${pushed.ref.replace(/[.]/g, '\\.')}`));
    assert.match(r.stdout, new RegExp(`Deleted: ${img.config.digest}`));
    assert.ok(!existsSync(dir), 'the layer only it used is gone');
    // The busybox layer shared with the test image stays.
    assert.ok(existsSync(join(agent.current.dataRoot, 'images/layers', hex(img.diffIds[0]!))));
    const gone = await docker.run(['image', 'inspect', pushed.ref]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /No such image/);
  });

  test('rmi refuses an image a container uses, with 409 and dockerd wording', async () => {
    const img = await buildBusyboxImage({ layerCount: 1, labels: { used: 'yes' } });
    const pushed = await pushImage({ url: reg.url }, 'test/used', 'v1', img);
    await docker.ok(['pull', pushed.ref]);
    const cid = (await docker.ok(['create', pushed.ref, 'true'])).stdout.trim();
    const short = hex(img.config.digest).slice(0, 12);
    try {
      const byName = await docker.run(['rmi', pushed.ref]);
      assert.notEqual(byName.code, 0);
      assert.match(
        byName.stderr,
        new RegExp(
          `conflict: unable to remove repository reference .* \\(must force\\) - container ${cid.slice(0, 12)} is using its referenced image ${short}`,
        ),
      );
      const byId = await docker.run(['rmi', short]);
      assert.match(
        byId.stderr,
        new RegExp(`conflict: unable to delete ${short} \\(must be forced\\) - image is being used by stopped container ${cid.slice(0, 12)}`),
      );
      const raw = await engineRequest(agent.current.socket, 'DELETE', `/images/${short}`);
      assert.equal(raw.status, 409);
      await docker.ok(['image', 'inspect', pushed.ref]);
    } finally {
      await docker.ok(['rm', cid]);
    }
    await docker.ok(['rmi', pushed.ref]);
  });

  test('image prune removes dangling images only', async () => {
    const a = await buildBusyboxImage({ layerCount: 1, labels: { v: '1' } });
    const b = await buildBusyboxImage({ layerCount: 1, labels: { v: '2' } });
    const pa = await pushImage({ url: reg.url }, 'test/moving', 'v1', a);
    await docker.ok(['pull', pa.ref]);
    // Re-point the tag at another image: the first becomes dangling.
    await pushImage({ url: reg.url }, 'test/moving', 'v1', b);
    await docker.ok(['pull', pa.ref]);
    const dangling = await docker.ok(['images', '--filter', 'dangling=true', '-q', '--no-trunc']);
    assert.ok(dangling.stdout.includes(a.config.digest), dangling.stdout);
    const r = await docker.ok(['image', 'prune', '-f']);
    assert.match(r.stdout, new RegExp(`deleted: ${a.config.digest}`));
    assert.match(r.stdout, /Total reclaimed space:/);
    await docker.ok(['image', 'inspect', busyboxRef]);
    await docker.ok(['image', 'inspect', pa.ref]);
  });
});

describe('push, save and load', () => {
  test('push sends the image to a registry it can be pulled back from', async () => {
    const target = `${reg.domain}/pushed/busybox:v2`;
    await docker.ok(['tag', busyboxRef, target]);
    const r = await docker.ok(['push', target]);
    assert.match(r.stdout, new RegExp(`The push refers to repository \\[${reg.domain}/pushed/busybox\\]`));
    const m = /v2: digest: (sha256:[a-f0-9]{64}) size: (\d+)/.exec(r.stdout);
    assert.ok(m, r.stdout);
    // The registry has it, by that digest.
    const res = await fetch(`${reg.url}/v2/pushed/busybox/manifests/v2`, { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-content-digest'), m[1]);
    // A pulled image keeps its manifest, so its digest does not change.
    assert.equal(m[1], busybox.manifest.digest);
    const again = await docker.ok(['push', target]);
    assert.match(again.stdout, /Layer already exists/);
  });

  test('save then load gives back the same image offline', async () => {
    const file = join(work, 'busybox.tar');
    await docker.ok(['save', '-o', file, busyboxRef]);
    await docker.ok(['rmi', '-f', busyboxRef, `${reg.domain}/pushed/busybox:v2`]);
    assert.notEqual((await docker.run(['image', 'inspect', busyboxRef])).code, 0);
    const r = await docker.ok(['load', '-i', file]);
    assert.match(r.stdout, new RegExp(`Loaded image: ${busyboxRef.replace(/[.]/g, '\\.')}`));
    const id = await docker.ok(['image', 'inspect', '--format', '{{.Id}}', busyboxRef]);
    assert.equal(id.stdout.trim(), busybox.config.digest);
    // A loaded image pushes again (its layers are compressed on the way).
    const target = `${reg.domain}/reloaded/busybox:v1`;
    await docker.ok(['tag', busyboxRef, target]);
    await docker.ok(['push', target]);
    await docker.ok(['rmi', target]);
    await docker.ok(['pull', target]);
  });

  test('load reads a classic docker save archive made elsewhere', async () => {
    const img = await buildBusyboxImage({ layerCount: 2, labels: { from: 'archive' } });
    const file = join(work, 'classic.tar');
    await dockerArchive(img, ['classic/app:1.0'], file);
    const r = await docker.ok(['load', '-i', file]);
    assert.match(r.stdout, /Loaded image: classic\/app:1.0/);
    const id = await docker.ok(['image', 'inspect', '--format', '{{.Id}}', 'classic/app:1.0']);
    assert.equal(id.stdout.trim(), img.config.digest);
  });

  test('load refuses a layer that does not match its diff ID, keeping nothing', async () => {
    const img = await buildBusyboxImage({ layerCount: 1, labels: { lie: 'yes' } });
    const other = await buildBusyboxImage({ layerCount: 1, extraFiles: { 'x.txt': 'x' } });
    const liar = { ...img, layers: [{ ...img.layers[0]!, tar: other.layers[0]!.tar }] };
    const file = join(work, 'liar.tar');
    await dockerArchive(liar, ['liar/app:1'], file);
    const before = (await readdir(join(agent.current.dataRoot, 'images/blobs/sha256'))).sort();
    const r = await docker.run(['load', '-i', file]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /does not match diff ID/);
    assert.notEqual((await docker.run(['image', 'inspect', 'liar/app:1'])).code, 0);
    assert.deepEqual((await readdir(join(agent.current.dataRoot, 'images/blobs/sha256'))).sort(), before);
  });
});

describe('credentials', () => {
  let secure: TestRegistry;
  before(async () => {
    secure = await startRegistry({ auth: 'token' });
    const img = await buildBusyboxImage({ layerCount: 1, labels: { secret: 'yes' } });
    await pushImage({ url: secure.url, username: secure.username, password: secure.password }, 'private/app', 'v1', img);
  });
  after(async () => secure?.stop());

  test('pull without login is refused', async () => {
    const r = await docker.run(['pull', `${secure.domain}/private/app:v1`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`pull access denied for ${secure.domain}/private/app, repository does not exist or may require 'docker login'`));
  });

  test('login with a wrong password is refused, with the right one succeeds, then pull works', async () => {
    const bad = await docker.run(['login', '-u', secure.username, '--password-stdin', secure.domain], { input: 'wrong-password\n' });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /unauthorized|denied|incorrect|invalid/i);
    const ok = await docker.ok(['login', '-u', secure.username, '--password-stdin', secure.domain], { input: `${secure.password}\n` });
    assert.match(ok.stdout, /Login Succeeded/);
    const r = await docker.ok(['pull', `${secure.domain}/private/app:v1`]);
    assert.match(r.stdout, /Downloaded newer image/);
  });
});

describe('events and df', () => {
  test('events replays image events in a time window', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    await docker.ok(['tag', busyboxRef, 'evt/app:1']);
    await docker.ok(['rmi', 'evt/app:1']);
    const until = Math.floor(Date.now() / 1000) + 1;
    const r = await docker.ok(['events', '--since', String(since), '--until', String(until), '--format', '{{.Type}} {{.Action}}']);
    const lines = r.stdout.trim().split('\n');
    assert.ok(lines.includes('image tag'), r.stdout);
    assert.ok(lines.includes('image untag'), r.stdout);
  });

  test('system df counts images and their size', async () => {
    const r = await docker.ok(['system', 'df', '--format', '{{.Type}} {{.TotalCount}}']);
    const images = r.stdout.split('\n').find((l) => l.startsWith('Images '));
    const count = (await docker.ok(['info', '--format', '{{.Images}}'])).stdout.trim();
    assert.equal(images, `Images ${count}`);
    assert.ok(Number(count) >= 3);
  });
});

describe('an older client (docker 20.10, API 1.41)', () => {
  const old = '/usr/bin/docker';
  test('version, pull and images work', { skip: !existsSync(old) && 'the 20.10 client (docker.io) is not installed' }, async () => {
    const cli = new DockerCli(agent.current.socket);
    const run = (args: string[]) =>
      import('../helpers/docker.js').then(({ runCommand }) => runCommand(old, args, { env: { DOCKER_HOST: cli.host, DOCKER_CONFIG: cli.configDir } }));
    try {
      const v = await run(['version', '--format', '{{.Client.Version}} {{.Client.APIVersion}}']);
      assert.equal(v.code, 0, v.stderr);
      assert.match(v.stdout, /^20\.10\.\d+\S* 1\.41/);
      const p = await run(['pull', busyboxRef]);
      assert.equal(p.code, 0, p.stderr);
      const i = await run(['images', '--format', '{{.Repository}}:{{.Tag}}']);
      assert.ok(i.stdout.split('\n').includes(busyboxRef), i.stdout);
    } finally {
      cli.dispose();
    }
  });
});

/**
 * Hostile images and registries through the real pull and load paths:
 * layers that try to write outside their directory (`../x`, absolute
 * names, a symlinked parent, hard links out, odd whiteouts), device nodes,
 * a manifest over 4 MiB, an ambiguous document, a layer that does not
 * match its diff ID, and a gzip bomb against --max-layer-bytes. Each is
 * refused with a clear error or confined to the layer; sentinel files on
 * the host stay as they were and a refused image leaves nothing stored.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pack, type Header } from 'tar-stream';
import { startTamperProxy } from '../helpers/proxy.js';
import { useAgent } from '../helpers/agent.js';
import { DockerCli } from '../helpers/docker.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import {
  assembleImage,
  buildBusyboxImage,
  dockerArchive,
  layerFromTar,
  makeBlob,
  MEDIA,
  pushImage,
  pushRawManifest,
  type BuiltImage,
  type Layer,
} from '../helpers/test-images.js';

const MAX_LAYER = 8 << 20;
const agent = useAgent({ args: ['--max-layer-bytes', String(MAX_LAYER)] });
let reg: TestRegistry;
let docker: DockerCli;
let base: BuiltImage;
/** A host directory the hostile layers aim at. */
const sentinel = join(tmpdir(), `berth-sentinel-${randomBytes(4).toString('hex')}`);

before(async () => {
  await agent.ready;
  reg = await startRegistry();
  docker = new DockerCli(agent.current.socket);
  base = await buildBusyboxImage({ layerCount: 1 });
  await mkdir(sentinel, { recursive: true });
  await writeFile(join(sentinel, 'victim'), 'original\n');
});

after(async () => {
  docker?.dispose();
  await reg?.stop();
  await rm(sentinel, { recursive: true, force: true });
});

/** The fields of a tar header a case sets; the rest get defaults. */
type Headers = Partial<Header> & { name: string };

/** A tar of raw headers, in order, with no parents made and no names cleaned. */
async function rawTar(entries: { header: Headers; content?: string | Buffer }[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve) => p.on('end', resolve));
  for (const e of entries) {
    const content = e.content === undefined ? undefined : Buffer.from(e.content);
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      const h: Header = { mtime: new Date(0), uid: 0, gid: 0, mode: 0o644, ...e.header, ...(content ? { size: content.length } : {}) } as Header;
      if (content) p.entry(h, content, cb);
      else p.entry(h, cb);
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

const file = (name: string, content = 'payload\n'): { header: Headers; content: string } => ({ header: { name, type: 'file' }, content });
const dir = (name: string): { header: Headers } => ({ header: { name, type: 'directory', mode: 0o755 } });

/** The root disk of the host: its block device numbers. */
function hostRootDevice(): { major: number; minor: number } {
  const dev = statSync('/').dev;
  return { major: Math.floor(dev / 256) & 0xfff, minor: (dev & 0xff) | ((dev >> 12) & 0xfff00) };
}

interface HostileCase {
  name: string;
  entries: () => { header: Headers; content?: string }[];
  /** A pattern for the refusal, or undefined when the layer is accepted with the entry confined. */
  refused?: RegExp;
  /** For a confined entry: a command run in the container and what it must print. */
  inside?: { cmd: string; stdout: string };
}

const up = '../'.repeat(12);
const cases: HostileCase[] = [
  { name: '../x climbing out', entries: () => [file(`../${up}${sentinel.slice(1)}/victim`, 'pwned\n')], refused: /outside|\.\./ },
  { name: 'a/../../x climbing out', entries: () => [dir('a/'), file(`a/../../x-escape`)], refused: /outside|\.\./ },
  {
    name: 'an absolute path',
    entries: () => [dir('abs/'), file(`${sentinel}/victim`, 'pwned\n')],
    inside: { cmd: `cat ${sentinel}/victim`, stdout: 'pwned\n' },
  },
  {
    name: 'a symlink etc -> /etc, then etc/passwd',
    entries: () => [{ header: { name: 'lnk', type: 'symlink', linkname: sentinel } }, file('lnk/victim', 'pwned\n')],
    inside: { cmd: `cat ${sentinel}/victim`, stdout: 'pwned\n' },
  },
  {
    name: 'a relative symlink climbing out, then a file through it',
    entries: () => [{ header: { name: 'up', type: 'symlink', linkname: `${up}${sentinel.slice(1)}` } }, file('up/victim', 'pwned\n')],
    inside: { cmd: `cat ${sentinel}/victim`, stdout: 'pwned\n' },
  },
  {
    name: 'a hard link to ../../etc/shadow',
    entries: () => [{ header: { name: 'shadow', type: 'link', linkname: `${up}etc/shadow` } }],
    refused: /link|outside|climbs out|\.\./,
  },
  {
    name: 'a hard link to an absolute host path',
    entries: () => [{ header: { name: 'victim-link', type: 'link', linkname: `${sentinel}/victim` } }],
    refused: /link/,
  },
  {
    name: 'a hard link through a symlinked parent',
    entries: () => [{ header: { name: 'lnk2', type: 'symlink', linkname: sentinel } }, { header: { name: 'hl', type: 'link', linkname: 'lnk2/victim' } }],
    refused: /link/,
  },
  { name: 'a bare .wh.', entries: () => [dir('d/'), file('d/.wh.', '')], refused: /whiteout/ },
  { name: 'a whiteout used as a directory', entries: () => [dir('d/'), dir('d/.wh.x/'), file('d/.wh.x/y')], refused: /whiteout/ },
  {
    name: '.wh..wh..opq at the top and in a directory made later',
    entries: () => [file('.wh..wh..opq', ''), dir('late/'), file('late/.wh..wh..opq', ''), file('late/kept', 'kept\n')],
    inside: { cmd: 'cat /late/kept', stdout: 'kept\n' },
  },
  {
    name: 'a whiteout of ../ names',
    entries: () => [dir('w/'), file(`w/.wh.${'..'}`, '')],
    refused: /whiteout|\.\./,
  },
];

const storeState = () => {
  const root = join(agent.current.dataRoot, 'images');
  const list = (d: string) => (existsSync(join(root, d)) ? readdirSync(join(root, d)).sort() : []);
  return { blobs: list('blobs/sha256'), layers: list('layers'), ingest: list('ingest'), records: list('records') };
};

const sentinelIntact = () => {
  assert.deepEqual(readdirSync(sentinel).sort(), ['victim'], 'nothing was added to the host directory');
  assert.equal(readFileSync(join(sentinel, 'victim'), 'utf8'), 'original\n', 'the host file is untouched');
};

async function hostileImage(entries: { header: Headers; content?: string }[]): Promise<{ image: BuiltImage; layer: Layer }> {
  const layer = layerFromTar(await rawTar(entries));
  return { image: assembleImage([base.layers[0]!, layer], { cmd: ['sh'] }), layer };
}

describe('hostile layers, pulled and loaded', () => {
  cases.forEach((c, i) => {
    test(`${c.name}: ${c.refused ? 'refused' : 'confined'}`, async () => {
      const { image } = await hostileImage(c.entries());
      const repo = `hostile/case${i}`;
      await pushImage({ url: reg.url }, repo, 'latest', image);
      const ref = `${reg.domain}/${repo}:latest`;
      const before = storeState();
      const pulled = await docker.run(['pull', ref]);
      const archive = join(agent.current.dataRoot, `..`, `case${i}.tar`);
      await dockerArchive(image, [`loaded/case${i}:latest`], archive);
      const loaded = await docker.run(['load', '-i', archive]);
      sentinelIntact();
      assert.ok(!existsSync(join(agent.current.dataRoot, 'images', 'x-escape')) && !existsSync(join(agent.current.dataRoot, 'x-escape')));
      if (c.refused) {
        assert.notEqual(pulled.code, 0, `pull accepted it: ${pulled.stdout}`);
        assert.match(pulled.stderr, c.refused);
        assert.notEqual(loaded.code, 0, `load accepted it: ${loaded.stdout}`);
        assert.match(loaded.stderr + loaded.stdout, c.refused);
        const after = storeState();
        // The base layer may stay (it is whole and verified); nothing of the hostile one does.
        assert.deepEqual(after.ingest, []);
        assert.deepEqual(after.records, before.records, 'no image recorded');
        assert.ok(!after.layers.some((n) => n.startsWith('.tmp-')), 'no half-made layer');
        return;
      }
      assert.equal(pulled.code, 0, pulled.stderr);
      assert.equal(loaded.code, 0, loaded.stderr);
      for (const name of [ref, `loaded/case${i}:latest`]) {
        const r = await docker.run(['run', '--rm', name, 'sh', '-c', c.inside!.cmd]);
        assert.equal(r.stdout, c.inside!.stdout, r.stderr);
      }
      sentinelIntact();
    });
  });
});

describe('device nodes', () => {
  test('a device node from an image, or made at run time, gives no access to the machine devices', async () => {
    // /dev/vcs (7:0, the console's screen) is readable by root on this host; a container must not get it.
    const { image } = await hostileImage([
      { header: { name: 'vcs', type: 'character-device', devmajor: 7, devminor: 0, mode: 0o666 } },
      { header: { name: 'hostdisk', type: 'block-device', devmajor: hostRootDevice().major, devminor: hostRootDevice().minor, mode: 0o666 } },
    ]);
    await pushImage({ url: reg.url }, 'hostile/devices', 'latest', image);
    const ref = `${reg.domain}/hostile/devices:latest`;
    await docker.ok(['pull', ref]);
    const read = (path: string) => `head -c 1 ${path} 2>/dev/null | wc -c`;
    const fromImage = await docker.run(['run', '--rm', ref, 'sh', '-c', `${read('/vcs')}; ${read('/hostdisk')}`]);
    assert.equal(fromImage.stdout, '0\n0\n', `a device node from the image could be read: ${fromImage.stderr}`);
    const made = await docker.run(['run', '--rm', ref, 'sh', '-c', `mknod /dev/vc c 7 0 && ${read('/dev/vc')}; mknod /vc2 c 7 0 && ${read('/vc2')}`]);
    assert.equal(made.stdout, '0\n0\n', `a device node made in the container could be read: ${made.stderr}`);
    // The devices a container is given still work.
    const ok = await docker.run(['run', '--rm', ref, 'sh', '-c', 'head -c 4 /dev/zero | wc -c; echo x > /dev/null && echo null-ok']);
    assert.equal(ok.stdout, '4\nnull-ok\n', ok.stderr);
  });
});

describe('hostile registries', () => {
  test('a manifest over 4 MiB is refused, nothing stored', async () => {
    await pushImage({ url: reg.url }, 'hostile/big', 'latest', base);
    // The registry itself refuses to store one that big: a proxy pads it on the way.
    const proxy = await startTamperProxy(reg.url, (req, res) => {
      if (!req.path.includes('/manifests/')) return;
      const m = JSON.parse(res.body.toString());
      m.annotations = { padding: 'x'.repeat(4 * 1024 * 1024 + 10) };
      res.body = Buffer.from(JSON.stringify(m));
      delete res.headers['docker-content-digest'];
    });
    try {
      const before = storeState();
      const r = await docker.run(['pull', `${proxy.domain}/hostile/big:latest`]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /4 MiB|too large|exceeds/i);
      assert.deepEqual(storeState(), before);
    } finally {
      await proxy.close();
    }
  });

  test('a document with both manifests and layers is refused, nothing stored', async () => {
    const m = JSON.parse(base.manifest.bytes.toString());
    m.manifests = [
      { mediaType: MEDIA.dockerManifest, digest: base.manifest.digest, size: base.manifest.size, platform: { architecture: 'amd64', os: 'linux' } },
    ];
    const both = makeBlob(MEDIA.ociManifest, Buffer.from(JSON.stringify({ ...m, mediaType: MEDIA.ociManifest })));
    await pushImage({ url: reg.url }, 'hostile/both', 'base', base);
    await pushRawManifest({ url: reg.url }, 'hostile/both', 'latest', both).catch(() => {});
    const before = storeState();
    const r = await docker.run(['pull', `${reg.domain}/hostile/both:latest`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /ambiguous|both "manifests" and "layers"|manifest/);
    assert.deepEqual(storeState(), before);
  });

  test('a layer whose content does not match the config diff_ids is refused, nothing stored', async () => {
    const real = await hostileImage([file('real.txt', 'real\n')]);
    const other = layerFromTar(await rawTar([file('other.txt', 'other\n')]));
    // The manifest points at `other`, the config promises `real`'s diff ID.
    const image = assembleImage([base.layers[0]!, real.layer]);
    const lying: BuiltImage = { ...image, layers: [base.layers[0]!, other] };
    const mj = JSON.parse(image.manifest.bytes.toString());
    mj.layers[1] = { mediaType: other.mediaType, digest: other.digest, size: other.size };
    lying.manifest = makeBlob(MEDIA.dockerManifest, Buffer.from(JSON.stringify(mj)));
    await pushImage({ url: reg.url }, 'hostile/diffid', 'latest', lying);
    const before = storeState();
    const r = await docker.run(['pull', `${reg.domain}/hostile/diffid:latest`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr + r.stdout, /diff ID/);
    const after = storeState();
    assert.deepEqual(after.records, before.records);
    assert.ok(!after.layers.includes(other.diffId.slice(7)) && !after.layers.includes(real.layer.diffId.slice(7)));
    assert.ok(!after.layers.some((n) => n.startsWith('.tmp-')));
    assert.ok(!after.blobs.includes(other.digest.slice(7)), 'the lying blob is not kept');
  });

  test(`a gzip bomb stops at --max-layer-bytes (${MAX_LAYER}) with the half-made layer removed`, async () => {
    const bomb = layerFromTar(await rawTar([file('zeros', Buffer.alloc(64 << 20).toString())]));
    assert.ok(bomb.size < 1 << 20, 'the bomb is small compressed');
    const image = assembleImage([base.layers[0]!, bomb]);
    await pushImage({ url: reg.url }, 'hostile/bomb', 'latest', image);
    const before = storeState();
    const r = await docker.run(['pull', `${reg.domain}/hostile/bomb:latest`], { timeoutMs: 120_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr + r.stdout, new RegExp(`${MAX_LAYER}|too large|limit`));
    const after = storeState();
    assert.deepEqual(after.records, before.records);
    assert.ok(!after.layers.includes(bomb.diffId.slice(7)));
    assert.ok(!after.layers.some((n) => n.startsWith('.tmp-')), `half-made layer left: ${after.layers.join(' ')}`);
    assert.deepEqual(after.ingest, []);
    // docker load of the same bomb stops too.
    const archive = join(agent.current.dataRoot, '..', 'bomb.tar');
    await dockerArchive(image, ['loaded/bomb:latest'], archive);
    const loaded = await docker.run(['load', '-i', archive], { timeoutMs: 120_000 });
    assert.notEqual(loaded.code, 0);
    assert.ok(!storeState().layers.some((n) => n.startsWith('.tmp-') || n === bomb.diffId.slice(7)));
  });
});

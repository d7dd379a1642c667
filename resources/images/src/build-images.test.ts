import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readBundledImages, type BundledManifest } from './bundled-manifest.js';
import { isStaticElf } from './busybox.js';
import { buildBundledImages, DEFAULT_EPOCH, epochFromEnv, IMAGES_DIR } from './build-images.js';
import { checkArchive, type CheckedArchive } from './testing/archive-check.js';

// The real package cache: the first run downloads busybox-static once.
const cacheDir = join(IMAGES_DIR, 'cache');
const work = mkdtempSync(join(tmpdir(), 'berth-build-images-'));
after(() => rmSync(work, { recursive: true, force: true }));

const version = (JSON.parse(readFileSync(join(IMAGES_DIR, '../../package.json'), 'utf8')) as { version: string }).version;
const debArch = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();

let first: BundledManifest;
let second: BundledManifest;
const archives = new Map<string, CheckedArchive>();

before(async () => {
  first = (await buildBundledImages({ outDir: join(work, 'a'), cacheDir, epoch: DEFAULT_EPOCH })).manifest;
  second = (await buildBundledImages({ outDir: join(work, 'b'), cacheDir, epoch: DEFAULT_EPOCH })).manifest;
  for (const img of first.images) archives.set(img.name, await checkArchive(readFileSync(join(work, 'a', img.archive))));
});

describe('reproducible builds', () => {
  test('two builds give byte-identical archives and the same image IDs', () => {
    assert.deepEqual(first, second);
    assert.deepEqual(
      first.images.map((i) => i.name),
      ['getting-started', 'hello-world'],
    );
    for (const img of first.images) {
      const a = readFileSync(join(work, 'a', img.archive));
      const b = readFileSync(join(work, 'b', img.archive));
      assert.ok(a.equals(b), `${img.archive} differs between builds`);
      assert.equal(img.archiveBytes, a.length);
    }
    assert.equal(readFileSync(join(work, 'a', 'manifest.json'), 'utf8'), readFileSync(join(work, 'b', 'manifest.json'), 'utf8'));
  });

  test('another SOURCE_DATE_EPOCH gives other image IDs', async () => {
    const other = (await buildBundledImages({ outDir: join(work, 'c'), cacheDir, epoch: DEFAULT_EPOCH + 86400 })).manifest;
    for (const [i, img] of other.images.entries()) assert.notEqual(img.id, first.images[i]!.id);
  });

  test('SOURCE_DATE_EPOCH is read as whole seconds', () => {
    assert.equal(epochFromEnv({}), DEFAULT_EPOCH);
    assert.equal(epochFromEnv({ SOURCE_DATE_EPOCH: '1700000000' }), 1700000000);
    assert.throws(() => epochFromEnv({ SOURCE_DATE_EPOCH: 'yesterday' }), /whole seconds/);
  });
});

describe('the manifest for the app', () => {
  test('lists each archive with its tags and the ID docker load will give it', () => {
    const { manifest, images } = readBundledImages(join(work, 'a'));
    assert.equal(manifest.berthVersion, version);
    assert.equal(manifest.architecture, debArch);
    for (const img of images) {
      const checked = archives.get(img.name)!;
      assert.equal(img.archivePath, join(work, 'a', img.archive));
      assert.equal(img.id, checked.id, `${img.name}: the manifest's ID is the config digest`);
      assert.deepEqual(img.tags, [`berth/${img.name}:latest`, `berth/${img.name}:${version}`]);
      assert.deepEqual(checked.repoTags, img.tags);
    }
  });

  test('a missing or foreign manifest is refused with what to do', () => {
    assert.throws(() => readBundledImages(join(work, 'nowhere')), /npm run build:images/);
  });
});

describe('berth/getting-started', () => {
  test('runs busybox httpd on port 80 under a shell that stops at SIGTERM, with labels', () => {
    const { config } = archives.get('getting-started')!;
    assert.equal(config.architecture, debArch);
    assert.equal(config.os, 'linux');
    assert.equal(config.created, new Date(DEFAULT_EPOCH * 1000).toISOString());
    assert.deepEqual(config.config.Cmd.slice(0, 3), ['/bin/busybox', 'sh', '-c']);
    assert.match(config.config.Cmd[3]!, /^trap 'exit 0' TERM INT; \/bin\/busybox httpd -f -v -p 80 -h \/srv\/www & wait$/);
    assert.deepEqual(config.config.ExposedPorts, { '80/tcp': {} });
    assert.equal(config.config.StopSignal, 'SIGTERM');
    assert.equal(config.config.Labels?.['org.opencontainers.image.version'], version);
    assert.ok(config.config.Labels?.['org.opencontainers.image.title']);
    assert.ok(config.config.Labels?.['org.opencontainers.image.description']);
  });

  test('layers: a static busybox with applet links, then the site in both languages', () => {
    const [base, site] = archives.get('getting-started')!.layers;
    const busybox = base!.get('bin/busybox')!;
    assert.equal(busybox.header.mode, 0o755);
    assert.ok(isStaticElf(busybox.body));
    assert.equal(base!.get('bin/sh')?.header.linkname, 'busybox');
    assert.equal(base!.get('tmp/')?.header.mode, 0o1777);
    assert.match(base!.get('etc/httpd.conf')!.body.toString(), /^\.html:text\/html; charset=utf-8$/m);
    const en = site!.get('srv/www/index.html')?.body.toString();
    const zh = site!.get('srv/www/zh/index.html')?.body.toString();
    assert.match(en ?? '', /<html lang="en"/);
    assert.match(zh ?? '', /<html lang="zh-Hans"/);
    for (const asset of ['style.css', 'site.js', 'favicon.svg']) assert.ok(site!.get(`srv/www/assets/${asset}`), asset);
    for (const layer of [base!, site!]) {
      for (const [name, f] of layer) {
        assert.equal(f.header.uid, 0, name);
        assert.equal(f.header.gid, 0, name);
        assert.equal(f.header.mtime?.getTime(), DEFAULT_EPOCH * 1000, name);
      }
    }
    const img = first.images.find((i) => i.name === 'getting-started')!;
    assert.ok(img.imageBytes < 3 * 1024 * 1024, `getting-started is ${img.imageBytes} bytes`);
  });
});

describe('berth/hello-world', () => {
  test('is one tiny static program that explains what happened', () => {
    const { config, layers } = archives.get('hello-world')!;
    assert.deepEqual(config.config.Cmd, ['/hello']);
    assert.equal(config.architecture, debArch);
    assert.equal(layers.length, 1);
    const hello = layers[0]!.get('hello')!;
    assert.equal(hello.header.mode, 0o755);
    assert.ok(isStaticElf(hello.body));
    assert.ok(hello.body.length < 2048, `${hello.body.length} bytes`);
    const text = hello.body.toString('utf8');
    for (const words of ['Hello from Berth!', 'docker client', 'engine', 'pulled', 'created a container', 'streamed']) assert.ok(text.includes(words), words);
  });
});

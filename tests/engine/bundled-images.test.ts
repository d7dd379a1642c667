/**
 * The bundled images (resources/images) through the real docker CLI against
 * berth-agent: built by the project's own script into a temp directory,
 * loaded with `docker load`, inspected, and run: hello-world prints its
 * message, getting-started serves the tutorial on a published port in both
 * languages and stops at once.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO_ROOT, useAgent } from '../helpers/agent.js';
import { DockerCli, engineRequest, runCommand } from '../helpers/docker.js';
import { freePort } from '../helpers/net.js';

/** What resources/images/out/manifest.json holds (the subset read here). */
interface BundledManifest {
  architecture: string;
  berthVersion: string;
  images: { name: string; archive: string; tags: string[]; id: string }[];
}

const agent = useAgent();
let docker: DockerCli;
let out: string;
let manifest: BundledManifest;
let containerApi = false;
const image = (name: string) => manifest.images.find((i) => i.name === name)!;

before(async () => {
  await agent.ready;
  docker = new DockerCli(agent.current.socket);
  out = await mkdtemp(join(tmpdir(), 'berth-bundled-'));
  const build = await runCommand(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'resources/images/build.ts'), '--out', out], {
    cwd: REPO_ROOT,
    timeoutMs: 180_000,
  });
  assert.equal(build.code, 0, `the image build failed:\n${build.stdout}\n${build.stderr}`);
  manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as BundledManifest;
  containerApi = (await engineRequest(agent.current.socket, 'GET', '/containers/json')).status === 200;
});

after(async () => {
  if (containerApi) await docker?.run(['rm', '-f', 'bundled-gs']);
  docker?.dispose();
  if (out) await rm(out, { recursive: true, force: true });
});

describe('docker load', () => {
  test('loads both archives under every tag', async () => {
    for (const img of manifest.images) {
      const r = await docker.ok(['load', '-i', join(out, img.archive)]);
      for (const tag of img.tags) assert.match(r.stdout, new RegExp(`^Loaded image: ${tag.replace(/[.]/g, '\\.')}$`, 'm'));
    }
    const listed = await docker.ok(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']);
    for (const img of manifest.images) {
      for (const tag of img.tags) assert.match(listed.stdout, new RegExp(`^${tag.replace(/[.]/g, '\\.')} ${img.id.slice(7, 19)}$`, 'm'));
    }
  });

  test('inspect shows the IDs the build promised, port 80, labels and the commands', async () => {
    const inspect = async (ref: string) =>
      JSON.parse((await docker.ok(['image', 'inspect', '--format', '{{json .}}', ref])).stdout) as {
        Id: string;
        RepoTags: string[];
        Architecture: string;
        Os: string;
        Config: { Cmd: string[]; ExposedPorts?: Record<string, object>; StopSignal?: string; Labels?: Record<string, string> };
      };
    const gs = await inspect('berth/getting-started');
    assert.equal(gs.Id, image('getting-started').id);
    assert.deepEqual([...gs.RepoTags].sort(), [...image('getting-started').tags].sort());
    assert.equal(gs.Architecture, manifest.architecture);
    assert.equal(gs.Os, 'linux');
    assert.deepEqual(Object.keys(gs.Config.ExposedPorts ?? {}), ['80/tcp']);
    assert.equal(gs.Config.StopSignal, 'SIGTERM');
    assert.equal(gs.Config.Labels?.['org.opencontainers.image.version'], manifest.berthVersion);
    assert.equal(gs.Config.Labels?.['org.opencontainers.image.title'], 'Berth getting started');
    assert.match(gs.Config.Cmd.join(' '), /busybox httpd -f -v -p 80 -h \/srv\/www/);

    const hello = await inspect(`berth/hello-world:${manifest.berthVersion}`);
    assert.equal(hello.Id, image('hello-world').id);
    assert.deepEqual(hello.Config.Cmd, ['/hello']);
    assert.equal(hello.Config.Labels?.['org.opencontainers.image.version'], manifest.berthVersion);
  });

  test('loading again keeps the same images', async () => {
    for (const img of manifest.images) await docker.ok(['load', '-q', '-i', join(out, img.archive)]);
    const ids = await docker.ok(['images', '-q', '--no-trunc', 'berth/*']);
    assert.deepEqual(new Set(ids.stdout.trim().split('\n')), new Set(manifest.images.map((i) => i.id)));
  });
});

describe('running them', () => {
  const skip = () => (containerApi ? false : 'the engine has no container API yet');

  test('docker run berth/hello-world prints what happened and exits 0', async (t) => {
    if (skip()) return t.skip(skip() as string);
    const r = await docker.run(['run', '--rm', 'berth/hello-world']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, readFileSync(join(REPO_ROOT, 'resources/images/hello-world/message.txt'), 'utf8'));
  });

  test('berth/getting-started serves the tutorial in English and Chinese on a published port, and stops at once', async (t) => {
    if (skip()) return t.skip(skip() as string);
    const port = await freePort();
    await docker.ok(['run', '-d', '--name', 'bundled-gs', '-p', `127.0.0.1:${port}:80`, 'berth/getting-started']);
    const get = async (path: string) => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(3000) });
          return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const en = await get('/');
    assert.equal(en.status, 200);
    assert.match(en.type ?? '', /^text\/html; ?charset=utf-8$/i);
    assert.match(en.text, /<title>Getting started with containers<\/title>/);
    assert.match(en.text, /Copy-on-write/);
    assert.match(en.text, /<a class="lang-switch" href="zh\/"/);
    const zh = await get('/zh/');
    assert.equal(zh.status, 200);
    assert.match(zh.text, /<html lang="zh-Hans"/);
    assert.match(zh.text, /<title>容器入门<\/title>/);
    assert.match(zh.text, /写时复制/);
    for (const asset of ['/assets/site.js', '/assets/style.css', '/assets/favicon.svg']) assert.equal((await get(asset)).status, 200, asset);
    const logs = await docker.ok(['logs', 'bundled-gs']);
    assert.match(logs.stdout + logs.stderr, /response:200/, 'httpd -v logs each request');

    // Exit code 0, not 137: the shell handled SIGTERM, so the engine did not have to wait and kill.
    await docker.ok(['stop', 'bundled-gs']);
    const state = (await docker.ok(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', 'bundled-gs'])).stdout.trim();
    assert.equal(state, 'exited 0');
  });
});

/**
 * `docker import` (#16): `POST /images/create?fromSrc=-`, as dockerd does it:
 * one layer from the tar (plain or gzipped), a config with the platform, the
 * message as comment and history, and `--change` applied to the run config;
 * tagged from repo and tag. The root file systems here are a busybox tree
 * built by the tests' own tar code (no engine involved), imported from a file
 * and from a pipe by the docker CLI and then run.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { useAgent } from '../helpers/agent.js';
import { DockerCli, engineRequest, runCommand } from '../helpers/docker.js';
import { buildBusyboxImage, sha256, type Layer } from '../helpers/test-images.js';

interface Inspected {
  Id: string;
  RepoTags: string[];
  Comment: string;
  Os: string;
  Architecture: string;
  Config: { Cmd: string[] | null; Env: string[] | null; WorkingDir: string } | null;
  RootFS: { Layers: string[] };
}

describe('docker import', () => {
  const agent = useAgent();
  let docker: DockerCli;
  let dir: string;
  let rootfs: Layer;
  let tarFile: string;
  let gzFile: string;
  before(async () => {
    await agent.ready;
    docker = new DockerCli(agent.current.socket);
    dir = await mkdtemp(join(tmpdir(), 'berth-import-'));
    rootfs = (await buildBusyboxImage({ layerCount: 1 })).layers[0]!;
    tarFile = join(dir, 'rootfs.tar');
    gzFile = join(dir, 'rootfs.tar.gz');
    writeFileSync(tarFile, rootfs.tar);
    writeFileSync(gzFile, rootfs.bytes);
  });
  after(async () => {
    docker?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const inspect = async (name: string) => JSON.parse((await docker.ok(['image', 'inspect', name])).stdout)[0] as Inspected;

  test('from a file: one layer whose diff ID is the tar\'s digest, no run config, "Imported from -", and it runs', async () => {
    const r = await docker.ok(['import', tarFile, 'imported/file:v1']);
    const id = r.stdout.trim();
    assert.match(id, /^sha256:[a-f0-9]{64}$/);
    const img = await inspect('imported/file:v1');
    assert.equal(img.Id, id);
    assert.deepEqual(img.RepoTags, ['imported/file:v1']);
    assert.deepEqual(img.RootFS.Layers, [sha256(rootfs.tar)]);
    assert.equal(img.Comment, 'Imported from -');
    assert.equal(img.Os, 'linux');
    assert.equal(img.Architecture, (await docker.ok(['version', '--format', '{{.Server.Arch}}'])).stdout.trim());
    assert.ok(!img.Config?.Cmd, `no Cmd without --change: ${JSON.stringify(img.Config)}`);
    const run = await docker.ok(['run', '--rm', 'imported/file:v1', '/bin/sh', '-c', 'echo ran from $(cat /etc/group | head -1)']);
    assert.equal(run.stdout.trim(), 'ran from root:x:0:');
  });

  test('from a gzipped stream on stdin with --change and -m: the changes are the config, the message the comment', async () => {
    const gz = await runCommand(
      '/bin/sh',
      [
        '-c',
        `cat ${gzFile} | docker import -m 'my message' --change 'CMD ["/bin/sh", "-c", "echo A=$A in $(pwd)"]' --change 'ENV A=b' --change 'WORKDIR /tmp' - imported/stream`,
      ],
      {
        env: { DOCKER_HOST: docker.host, DOCKER_CONFIG: docker.configDir, PATH: `/usr/local/bin:${process.env.PATH}` },
      },
    );
    assert.equal(gz.code, 0, gz.stderr);
    const img = await inspect('imported/stream');
    assert.deepEqual(img.RepoTags, ['imported/stream:latest']);
    assert.deepEqual(img.RootFS.Layers, [sha256(rootfs.tar)], 'the layer is the tar inside the gzip');
    assert.equal(img.Comment, 'my message');
    assert.deepEqual(img.Config?.Cmd, ['/bin/sh', '-c', 'echo A=$A in $(pwd)']);
    assert.ok(img.Config?.Env?.includes('A=b'), JSON.stringify(img.Config?.Env));
    assert.equal(img.Config?.WorkingDir, '/tmp');
    const hist = await docker.ok(['history', '--no-trunc', '--format', '{{.Comment}}', 'imported/stream']);
    assert.equal(hist.stdout.trim(), 'my message');
    const run = await docker.ok(['run', '--rm', 'imported/stream']);
    assert.equal(run.stdout.trim(), 'A=b in /tmp');
  });

  test('raw HTTP: the status line, an untagged import, the import event', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const r = await engineRequest(agent.current.socket, 'POST', '/v1.47/images/create?fromSrc=-&message=raw', {
      body: rootfs.bytes,
      headers: { 'content-type': 'application/x-tar' },
    });
    assert.equal(r.status, 200, r.text());
    const line = JSON.parse(r.text().trim()) as { status: string };
    assert.match(line.status, /^sha256:[a-f0-9]{64}$/);
    const inspected = await engineRequest(agent.current.socket, 'GET', `/images/${line.status}/json`);
    assert.deepEqual(inspected.json<{ RepoTags: string[] }>().RepoTags, []);
    const until = Math.floor(Date.now() / 1000) + 1;
    const events = await engineRequest(
      agent.current.socket,
      'GET',
      `/events?since=${since}&until=${until}&filters=${encodeURIComponent('{"type":["image"]}')}`,
    );
    const actions = events
      .text()
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { Action: string; Actor: { ID: string } });
    assert.ok(
      actions.some((e) => e.Action === 'import' && e.Actor.ID === line.status),
      events.text(),
    );
  });

  test('refusals: a URL source, a digest, a change that needs a build step, another OS, a body that is not a tar; nothing is left behind', async () => {
    const sock = agent.current.socket;
    const before = (await engineRequest(sock, 'GET', '/images/json?all=1')).json<unknown[]>().length;
    const cases: [string, number, RegExp, Buffer?][] = [
      [
        '/images/create?fromSrc=http://example.com/rootfs.tar',
        501,
        /^importing from a URL is not supported \(fromSrc=http:\/\/example\.com\/rootfs\.tar\): download the archive/,
      ],
      ['/images/create?fromSrc=-&repo=app@sha256:' + 'a'.repeat(64), 400, /^cannot import digest reference$/],
      ['/images/create?fromSrc=-&repo=app&changes=' + encodeURIComponent('RUN echo hi'), 400, /^run is not a valid change command$/],
      ['/images/create?fromSrc=-&platform=windows/amd64', 400, /^operating system is not supported: windows/],
      ['/images/create?fromSrc=-&repo=junk', 400, /./, Buffer.from('this is not a tar archive, only words, but long enough to look at '.repeat(20))],
    ];
    for (const [path, status, message, body] of cases) {
      const r = await engineRequest(sock, 'POST', path, { body: body ?? rootfs.tar });
      assert.equal(r.status === 200 ? 'streamed' : r.status, status, `${path}: ${r.text()}`);
      assert.match(r.json<{ message: string }>().message, message, path);
    }
    const cli = await docker.run(['import', 'https://example.com/rootfs.tar']);
    assert.equal(cli.code, 1);
    assert.match(cli.stderr, /importing from a URL is not supported/);
    assert.equal((await engineRequest(sock, 'GET', '/images/json?all=1')).json<unknown[]>().length, before, 'no image was made');
  });
});

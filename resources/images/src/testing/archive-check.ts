/**
 * Test-only: reads a docker-archive tar into memory and checks that its
 * parts agree (manifest.json <-> index.json <-> OCI manifest <-> config
 * diff_ids <-> layer bytes), as `docker load` and OCI tools would rely on.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { extract, type Header } from 'tar-stream';

export interface TarFile {
  header: Header;
  body: Buffer;
}

export async function readTar(tar: Buffer): Promise<Map<string, TarFile>> {
  const files = new Map<string, TarFile>();
  const ex = extract();
  Readable.from([tar]).pipe(ex);
  for await (const entry of ex) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    files.set(entry.header.name, { header: entry.header, body: Buffer.concat(chunks) });
  }
  return files;
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface CheckedArchive {
  id: string;
  repoTags: string[];
  config: {
    architecture: string;
    os: string;
    created: string;
    config: { Cmd: string[]; ExposedPorts?: Record<string, object>; StopSignal?: string; Labels?: Record<string, string>; Env: string[] };
    rootfs: { diff_ids: string[] };
    history: { empty_layer?: boolean }[];
  };
  layers: Map<string, TarFile>[];
}

export async function checkArchive(archive: Buffer): Promise<CheckedArchive> {
  const files = await readTar(archive);
  const json = <T>(name: string): T => {
    const f = files.get(name);
    assert.ok(f, `the archive has ${name}`);
    return JSON.parse(f.body.toString('utf8')) as T;
  };
  // Every blob is stored under its own digest.
  for (const [name, f] of files) {
    if (name.startsWith('blobs/sha256/') && f.header.type === 'file') assert.equal(sha(f.body), `sha256:${name.slice(13)}`, `${name} holds what its name says`);
  }
  assert.deepEqual(json('oci-layout'), { imageLayoutVersion: '1.0.0' });
  const manifest = json<{ Config: string; RepoTags: string[]; Layers: string[] }[]>('manifest.json');
  assert.equal(manifest.length, 1);
  const m = manifest[0]!;
  const configFile = files.get(m.Config);
  assert.ok(configFile, `config ${m.Config} is in the archive`);
  const id = sha(configFile.body);
  const config = JSON.parse(configFile.body.toString('utf8')) as CheckedArchive['config'];
  assert.deepEqual(
    config.rootfs.diff_ids,
    m.Layers.map((l) => sha(files.get(l)!.body)),
    'config diff_ids are the layers in order',
  );
  assert.equal(config.history.filter((h) => !h.empty_layer).length, m.Layers.length, 'one non-empty history entry per layer');

  const index = json<{ manifests: { digest: string; size: number; annotations: Record<string, string> }[] }>('index.json');
  assert.equal(index.manifests.length, m.RepoTags.length, 'one index entry per tag');
  for (const [i, d] of index.manifests.entries()) {
    const blob = files.get(`blobs/sha256/${d.digest.slice(7)}`);
    assert.ok(blob, `OCI manifest ${d.digest} is in the archive`);
    assert.equal(blob.body.length, d.size);
    const oci = JSON.parse(blob.body.toString('utf8')) as {
      config: { digest: string; size: number };
      layers: { digest: string; size: number; mediaType: string }[];
    };
    assert.equal(oci.config.digest, id);
    assert.equal(oci.config.size, configFile.body.length);
    assert.deepEqual(
      oci.layers.map((l) => l.digest),
      config.rootfs.diff_ids,
    );
    assert.ok(oci.layers.every((l) => l.mediaType === 'application/vnd.oci.image.layer.v1.tar'));
    const [repo, tag] = m.RepoTags[i]!.split(':');
    assert.equal(d.annotations['io.containerd.image.name'], `docker.io/${repo}:${tag}`);
    assert.equal(d.annotations['org.opencontainers.image.ref.name'], tag);
  }
  const repositories = json<Record<string, Record<string, string>>>('repositories');
  for (const t of m.RepoTags) {
    const [repo, tag] = t.split(':');
    assert.equal(repositories[repo!]?.[tag!], config.rootfs.diff_ids.at(-1)!.slice(7));
  }
  const layers: Map<string, TarFile>[] = [];
  for (const l of m.Layers) layers.push(await readTar(files.get(l)!.body));
  return { id, repoTags: m.RepoTags, config, layers };
}

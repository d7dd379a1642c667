/**
 * Small test images built without Docker, and pushed to a test registry
 * through its HTTP API.
 *
 * This is deliberately independent of the engine's registry client and image
 * code: the suites check the engine against a second implementation. Bytes
 * are deterministic (fixed mtimes, owners and entry order; Node's gzip), so
 * digests are stable across runs on one machine.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';

export const MEDIA = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/** Every entry's mtime: images built here are byte-for-byte reproducible. */
const EPOCH = new Date('2024-01-01T00:00:00Z');

export interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Buffer;
}

export interface Layer extends Blob {
  /** sha256 of the uncompressed tar (what the config's rootfs.diff_ids lists). */
  diffId: string;
  /** The uncompressed tar, for docker-archive output. */
  tar: Buffer;
}

export interface BuiltImage {
  format: 'docker' | 'oci';
  architecture: string;
  config: Blob;
  /** The parsed config, for assertions (Cmd, Env, ...). */
  configJson: ImageConfig;
  layers: Layer[];
  manifest: Blob;
  diffIds: string[];
}

export interface ImageConfig {
  architecture: string;
  os: string;
  created: string;
  config: { Env: string[]; Cmd: string[]; WorkingDir?: string; Labels?: Record<string, string>; ExposedPorts?: Record<string, object> };
  rootfs: { type: 'layers'; diff_ids: string[] };
  history: { created: string; created_by: string; empty_layer?: boolean }[];
}

/** One file system entry of a layer. Directories are made for parents automatically. */
export type Entry =
  | { path: string; type?: 'file'; content: Buffer | string; mode?: number }
  | { path: string; type: 'dir'; mode?: number }
  | { path: string; type: 'symlink'; target: string }
  /** A whiteout: deletes `path` from the layers below. */
  | { path: string; type: 'whiteout' };

export const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

function blob(mediaType: string, bytes: Buffer): Blob {
  return { mediaType, digest: sha256(bytes), size: bytes.length, bytes };
}

/** A tar of `entries` (sorted; parents first), deterministic. */
export async function makeTar(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve, reject) => {
    p.on('end', resolve);
    p.on('error', reject);
  });
  // Explicit directories first, so their modes win over the parents made automatically.
  const dirs = new Set<string>();
  const all: Entry[] = [];
  for (const e of entries) {
    if (e.type !== 'dir') continue;
    const d = e.path.replace(/^\/+|\/+$/g, '');
    if (!dirs.has(d)) all.push({ ...e, path: d });
    dirs.add(d);
  }
  for (const e of entries) {
    if (e.type === 'dir') continue;
    const parts = e.path.replace(/^\/+/, '').split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!dirs.has(d)) {
        dirs.add(d);
        all.push({ path: d, type: 'dir' });
      }
    }
    all.push(e);
  }
  all.sort((a, b) => (a.path.replace(/^\/+/, '') < b.path.replace(/^\/+/, '') ? -1 : 1));
  const base = { mtime: EPOCH, uid: 0, gid: 0, uname: 'root', gname: 'root' };
  const add = (header: Parameters<typeof p.entry>[0], content?: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (content) p.entry(header, content, cb);
      else p.entry(header, cb);
    });
  for (const e of all) {
    const name = e.path.replace(/^\/+/, '');
    if (e.type === 'dir') await add({ ...base, name: `${name}/`, type: 'directory', mode: e.mode ?? 0o755 });
    else if (e.type === 'symlink') await add({ ...base, name, type: 'symlink', linkname: e.target, mode: 0o777 });
    else if (e.type === 'whiteout') {
      const slash = name.lastIndexOf('/');
      await add({ ...base, name: `${name.slice(0, slash + 1)}.wh.${name.slice(slash + 1)}`, type: 'file', mode: 0o644 }, Buffer.alloc(0));
    } else {
      const content = Buffer.isBuffer(e.content) ? e.content : Buffer.from(e.content);
      await add({ ...base, name, type: 'file', mode: e.mode ?? 0o644, size: content.length }, content);
    }
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** gzip with a fixed header (Node writes mtime 0), so equal tars give equal blobs. */
export async function makeLayer(entries: Entry[], format: 'docker' | 'oci' = 'docker'): Promise<Layer> {
  const tar = await makeTar(entries);
  return layerFromTar(tar, format);
}

export function layerFromTar(tar: Buffer, format: 'docker' | 'oci' = 'docker'): Layer {
  const gz = gzipSync(tar, { level: 6 });
  return { ...blob(format === 'oci' ? MEDIA.ociLayer : MEDIA.dockerLayer, gz), diffId: sha256(tar), tar };
}

export interface ImageOptions {
  format?: 'docker' | 'oci';
  architecture?: string;
  variant?: string;
  cmd?: string[];
  env?: string[];
  workingDir?: string;
  labels?: Record<string, string>;
  exposedPorts?: string[];
}

/** Wraps layers into a config and a manifest. */
export function assembleImage(layers: Layer[], opts: ImageOptions = {}): BuiltImage {
  const format = opts.format ?? 'docker';
  const architecture = opts.architecture ?? 'amd64';
  const created = EPOCH.toISOString();
  const configJson: ImageConfig = {
    architecture,
    os: 'linux',
    created,
    config: {
      Env: opts.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: opts.cmd ?? ['sh'],
      ...(opts.workingDir ? { WorkingDir: opts.workingDir } : {}),
      ...(opts.labels ? { Labels: opts.labels } : {}),
      ...(opts.exposedPorts ? { ExposedPorts: Object.fromEntries(opts.exposedPorts.map((p) => [p, {}])) } : {}),
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: [
      ...layers.map((_, i) => ({ created, created_by: `berth test layer ${i + 1}` })),
      { created, created_by: `CMD ${JSON.stringify(opts.cmd ?? ['sh'])}`, empty_layer: true },
    ],
  };
  if (opts.variant) (configJson as ImageConfig & { variant?: string }).variant = opts.variant;
  const config = blob(format === 'oci' ? MEDIA.ociConfig : MEDIA.dockerConfig, Buffer.from(JSON.stringify(configJson)));
  const manifestMediaType = format === 'oci' ? MEDIA.ociManifest : MEDIA.dockerManifest;
  const manifestJson = {
    schemaVersion: 2,
    mediaType: manifestMediaType,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const manifest = blob(manifestMediaType, Buffer.from(JSON.stringify(manifestJson, null, 2)));
  return { format, architecture, config, configJson, layers, manifest, diffIds: layers.map((l) => l.diffId) };
}

/** Applets linked in the busybox image's /bin. */
export const BUSYBOX_APPLETS = [
  'sh',
  'ls',
  'cat',
  'echo',
  'sleep',
  'httpd',
  'env',
  'id',
  'pwd',
  'mkdir',
  'rm',
  'touch',
  'true',
  'false',
  'hostname',
  'ps',
  'kill',
  'wget',
  'nc',
  'ip',
  'ifconfig',
  'mount',
  'df',
  'du',
  'grep',
  'sed',
  'head',
  'tail',
  'wc',
  'date',
  'uname',
  'whoami',
  'printenv',
  'test',
  'top',
  'vi',
  'ping',
  'nslookup',
  'tee',
  'yes',
  'cp',
  'mv',
  'chmod',
  'ln',
  'stat',
  'find',
  'xargs',
  'sort',
  'uniq',
  'tr',
  'cut',
  'seq',
  'dd',
  'md5sum',
  'sha256sum',
];

let busyboxBytes: Buffer | undefined;
export function busyboxBinary(): Buffer {
  busyboxBytes ??= readFileSync(process.env.BERTH_BUSYBOX ?? '/bin/busybox');
  return busyboxBytes;
}

export interface BusyboxImageOptions extends ImageOptions {
  /** 1: everything in one layer; 2: busybox, then /etc; 3: plus a layer of `extraFiles`. Default 2. */
  layerCount?: 1 | 2 | 3;
  /** Files for the last layer (path -> content); a third layer is made if layerCount is 3. */
  extraFiles?: Record<string, string | Buffer | { content: Buffer; mode: number }>;
}

/**
 * A busybox-static image: /bin/busybox with applet symlinks, /etc/passwd,
 * group and an /www/index.html, in 1-3 gzip layers. Runs `sh` by default.
 */
export async function buildBusyboxImage(opts: BusyboxImageOptions = {}): Promise<BuiltImage> {
  const format = opts.format ?? 'docker';
  const bin: Entry[] = [
    { path: 'bin/busybox', content: busyboxBinary(), mode: 0o755 },
    ...BUSYBOX_APPLETS.map((a): Entry => ({ path: `bin/${a}`, type: 'symlink', target: 'busybox' })),
    { path: 'tmp', type: 'dir', mode: 0o1777 },
    { path: 'root', type: 'dir', mode: 0o700 },
    { path: 'proc', type: 'dir' },
    { path: 'sys', type: 'dir' },
    { path: 'dev', type: 'dir' },
  ];
  const etc: Entry[] = [
    { path: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' },
    { path: 'etc/group', content: 'root:x:0:\nnogroup:x:65534:\n' },
    { path: 'www/index.html', content: '<h1>berth test image</h1>\n' },
  ];
  const extra: Entry[] = Object.entries(opts.extraFiles ?? {}).map(([path, f]) =>
    typeof f === 'object' && 'mode' in f ? { path, ...f } : { path, content: f },
  );
  const count = opts.layerCount ?? 2;
  let groups: Entry[][];
  if (count === 1) groups = [[...bin, ...etc, ...extra]];
  else if (count === 2) groups = [bin, [...etc, ...extra]];
  else groups = [bin, etc, extra.length ? extra : [{ path: 'hello.txt', content: 'hello from layer 3\n' }]];
  const layers: Layer[] = [];
  for (const g of groups) layers.push(await makeLayer(g, format));
  return assembleImage(layers, opts);
}

/** A multi-arch index (docker manifest list or OCI index) over images built with the same format. */
export function buildIndex(images: BuiltImage[], format: 'docker' | 'oci' = images[0]?.format ?? 'docker'): Blob {
  const mediaType = format === 'oci' ? MEDIA.ociIndex : MEDIA.dockerList;
  const json = {
    schemaVersion: 2,
    mediaType,
    manifests: images.map((img) => {
      const variant = (img.configJson as ImageConfig & { variant?: string }).variant;
      return {
        mediaType: img.manifest.mediaType,
        digest: img.manifest.digest,
        size: img.manifest.size,
        platform: { architecture: img.architecture, os: 'linux', ...(variant ? { variant } : {}) },
      };
    }),
  };
  return blob(mediaType, Buffer.from(JSON.stringify(json, null, 2)));
}

// ---- pushing (independent of the engine's client) --------------------------

export interface PushTarget {
  /** `http://127.0.0.1:PORT` */
  url: string;
  username?: string;
  password?: string;
}

export interface PushedImage {
  /** `127.0.0.1:PORT/name:tag` */
  ref: string;
  /** The manifest (or index) digest the tag points at. */
  digest: string;
  /** `127.0.0.1:PORT/name@sha256:...` */
  digestRef: string;
}

/** Learns how to authenticate pushes to `name`: nothing, Basic, or a Bearer token for pull,push. */
async function pushAuthorization(target: PushTarget, name: string): Promise<string | undefined> {
  const res = await fetch(`${target.url}/v2/`);
  await res.arrayBuffer();
  if (res.status === 200) return undefined;
  const challenge = res.headers.get('www-authenticate') ?? '';
  const basic = target.username ? `Basic ${Buffer.from(`${target.username}:${target.password ?? ''}`).toString('base64')}` : undefined;
  if (/^basic/i.test(challenge)) return basic;
  const param = (k: string) => new RegExp(`${k}="([^"]*)"`).exec(challenge)?.[1];
  const realm = param('realm');
  if (!realm) throw new Error(`push to ${target.url}: cannot answer challenge ${challenge}`);
  const u = new URL(realm);
  u.searchParams.set('service', param('service') ?? '');
  u.searchParams.set('scope', `repository:${name}:pull,push`);
  const tok = await fetch(u, basic ? { headers: { authorization: basic } } : {});
  if (!tok.ok) throw new Error(`push to ${target.url}: token server said ${tok.status} ${await tok.text()}`);
  return `Bearer ${((await tok.json()) as { token: string }).token}`;
}

async function check(res: Response, what: string, ...ok: number[]): Promise<void> {
  if (!ok.includes(res.status)) throw new Error(`${what}: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
}

async function pushBlob(target: PushTarget, name: string, auth: string | undefined, b: Blob): Promise<void> {
  const headers: Record<string, string> = auth ? { authorization: auth } : {};
  const head = await fetch(`${target.url}/v2/${name}/blobs/${b.digest}`, { method: 'HEAD', headers });
  await head.arrayBuffer();
  if (head.status === 200) return;
  const start = await fetch(`${target.url}/v2/${name}/blobs/uploads/`, { method: 'POST', headers });
  const location = start.headers.get('location');
  await check(start, `POST upload ${name}`, 202);
  const put = new URL(location!, target.url);
  put.searchParams.set('digest', b.digest);
  const res = await fetch(put, {
    method: 'PUT',
    headers: { ...headers, 'content-type': 'application/octet-stream' },
    body: b.bytes,
  });
  await check(res, `PUT blob ${b.digest} to ${name}`, 201);
}

async function pushManifest(target: PushTarget, name: string, auth: string | undefined, reference: string, m: Blob) {
  const headers: Record<string, string> = { 'content-type': m.mediaType, ...(auth ? { authorization: auth } : {}) };
  const res = await fetch(`${target.url}/v2/${name}/manifests/${reference}`, { method: 'PUT', headers, body: m.bytes });
  await check(res, `PUT manifest ${name}:${reference}`, 201);
}

function refs(target: PushTarget, name: string, tag: string, digest: string): PushedImage {
  const domain = new URL(target.url).host;
  return { ref: `${domain}/${name}:${tag}`, digest, digestRef: `${domain}/${name}@${digest}` };
}

/** Pushes an image's blobs and manifest, tagging it `name:tag`. */
export async function pushImage(target: PushTarget, name: string, tag: string, image: BuiltImage): Promise<PushedImage> {
  const auth = await pushAuthorization(target, name);
  for (const l of image.layers) await pushBlob(target, name, auth, l);
  await pushBlob(target, name, auth, image.config);
  await pushManifest(target, name, auth, tag, image.manifest);
  return refs(target, name, tag, image.manifest.digest);
}

/** Pushes every image by digest, then the index over them as `name:tag`. */
export async function pushIndex(target: PushTarget, name: string, tag: string, images: BuiltImage[], index: Blob = buildIndex(images)): Promise<PushedImage> {
  const auth = await pushAuthorization(target, name);
  for (const img of images) {
    for (const l of img.layers) await pushBlob(target, name, auth, l);
    await pushBlob(target, name, auth, img.config);
    await pushManifest(target, name, auth, img.manifest.digest, img.manifest);
  }
  await pushManifest(target, name, auth, tag, index);
  return refs(target, name, tag, index.digest);
}

/** Pushes raw bytes as a manifest (for oversized or malformed manifest tests). */
export async function pushRawManifest(target: PushTarget, name: string, reference: string, m: Blob): Promise<void> {
  await pushManifest(target, name, await pushAuthorization(target, name), reference, m);
}

export { blob as makeBlob };

// ---- docker save format -----------------------------------------------------

/**
 * The image as `docker save` writes it (the classic layout every `docker
 * load` reads): manifest.json, repositories, `<config hex>.json`, and one
 * `<layer id>/layer.tar` per layer (uncompressed), plus `<id>/VERSION` and
 * `<id>/json`. Returns the tar's bytes; writes them to `outPath` if given.
 */
export async function dockerArchive(image: BuiltImage, repoTags: string[], outPath?: string): Promise<Buffer> {
  const hex = (d: string) => d.slice('sha256:'.length);
  const entries: Entry[] = [];
  const layerPaths: string[] = [];
  let parent = '';
  image.layers.forEach((l, i) => {
    // Classic layer ids are chain-like: a hash of the diff id and the parent id.
    const id = hex(sha256(`${parent}\n${l.diffId}`));
    const json: Record<string, unknown> = { id, created: EPOCH.toISOString(), os: 'linux' };
    if (parent) json.parent = parent;
    if (i === image.layers.length - 1) json.config = image.configJson.config;
    entries.push({ path: `${id}/VERSION`, content: '1.0' });
    entries.push({ path: `${id}/json`, content: JSON.stringify(json) });
    entries.push({ path: `${id}/layer.tar`, content: l.tar });
    layerPaths.push(`${id}/layer.tar`);
    parent = id;
  });
  entries.push({ path: `${hex(image.config.digest)}.json`, content: image.config.bytes });
  entries.push({
    path: 'manifest.json',
    content: JSON.stringify([{ Config: `${hex(image.config.digest)}.json`, RepoTags: repoTags, Layers: layerPaths }]),
  });
  const repositories: Record<string, Record<string, string>> = {};
  for (const rt of repoTags) {
    const colon = rt.lastIndexOf(':');
    const slash = rt.lastIndexOf('/');
    const [repo, tag] = colon > slash ? [rt.slice(0, colon), rt.slice(colon + 1)] : [rt, 'latest'];
    (repositories[repo] ??= {})[tag] = parent;
  }
  entries.push({ path: 'repositories', content: JSON.stringify(repositories) });
  const tar = await makeTar(entries);
  if (outPath) await writeFile(outPath, tar);
  return tar;
}

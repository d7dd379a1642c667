/**
 * Images as Docker and OCI describe them, and the docker-archive tar that
 * `docker load` reads, built from layer tars without any engine.
 *
 * The archive is the layout dockerd 25+ writes with `docker save`, which is
 * also an OCI image layout: `blobs/sha256/<hex>` holds the config, each layer
 * as a plain tar (so its digest is its diff ID) and one OCI manifest per
 * image; `index.json` + `oci-layout` serve OCI tools, `manifest.json` serves
 * `docker load`, `repositories` serves old clients. Every byte follows from
 * the inputs: JSON keys in a fixed order, entries sorted, fixed mtimes.
 */
import { createHash } from 'node:crypto';
import { makeTar, type TarEntry } from './deterministic-tar.js';

export const MEDIA = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerTar: 'application/vnd.oci.image.layer.v1.tar',
} as const;

export const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const hex = (digest: string) => digest.slice('sha256:'.length);

/** The part of the config a `docker run` uses (Docker's field names). */
export interface RunConfig {
  Env: string[];
  Cmd: string[];
  WorkingDir?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  StopSignal?: string;
  Labels?: Record<string, string>;
}

/** One build step: with `layer`, a tar that adds files; without, metadata only. */
export interface Step {
  createdBy: string;
  layer?: Buffer;
}

export interface ImageSpec {
  /** OCI architecture (amd64, arm64) and variant (v8 for arm64). */
  architecture: string;
  variant?: string;
  /** RFC 3339; every step gets it too. */
  created: string;
  config: RunConfig;
  steps: Step[];
}

export interface BuiltImage {
  /** The image ID: sha256 of the config bytes. */
  id: string;
  config: Buffer;
  layers: { diffId: string; tar: Buffer }[];
  /** The OCI manifest (config + plain layers) and its digest. */
  manifest: Buffer;
  manifestDigest: string;
}

export function buildImage(spec: ImageSpec): BuiltImage {
  const layers = spec.steps.filter((s) => s.layer).map((s) => ({ diffId: sha256(s.layer!), tar: s.layer! }));
  // Key order is part of the bytes: keep it fixed (and close to what dockerd writes).
  const configJson = {
    architecture: spec.architecture,
    ...(spec.variant ? { variant: spec.variant } : {}),
    config: spec.config,
    created: spec.created,
    history: spec.steps.map((s) => ({
      created: spec.created,
      created_by: s.createdBy,
      comment: 'berth resources/images',
      ...(s.layer ? {} : { empty_layer: true }),
    })),
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
  };
  const config = Buffer.from(JSON.stringify(configJson));
  const id = sha256(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: { mediaType: MEDIA.ociConfig, digest: id, size: config.length },
      layers: layers.map((l) => ({ mediaType: MEDIA.ociLayerTar, digest: l.diffId, size: l.tar.length })),
    }),
  );
  return { id, config, layers, manifest, manifestDigest: sha256(manifest) };
}

/** `berth/getting-started:0.1.0` -> repository and tag; only Docker Hub names without a domain. */
export function splitTag(tag: string): { repository: string; tag: string } {
  const m = /^([a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*):([\w][\w.-]{0,127})$/.exec(tag);
  if (!m) throw new Error(`${JSON.stringify(tag)} is not a name:tag reference without a registry (e.g. berth/hello-world:latest)`);
  return { repository: m[1]!, tag: m[2]! };
}

/** Docker Hub's full name, as containerd annotates it in index.json. */
function fullName(repository: string): string {
  return `docker.io/${repository.includes('/') ? repository : `library/${repository}`}`;
}

/** The docker-archive tar holding `image` under every tag in `tags`. */
export async function dockerArchive(image: BuiltImage, tags: string[], mtime: Date): Promise<Buffer> {
  if (tags.length === 0) throw new Error('a bundled image needs at least one tag');
  const parsed = tags.map(splitTag);
  const blobs = new Map<string, Buffer>([
    [hex(image.id), image.config],
    [hex(image.manifestDigest), image.manifest],
  ]);
  for (const l of image.layers) blobs.set(hex(l.diffId), l.tar);
  const manifestJson = [
    {
      Config: `blobs/sha256/${hex(image.id)}`,
      RepoTags: tags,
      Layers: image.layers.map((l) => `blobs/sha256/${hex(l.diffId)}`),
    },
  ];
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA.ociIndex,
    manifests: parsed.map((t) => ({
      mediaType: MEDIA.ociManifest,
      digest: image.manifestDigest,
      size: image.manifest.length,
      annotations: { 'io.containerd.image.name': `${fullName(t.repository)}:${t.tag}`, 'org.opencontainers.image.ref.name': t.tag },
    })),
  };
  const top = hex(image.layers.at(-1)?.diffId ?? image.id);
  const repositories: Record<string, Record<string, string>> = {};
  for (const t of parsed) (repositories[t.repository] ??= {})[t.tag] = top;
  const entries: TarEntry[] = [
    ...[...blobs].map(([h, bytes]): TarEntry => ({ path: `blobs/sha256/${h}`, type: 'file', content: bytes })),
    { path: 'index.json', type: 'file', content: JSON.stringify(index) },
    { path: 'manifest.json', type: 'file', content: JSON.stringify(manifestJson) },
    { path: 'oci-layout', type: 'file', content: JSON.stringify({ imageLayoutVersion: '1.0.0' }) },
    { path: 'repositories', type: 'file', content: JSON.stringify(repositories) },
  ];
  return makeTar(entries, mtime);
}

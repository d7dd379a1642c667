import { z } from 'zod';
import { invalidParameter, notFound } from '../errors.js';
import { goArch } from '../util/go-arch.js';

/**
 * The documents of the distribution protocol, validated with zod before we
 * trust a single field: a registry is untrusted input.
 */
export const MediaType = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondistGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
} as const;

export const MANIFEST_ACCEPT = [MediaType.dockerManifest, MediaType.dockerList, MediaType.ociManifest, MediaType.ociIndex];

const digestSchema = z.string().regex(/^sha256:[a-f0-9]{64}$/, 'only sha256 digests are supported');

export const descriptorSchema = z.object({
  mediaType: z.string(),
  digest: digestSchema,
  size: z.number().int().nonnegative(),
  urls: z.array(z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  platform: z
    .object({
      architecture: z.string(),
      os: z.string(),
      variant: z.string().optional(),
      'os.version': z.string().optional(),
    })
    .optional(),
});
export type Descriptor = z.infer<typeof descriptorSchema>;

const imageManifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type ImageManifest = z.infer<typeof imageManifestSchema>;

const indexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(descriptorSchema),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type ImageIndex = z.infer<typeof indexSchema>;

export type ParsedManifest = { kind: 'manifest'; manifest: ImageManifest } | { kind: 'index'; index: ImageIndex };

/**
 * Parses a manifest or an index. The media type comes from the document when
 * it has one, else from the Content-Type; a document that is both (it has
 * `manifests` and `layers`) is refused, as the OCI spec asks.
 */
export function parseManifest(body: Buffer, contentType: string): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalidParameter('the registry sent a manifest that is not valid JSON');
  }
  if (typeof doc !== 'object' || doc === null) throw invalidParameter('the registry sent a manifest that is not a JSON object');
  const d = doc as Record<string, unknown>;
  if ('manifests' in d && ('layers' in d || 'config' in d)) {
    throw invalidParameter('the registry sent an ambiguous manifest: it has both "manifests" and "layers"');
  }
  if (d.schemaVersion === 1) {
    throw invalidParameter('Docker Image manifest version 2, schema 1 is not supported: push the image again with a current client');
  }
  const mediaType = typeof d.mediaType === 'string' ? d.mediaType : contentType.split(';')[0]!.trim();
  const isIndex = mediaType === MediaType.dockerList || mediaType === MediaType.ociIndex || ('manifests' in d && !mediaType);
  const result = (isIndex ? indexSchema : imageManifestSchema).safeParse(doc);
  if (!result.success) {
    throw invalidParameter(`the registry sent an invalid ${isIndex ? 'index' : 'manifest'}: ${result.error.issues[0]?.message ?? 'unknown problem'}`);
  }
  if (isIndex) return { kind: 'index', index: result.data as ImageIndex };
  const manifest = result.data as ImageManifest;
  for (const l of manifest.layers) {
    if (l.mediaType === MediaType.ociLayerZstd) {
      throw invalidParameter(`layer ${l.digest} is zstd-compressed, which this engine does not support yet`);
    }
  }
  return { kind: 'manifest', manifest };
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** The engine's own platform, in OCI terms. */
export function enginePlatform(): Platform {
  const architecture = goArch();
  return architecture === 'arm64' ? { os: 'linux', architecture, variant: 'v8' } : { os: 'linux', architecture };
}

/** Picks the index entry for `want`; an exact variant wins over a missing one. */
export function selectPlatform(index: ImageIndex, want: Platform = enginePlatform()): Descriptor {
  const candidates = index.manifests.filter((m) => m.platform && m.platform.os === want.os && m.platform.architecture === want.architecture);
  const exact = candidates.find((m) => (m.platform?.variant ?? '') === (want.variant ?? ''));
  const chosen = exact ?? candidates.find((m) => !m.platform?.variant) ?? candidates[0];
  if (!chosen) {
    const variant = want.variant ? `/${want.variant}` : '';
    throw notFound(`no matching manifest for ${want.os}/${want.architecture}${variant} in the manifest list entries`);
  }
  return chosen;
}

/** The image configuration (docker image spec v1 / OCI config). Fields we read are typed; the rest is kept. */
export const imageConfigSchema = z
  .object({
    architecture: z.string().optional(),
    os: z.string().optional(),
    variant: z.string().optional(),
    created: z.string().optional(),
    author: z.string().optional(),
    config: z
      .object({
        User: z.string().optional(),
        ExposedPorts: z.record(z.string(), z.object({}).passthrough()).nullable().optional(),
        Env: z.array(z.string()).nullable().optional(),
        Entrypoint: z.array(z.string()).nullable().optional(),
        Cmd: z.array(z.string()).nullable().optional(),
        Volumes: z.record(z.string(), z.object({}).passthrough()).nullable().optional(),
        WorkingDir: z.string().optional(),
        Labels: z.record(z.string(), z.string()).nullable().optional(),
        StopSignal: z.string().optional(),
      })
      .passthrough()
      .nullable()
      .optional(),
    rootfs: z.object({ type: z.literal('layers'), diff_ids: z.array(digestSchema) }),
    history: z
      .array(
        z.object({
          created: z.string().optional(),
          created_by: z.string().optional(),
          author: z.string().optional(),
          comment: z.string().optional(),
          empty_layer: z.boolean().optional(),
        }),
      )
      .optional(),
  })
  .passthrough();
export type ImageConfig = z.infer<typeof imageConfigSchema>;

export function parseImageConfig(body: Buffer): ImageConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalidParameter('the image configuration is not valid JSON');
  }
  const r = imageConfigSchema.safeParse(doc);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw invalidParameter(`invalid image configuration: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'unknown problem'}`);
  }
  return r.data;
}

export function isLayerMediaType(mt: string): boolean {
  return (
    mt === MediaType.dockerLayerGzip ||
    mt === MediaType.dockerForeignLayerGzip ||
    mt === MediaType.ociLayer ||
    mt === MediaType.ociLayerGzip ||
    mt === MediaType.ociLayerNondistGzip ||
    mt === 'application/vnd.docker.image.rootfs.diff.tar'
  );
}

/**
 * The contract between the image build and the app: `out/manifest.json`
 * lists each docker-archive the build wrote, the tags it holds and the image
 * ID `docker load` will give it. The app loads an archive on first start and
 * whenever the engine has no image with that ID under its first tag.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

export const MANIFEST_FILE = 'manifest.json';

export interface BundledImage {
  /** Short name: getting-started, hello-world. */
  name: string;
  /** The archive's file name, relative to the manifest's directory. */
  archive: string;
  /** Every tag the archive loads, the first one the canonical one (`berth/NAME:latest`). */
  tags: string[];
  /** `sha256:...` of the image config: what `docker image inspect` reports as Id. */
  id: string;
  /** sha256 of the archive file, to tell a damaged or stale archive. */
  archiveDigest: string;
  archiveBytes: number;
  /** Sum of the layer tars: the image's size once loaded. */
  imageBytes: number;
}

export interface BundledManifest {
  schemaVersion: 1;
  berthVersion: string;
  /** OCI architecture the images are for (amd64, arm64). */
  architecture: string;
  busybox: { version: string; source: 'debian-package' | 'host' };
  images: BundledImage[];
}

/** A bundled image with its archive as an absolute path. */
export interface LocatedImage extends BundledImage {
  archivePath: string;
}

/**
 * Reads and checks `DIR/manifest.json` (DIR is resources/images/out, or
 * wherever the app ships it). Throws with the path and what is wrong.
 */
export function readBundledImages(dir: string): { manifest: BundledManifest; images: LocatedImage[] } {
  const file = join(dir, MANIFEST_FILE);
  let m: BundledManifest;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as BundledManifest;
  } catch (err) {
    throw new Error(`cannot read the bundled images' manifest ${file}: ${(err as Error).message}; run 'npm run build:images'`);
  }
  const bad = (what: string) => new Error(`${file}: ${what}; rebuild it with 'npm run build:images'`);
  if (m?.schemaVersion !== 1) throw bad(`schemaVersion is ${JSON.stringify(m?.schemaVersion)}, expected 1`);
  if (!Array.isArray(m.images) || m.images.length === 0) throw bad('it lists no images');
  const images = m.images.map((img, i) => {
    if (typeof img?.name !== 'string' || typeof img.archive !== 'string' || isAbsolute(img.archive) || img.archive.includes('..')) {
      throw bad(`image ${i} has no plain archive file name`);
    }
    if (!/^sha256:[0-9a-f]{64}$/.test(img.id ?? '')) throw bad(`image ${img.name} has no sha256 id`);
    if (!Array.isArray(img.tags) || img.tags.length === 0 || !img.tags.every((t) => typeof t === 'string')) throw bad(`image ${img.name} has no tags`);
    return { ...img, archivePath: resolve(dir, img.archive) };
  });
  return { manifest: m, images };
}

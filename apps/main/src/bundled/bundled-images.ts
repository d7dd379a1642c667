/**
 * The images shipped with the app (berth/getting-started, berth/hello-world),
 * loaded into the engine whenever it lacks them, so the welcome page works
 * offline.
 *
 * The archives and their `manifest.json` are built by resources/images (see
 * its src/bundled-manifest.ts for the contract: archive file names relative
 * to the manifest, tags with the canonical one first, the image ID `docker
 * load` gives). An image counts as present when its first tag names that ID.
 */
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { BundledImageState, BundledImagesState, ProgressMessage } from '@berth/api';
import { engineFetch } from '../util/engine-client.js';
import { findInCheckout } from '../util/checkout-path.js';

interface ManifestImage {
  name: string;
  archive: string;
  tags: string[];
  id: string;
}

const MANIFEST = 'manifest.json';
const BUILD_HINT = 'build them with `node --import tsx resources/images/build.ts`';

/** `$BERTH_BUNDLED_IMAGES`, else resources/images/out of this checkout; undefined when neither has a manifest. */
export function findBundledDir(): string | undefined {
  const fromEnv = process.env.BERTH_BUNDLED_IMAGES;
  if (fromEnv) return existsSync(join(fromEnv, MANIFEST)) ? fromEnv : undefined;
  return findInCheckout(join('resources', 'images', 'out', MANIFEST))?.slice(0, -MANIFEST.length - 1);
}

/** The manifest's images, or an Error saying what is wrong with it. */
export function readManifest(dir: string): ManifestImage[] | Error {
  const file = join(dir, MANIFEST);
  let parsed: { images?: unknown };
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as { images?: unknown };
  } catch (err) {
    return new Error(`cannot read ${file}: ${(err as Error).message}; ${BUILD_HINT}`);
  }
  if (!Array.isArray(parsed.images)) return new Error(`${file} lists no images; ${BUILD_HINT}`);
  const out: ManifestImage[] = [];
  for (const img of parsed.images as Partial<ManifestImage>[]) {
    const ok =
      typeof img?.name === 'string' &&
      typeof img.archive === 'string' &&
      !isAbsolute(img.archive) &&
      !img.archive.includes('..') &&
      typeof img.id === 'string' &&
      Array.isArray(img.tags) &&
      typeof img.tags[0] === 'string';
    if (!ok) return new Error(`${file}: an entry lacks name, archive, id or tags; ${BUILD_HINT}`);
    out.push(img as ManifestImage);
  }
  return out;
}

/** Where the bundled images stand in the engine at `socket`; loads each missing one first. */
export async function ensureBundledImages(socket: string, dir: string | undefined): Promise<BundledImagesState> {
  if (!dir) return { problem: `The bundled images are not built: ${BUILD_HINT}.`, images: [] };
  const manifest = readManifest(dir);
  if (manifest instanceof Error) return { problem: manifest.message, images: [] };
  const images: BundledImageState[] = [];
  for (const img of manifest) images.push(await ensureOne(socket, dir, img));
  return { images };
}

async function ensureOne(socket: string, dir: string, img: ManifestImage): Promise<BundledImageState> {
  const tag = img.tags[0]!;
  const base = { name: img.name, tag };
  if ((await imageIdOf(socket, tag)) === img.id) return { ...base, status: 'present' };
  const archive = join(dir, img.archive);
  if (!existsSync(archive)) return { ...base, status: 'missing', message: `The archive ${archive} is missing; ${BUILD_HINT}.` };
  try {
    await loadArchive(socket, archive);
  } catch (err) {
    return { ...base, status: 'missing', message: `Loading ${archive} failed: ${(err as Error).message}` };
  }
  const id = await imageIdOf(socket, tag);
  if (id !== img.id)
    return {
      ...base,
      status: 'missing',
      message: `${archive} loaded, but ${tag} is ${id ?? 'absent'}, not ${img.id}: the manifest and the archive disagree; ${BUILD_HINT}.`,
    };
  return { ...base, status: 'loaded' };
}

async function imageIdOf(socket: string, ref: string): Promise<string | undefined> {
  const res = await engineFetch(socket, { method: 'GET', path: `/images/${encodeURIComponent(ref)}/json` });
  if (res.status !== 200) return undefined;
  return (JSON.parse(res.body.toString('utf8')) as { Id?: string }).Id;
}

/** POST /images/load with the tar as the body; the engine reports failures in-band as JSON lines. */
async function loadArchive(socket: string, file: string): Promise<void> {
  const upload = { data: createReadStream(file), contentType: 'application/x-tar', length: statSync(file).size };
  // No limit on the answer's head: it comes once the whole archive is sent.
  const res = await engineFetch(socket, { method: 'POST', path: '/images/load?quiet=1', upload, timeoutMs: 0 });
  const text = res.body.toString('utf8');
  if (res.status >= 400) throw new Error(`the engine answered ${res.status}: ${text.trim()}`);
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const m = JSON.parse(line) as ProgressMessage;
    if (m.error || m.errorDetail) throw new Error(m.errorDetail?.message ?? m.error);
  }
}

#!/usr/bin/env node
// Builds the bundled images, berth/getting-started and berth/hello-world, as
// docker-archive tars plus out/manifest.json (archives, tags, image IDs), with
// no Docker needed. Same inputs, same bytes (see src/build-images.ts).
//
//   node --import tsx resources/images/build.ts [--out DIR] [--cache DIR]
//
// SOURCE_DATE_EPOCH sets the images' timestamps (default 2025-01-01).
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildBundledImages, IMAGES_DIR } from './src/build-images.js';

const { values } = parseArgs({
  options: { out: { type: 'string' }, cache: { type: 'string' } },
});
const started = performance.now();
try {
  const { manifestPath } = await buildBundledImages({
    outDir: values.out ?? join(IMAGES_DIR, 'out'),
    cacheDir: values.cache ?? join(IMAGES_DIR, 'cache'),
    log: (line) => console.log(`build-images: ${line}`),
  });
  console.log(`build-images: wrote ${manifestPath} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
} catch (err) {
  console.error(`build-images: ${(err as Error).message}`);
  process.exit(1);
}

/**
 * Finds a built file of this checkout (the agent's bundle, the renderer's
 * dist) from wherever this code runs: the source tree under tsx, or the
 * bundle in apps/main/dist. Walks up from this file until `relPath` exists.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function findInCheckout(relPath: string, from = dirname(fileURLToPath(import.meta.url))): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = join(dir, relPath);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * Bytes used by the files under a directory, as `du --apparent-size` counts
 * them: each inode once (hard links), symlinks by their own size,
 * directories themselves not counted. A missing directory is 0. Used for
 * volume sizes and containers' writable layers (SizeRw), as dockerd reports
 * them.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export async function diskUsage(root: string): Promise<number> {
  const seen = new Set<string>();
  const walk = async (dir: string): Promise<number> => {
    let total = 0;
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return 0;
    }
    for (const n of names) {
      const p = join(dir, n);
      const st = await lstat(p).catch(() => undefined);
      if (!st) continue;
      const key = `${st.dev}:${st.ino}`;
      if (!seen.has(key)) {
        seen.add(key);
        total += st.isDirectory() ? 0 : st.size;
      }
      if (st.isDirectory()) total += await walk(p);
    }
    return total;
  };
  return walk(root);
}

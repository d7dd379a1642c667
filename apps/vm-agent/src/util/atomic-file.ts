import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { randomBytes } from 'node:crypto';
import { errnoCode } from '../errors.js';

/**
 * The one way the agent writes state to disk.
 *
 * Contract: after `writeFileAtomic` resolves, `path` holds `data` durably; if
 * the process dies at any point before, `path` holds the old content (or does
 * not exist). Temp files are `.<name>.tmp-<random>` beside the target, so a
 * crash leaves at most such a file, which `sweepTempFiles` callers may remove.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.tmp-${randomBytes(6).toString('hex')}`);
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dir);
}

/**
 * Removes the temp files a crash left in `dir` (`.<name>.tmp-<random>`, see
 * writeFileAtomic). Call only before anything writes there.
 */
export async function sweepTempFiles(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw err;
  }
  for (const n of names) if (isAtomicTempName(n)) await rm(join(dir, n), { force: true });
}

/** Writes a JSON record atomically (pretty enough to read by hand when debugging). */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 1) + '\n');
}

/** Reads a JSON record; `undefined` when it does not exist. */
export async function readJsonIfExists<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  return JSON.parse(text) as T;
}

/** fsync a directory so a rename inside it is durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** True for the temp files `writeFileAtomic` leaves behind after a crash. */
export function isAtomicTempName(name: string): boolean {
  return name.startsWith('.') && name.includes('.tmp-');
}

/**
 * The build context: the tar the client sends with POST /build (plain or
 * gzip), unpacked into a private temp dir with the layer unpacker's path
 * rules (no entry lands or writes outside it, whatever its name or the
 * symlinks on its way), then trimmed by `.dockerignore`.
 *
 * The Dockerfile is read before `.dockerignore` is applied: like dockerd,
 * excluding it (or .dockerignore itself) keeps it from COPY, not from the
 * build. Files whose names start with `.wh.` are taken as whiteouts by the
 * unpacker and do not reach the context (a limit we accept).
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { errnoCode, invalidParameter } from '../errors.js';
import { unpackLayer } from '../images/layer-unpack.js';
import { IgnoreMatcher } from './dockerignore.js';

export interface BuildContext {
  /** Host directory holding the context's files. */
  dir: string;
  /** Bytes of file content received. */
  size: number;
  dockerfile: string;
  dispose(): Promise<void>;
}

/**
 * Receives the context into `<workRoot>/<random>`. `dockerfile` is the `-f`
 * path as the API passes it (relative to the context root; default
 * `Dockerfile`, falling back to `dockerfile`).
 */
export async function receiveContext(input: Readable, workRoot: string, dockerfile: string): Promise<BuildContext> {
  const dir = join(workRoot, `ctx-${randomBytes(6).toString('hex')}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    const { size } = await unpackLayer(input, dir);
    const text = await readDockerfile(dir, dockerfile);
    const ignore = await readFile(join(dir, '.dockerignore'), 'utf8').catch(() => '');
    await applyIgnore(dir, IgnoreMatcher.parse(ignore));
    return { dir, size, dockerfile: text, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

async function readDockerfile(dir: string, name: string): Promise<string> {
  const names = name ? [name] : ['Dockerfile', 'dockerfile'];
  for (const n of names) {
    const rel = posix.normalize(n.replace(/^\/+/, ''));
    if (rel.startsWith('../') || rel === '..') {
      throw invalidParameter(`the Dockerfile (${n}) must be within the build context`);
    }
    try {
      const st = await lstat(join(dir, rel));
      if (!st.isFile()) throw invalidParameter(`the Dockerfile (${n}) is not a regular file in the build context`);
      const text = await readFile(join(dir, rel), 'utf8');
      if (text.trim() === '') throw invalidParameter(`the Dockerfile (${n}) cannot be empty`);
      return text;
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
  }
  throw invalidParameter(`Cannot locate specified Dockerfile: ${names[0]}`);
}

/** Removes what `.dockerignore` excludes. A directory with exceptions inside is walked, not dropped whole. */
async function applyIgnore(dir: string, m: IgnoreMatcher): Promise<void> {
  if (m.empty) return;
  const walk = async (rel: string): Promise<void> => {
    for (const name of await readdir(join(dir, rel))) {
      const path = rel ? `${rel}/${name}` : name;
      const host = join(dir, path);
      const st = await lstat(host);
      const excluded = m.excludes(path);
      if (st.isDirectory() && (!excluded || m.hasExceptions)) {
        await walk(path);
        if (excluded) await rmdir(host).catch(() => {}); // kept when an exception left something inside
      } else if (excluded) {
        await rm(host, { recursive: true, force: true });
      }
    }
  };
  await walk('');
}

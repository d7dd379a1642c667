/**
 * Builds made through the dashboard: main packs the folder, streams it to
 * the engine's POST /build (the classic builder) and keeps a record of each
 * build (tag, status, duration, log) for the Builds page. Records live in
 * memory, newest first, the last MAX_BUILDS only: they are a view of this
 * session, the images themselves are in the engine.
 *
 * Why a typed path is accepted in web mode too: main runs on the same host
 * as the browser, and the dashboard token already grants root-equivalent
 * access to the engine (it can run a container that mounts `/`), so letting
 * its holder send a host folder to the engine gives nothing new away.
 */
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { request } from 'node:http';
import { isAbsolute } from 'node:path';
import type { BuildItem, BuildRecord, BuildRequest } from '../shared/berth-api.js';
import { LineSplitter } from '../shared/lines.js';
import { packContext } from './build-context.js';
import { engineErrorMessage } from './engine-client.js';

const MAX_BUILDS = 50;
/** The log kept per build; the head is dropped beyond it (the end says why it failed). */
const MAX_LOG = 512 * 1024;

export class BuildError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'BuildError';
  }
}

export class Builds {
  readonly #records: BuildRecord[] = [];

  list(): BuildRecord[] {
    return this.#records.map((r) => ({ ...r }));
  }

  /** Runs one build, yielding the record first, then log text as it comes, then the finished record. Cancelling stops the build. */
  async *run(socket: string, req: BuildRequest, signal: AbortSignal): AsyncIterable<BuildItem> {
    const { context, tag } = await checkBuildRequest(req);
    const rec: BuildRecord = { id: randomUUID(), tag, context, status: 'running', startedAt: Date.now(), log: '' };
    this.#records.unshift(rec);
    this.#records.length = Math.min(this.#records.length, MAX_BUILDS);
    yield { record: { ...rec } };
    const append = (text: string) => {
      rec.log = (rec.log + text).slice(-MAX_LOG);
      return { log: text };
    };
    try {
      for await (const line of postBuild(socket, context, tag, signal)) {
        const m = line as { stream?: unknown; error?: unknown; errorDetail?: { message?: unknown }; aux?: { ID?: unknown } };
        if (typeof m.stream === 'string') yield append(m.stream);
        if (m.aux && typeof m.aux.ID === 'string') rec.imageId = m.aux.ID;
        if (typeof m.error === 'string') throw new BuildError(m.error, 500);
      }
      rec.status = 'succeeded';
    } catch (err) {
      rec.status = 'failed';
      rec.error = signal.aborted ? 'cancelled' : (err as Error).message;
      if (!signal.aborted) yield append(`ERROR: ${rec.error}\n`);
    } finally {
      rec.endedAt = Date.now();
    }
    yield { record: { ...rec } };
  }
}

async function checkBuildRequest(req: BuildRequest): Promise<BuildRequest> {
  if (!req || typeof req !== 'object' || typeof req.context !== 'string' || typeof req.tag !== 'string') throw new BuildError('a build needs {context, tag}', 400);
  const tag = req.tag.trim();
  const context = req.context.trim();
  if (!/^[a-z0-9][a-z0-9._\/:-]*$/.test(tag) || tag.length > 255) throw new BuildError(`invalid reference format: "${tag}" is not a valid tag (lowercase name[:tag])`, 400);
  if (!isAbsolute(context)) throw new BuildError(`the build context must be an absolute folder path, not "${context}"`, 400);
  const st = await stat(context).catch((err: NodeJS.ErrnoException) => {
    throw new BuildError(`unable to prepare context: ${context}: ${err.code === 'ENOENT' ? 'no such folder' : err.message}`, 400);
  });
  if (!st.isDirectory()) throw new BuildError(`unable to prepare context: ${context} is not a folder`, 400);
  return { context, tag };
}

/** POST /build with the packed folder as the body; yields the answer's JSON lines. */
async function* postBuild(socket: string, context: string, tag: string, signal: AbortSignal): AsyncIterable<unknown> {
  const tar = packContext(context);
  const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
    const r = request(
      { socketPath: socket, method: 'POST', path: `/build?t=${encodeURIComponent(tag)}&rm=1`, headers: { host: 'berth', 'content-type': 'application/x-tar' }, signal },
      resolve,
    );
    r.on('error', reject);
    tar.on('error', (err) => r.destroy(err));
    tar.pipe(r);
  });
  try {
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      throw new BuildError(engineErrorMessage(status, Buffer.concat(chunks)), status);
    }
    res.setEncoding('utf8');
    const lines = new LineSplitter();
    for await (const chunk of res) for (const line of lines.push(chunk as string)) yield JSON.parse(line);
    for (const line of lines.end()) yield JSON.parse(line);
  } finally {
    res.destroy();
    tar.destroy();
  }
}

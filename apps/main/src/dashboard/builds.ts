/**
 * Builds made through the dashboard: main packs the folder, streams it to
 * the engine's POST /build (the classic builder) and keeps a record of each
 * build (tag, status, duration, log) for the Builds page.
 *
 * Contract:
 * - A build runs in main, not in the page: `start` returns at once and the
 *   build goes on whoever watches it. `follow` gives the record so far (with
 *   its log), then the log as it grows, then the finished record; a page
 *   that navigates away and back follows it again. Only `cancel` stops it.
 * - Records persist under `$BERTH_HOME/builds/ID.json`, one file each,
 *   written atomically (util/atomic-file.ts) when a build starts and when it ends,
 *   so a dashboard restart lists them again. A record still `running` when
 *   loaded was cut short by Berth stopping: it loads as failed, saying so.
 * - Bounded: the newest MAX_BUILDS records (older files are deleted) and the
 *   last MAX_LOG characters of each log (the end says why a build failed).
 *
 * Why a typed path is accepted in web mode too: main runs on the same host
 * as the browser, and the dashboard token already grants root-equivalent
 * access to the engine (it can run a container that mounts `/`), so letting
 * its holder send a host folder to the engine gives nothing new away.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { BuildItem, BuildRecord, BuildRequest } from '@berth/api';
import { readJsonIfExists, writeJsonAtomic } from '../util/atomic-file.js';
import { homeLayout } from '../util/berth-home.js';
import { packContext } from './build-context.js';
import { engineStream, jsonLines } from '../util/engine-client.js';

export const MAX_BUILDS = 50;
/** The log kept per build; the head is dropped beyond it. */
export const MAX_LOG = 512 * 1024;

export class BuildError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'BuildError';
  }
}

interface Running {
  abort: AbortController;
  /** Called with each log text and once more (undefined) when the build ends. */
  listeners: Set<(text: string | undefined) => void>;
}

const ID = /^[0-9a-f-]{36}$/;

export class Builds {
  readonly #records: BuildRecord[] = [];
  readonly #running = new Map<string, Running>();
  readonly #dir: string | undefined;

  /** `home`: where the records persist (`home/builds`); undefined keeps them in memory. */
  constructor(home?: string) {
    this.#dir = home === undefined ? undefined : homeLayout(home).buildsDir;
    if (this.#dir) this.#records.push(...loadRecords(this.#dir));
  }

  list(): BuildRecord[] {
    return this.#records.map((r) => ({ ...r }));
  }

  /** Checks the request, records the build and runs it in the background; answers the record. */
  async start(socket: string, req: BuildRequest): Promise<BuildRecord> {
    const { context, tag } = await checkBuildRequest(req);
    const rec: BuildRecord = { id: randomUUID(), tag, context, status: 'running', startedAt: Date.now(), log: '' };
    this.#records.unshift(rec);
    for (const old of this.#records.splice(MAX_BUILDS)) this.#forget(old.id);
    this.#save(rec);
    const run: Running = { abort: new AbortController(), listeners: new Set() };
    this.#running.set(rec.id, run);
    void this.#run(socket, rec, run);
    return { ...rec };
  }

  /** Stops a running build (it ends as failed: cancelled). */
  cancel(id: string): void {
    const run = typeof id === 'string' ? this.#running.get(id) : undefined;
    if (!run) throw new BuildError(`no running build ${String(id).slice(0, 64)}`, 404);
    run.abort.abort();
  }

  /** The record as it is, then log text as it comes, then the finished record. Aborting `signal` only stops following. */
  async *follow(id: string, signal: AbortSignal): AsyncIterable<BuildItem> {
    const rec = this.#records.find((r) => r.id === id);
    if (!rec) throw new BuildError(`no such build: ${String(id).slice(0, 64)}`, 404);
    const run = this.#running.get(id);
    if (!run) {
      yield { record: { ...rec } };
      return;
    }
    // Listen before the snapshot is sent, so no text falls between the two.
    const queue: (string | undefined)[] = [];
    let wake: (() => void) | undefined;
    const listener = (text: string | undefined) => {
      queue.push(text);
      wake?.();
    };
    run.listeners.add(listener);
    const onAbort = () => wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      yield { record: { ...rec } };
      while (!signal.aborted) {
        if (!queue.length) {
          await new Promise<void>((r) => (wake = r));
          continue;
        }
        const text = queue.shift();
        if (text === undefined) break;
        yield { log: text };
      }
      if (!signal.aborted) yield { record: { ...rec } };
    } finally {
      run.listeners.delete(listener);
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Starts a build and follows it (the `build` stream): aborting `signal` stops following, not the build. */
  async *run(socket: string, req: BuildRequest, signal: AbortSignal): AsyncIterable<BuildItem> {
    const rec = await this.start(socket, req);
    yield* this.follow(rec.id, signal);
  }

  async #run(socket: string, rec: BuildRecord, run: Running): Promise<void> {
    const append = (text: string) => {
      rec.log = (rec.log + text).slice(-MAX_LOG);
      for (const fn of run.listeners) fn(text);
    };
    const signal = run.abort.signal;
    try {
      for await (const line of postBuild(socket, rec.context, rec.tag, signal)) {
        const m = line as { stream?: unknown; error?: unknown; errorDetail?: { message?: unknown }; aux?: { ID?: unknown } };
        if (typeof m.stream === 'string') append(m.stream);
        if (m.aux && typeof m.aux.ID === 'string') rec.imageId = m.aux.ID;
        if (typeof m.error === 'string') throw new BuildError(m.error, 500);
      }
      rec.status = 'succeeded';
    } catch (err) {
      rec.status = 'failed';
      rec.error = signal.aborted ? 'cancelled' : (err as Error).message;
      append(signal.aborted ? 'Cancelled.\n' : `ERROR: ${rec.error}\n`);
    } finally {
      rec.endedAt = Date.now();
      this.#running.delete(rec.id);
      this.#save(rec);
      for (const fn of run.listeners) fn(undefined);
    }
  }

  #save(rec: BuildRecord): void {
    if (!this.#dir || !this.#records.includes(rec)) return;
    try {
      writeJsonAtomic(join(this.#dir, `${rec.id}.json`), rec, 0o600);
    } catch (err) {
      // A full disk must not fail the build itself: the record stays in memory.
      console.error(`builds: cannot save ${rec.id}: ${(err as Error).message}`);
    }
  }

  #forget(id: string): void {
    this.#running.get(id)?.abort.abort();
    if (this.#dir) rmSync(join(this.#dir, `${id}.json`), { force: true });
  }
}

/** The saved records, newest first; unreadable files are skipped (and said), the surplus deleted. */
function loadRecords(dir: string): BuildRecord[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const records: BuildRecord[] = [];
  for (const name of names) {
    const m = /^(.+)\.json$/.exec(name);
    if (!m || !ID.test(m[1]!)) continue;
    try {
      const rec = readJsonIfExists(join(dir, name)) as BuildRecord | undefined;
      if (!rec || rec.id !== m[1] || typeof rec.tag !== 'string' || typeof rec.startedAt !== 'number' || typeof rec.log !== 'string') continue;
      if (rec.status === 'running') {
        rec.status = 'failed';
        rec.error = 'interrupted: Berth stopped during the build';
        rec.endedAt ??= rec.startedAt;
      }
      records.push(rec);
    } catch (err) {
      console.error(`builds: skipping ${name}: ${(err as Error).message}`);
    }
  }
  records.sort((a, b) => b.startedAt - a.startedAt);
  for (const old of records.splice(MAX_BUILDS)) rmSync(join(dir, `${old.id}.json`), { force: true });
  return records;
}

async function checkBuildRequest(req: BuildRequest): Promise<BuildRequest> {
  if (!req || typeof req !== 'object' || typeof req.context !== 'string' || typeof req.tag !== 'string')
    throw new BuildError('a build needs {context, tag}', 400);
  const tag = req.tag.trim();
  const context = req.context.trim();
  if (!/^[a-z0-9][a-z0-9._\/:-]*$/.test(tag) || tag.length > 255)
    throw new BuildError(`invalid reference format: "${tag}" is not a valid tag (lowercase name[:tag])`, 400);
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
  // No limit on the answer's head: it comes once the whole context is sent.
  const upload = { data: tar, contentType: 'application/x-tar' };
  const res = await engineStream(socket, { method: 'POST', path: `/build?t=${encodeURIComponent(tag)}&rm=1`, upload, signal, timeoutMs: 0 }).catch(
    (err: Error) => {
      tar.destroy();
      throw err;
    },
  );
  try {
    yield* jsonLines(res);
  } finally {
    res.destroy();
    tar.destroy();
  }
}

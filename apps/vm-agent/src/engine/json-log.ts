/**
 * The json-file log driver: one JSON object per line,
 * `{"log":"hello\n","stream":"stdout","time":"2024-01-01T00:00:00.000000001Z"}`,
 * in `<id>-json.log`, rotated to `.1`, `.2`... by `max-size` / `max-file`.
 *
 * Writes are synchronous: entries land in the file in the order the
 * container produced them, and a reader that reads the files and then
 * subscribes (in one tick) sees every entry exactly once.
 *
 * A write that fails (ENOSPC, EMFILE, EIO) drops that entry from the file and
 * is reported through `onWriteError`, as dockerd logs "Error writing log
 * message" and keeps the container running; it never throws into the
 * container's output pump. Live followers still get the entry.
 */
import { EventEmitter } from 'node:events';
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { invalidParameter } from '../errors.js';

export type StreamName = 'stdout' | 'stderr';

export interface LogEntry {
  log: string;
  stream: StreamName;
  time: string;
}

/** Partial lines are flushed when they reach this size, as dockerd does. */
const MAX_LINE = 16 * 1024;

/** "10m", "1k", "512" (bytes); units k, m, g (1024-based, as go-units RAMInBytes). */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text.trim());
  if (!m) throw invalidParameter(`invalid max-size ${JSON.stringify(text)}: use a number with an optional unit (k, m, g)`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * mult);
}

export interface RotateOptions {
  /** Bytes; 0 is unlimited. */
  maxSize: number;
  /** Files kept including the live one (>= 1). */
  maxFiles: number;
}

export function rotateOptions(config: Record<string, string>): RotateOptions {
  const maxSize = config['max-size'] ? parseSize(config['max-size']) : 0;
  const maxFiles = config['max-file'] ? Number(config['max-file']) : 1;
  if (!Number.isInteger(maxFiles) || maxFiles < 1)
    throw invalidParameter(`invalid max-file ${JSON.stringify(config['max-file'])}: it must be a whole number, 1 or more`);
  return { maxSize, maxFiles };
}

let lastNs = 0n;
/** RFC 3339 with 9 fraction digits, strictly increasing within the process (so since/until are exact). */
export function logTime(): string {
  let ns = BigInt(Date.now()) * 1_000_000n;
  if (ns <= lastNs) ns = lastNs + 1n;
  lastNs = ns;
  const ms = Number(ns / 1_000_000n);
  const iso = new Date(ms).toISOString().slice(0, 19);
  return `${iso}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}

/** Parses an RFC 3339 time with up to 9 fraction digits to nanoseconds since the epoch. */
export function timeNs(t: string): bigint {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(t);
  if (!m) return 0n;
  const base = BigInt(Date.parse(`${m[1]}${m[3]}`)) * 1_000_000n;
  return base + BigInt((m[2] ?? '').padEnd(9, '0').slice(0, 9) || '0');
}

/**
 * Writes a container's output to its log files. Emits `entry` (LogEntry) for
 * followers after each write, and `close` when the container's run ended.
 *
 * A follower reads the files, checks `running` and subscribes in one tick.
 * `running` turns false in the same synchronous step that flushes the last
 * entries and emits `close`, so a follower either sees `running` false (and
 * has read everything) or is subscribed before `close`: never neither. The
 * container's record is no guide here: it says running until its exit has
 * been fully handled, well after `close`.
 */
export class JsonFileLog extends EventEmitter {
  private fd: number | undefined;
  private size = 0;
  private readonly partial: Record<StreamName, string> = { stdout: '', stderr: '' };
  /** The code of the failure last reported; reported again only once writes worked in between or the cause changed. */
  private failing: string | undefined;
  /** A line was cut short by a failed write: the next one starts on a new line so only the torn one is lost. */
  private torn = false;
  private live = false;

  constructor(
    readonly path: string,
    private readonly rotate: RotateOptions,
    private readonly onWriteError: (message: string) => void = () => {},
  ) {
    super();
    this.setMaxListeners(0);
  }

  private open(): number {
    if (this.fd === undefined) {
      this.fd = openSync(this.path, 'a', 0o640);
      this.size = fstatSync(this.fd).size;
    }
    return this.fd;
  }

  /** Text as the container wrote it; split into lines here. */
  write(stream: StreamName, chunk: Buffer | string): void {
    let text = this.partial[stream] + chunk.toString();
    let nl: number;
    while ((nl = text.indexOf('\n')) !== -1) {
      this.append({ log: text.slice(0, nl + 1), stream, time: logTime() });
      text = text.slice(nl + 1);
    }
    while (text.length >= MAX_LINE) {
      this.append({ log: text.slice(0, MAX_LINE), stream, time: logTime() });
      text = text.slice(MAX_LINE);
    }
    this.partial[stream] = text;
  }

  /** True from beginRun() to endRun(): a follower may still get entries and will get `close`. */
  get running(): boolean {
    return this.live;
  }

  /** A run of the container starts: its output comes next. */
  beginRun(): void {
    this.live = true;
  }

  /** Flushes partial lines and tells followers this run is over. */
  endRun(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.partial[stream]) this.append({ log: this.partial[stream], stream, time: logTime() });
      this.partial[stream] = '';
    }
    this.live = false;
    this.emit('close');
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private append(entry: LogEntry): void {
    const line = Buffer.from((this.torn ? '\n' : '') + JSON.stringify(entry) + '\n');
    let written = 0;
    try {
      if (this.rotate.maxSize > 0 && this.size > 0 && this.size + line.length > this.rotate.maxSize) this.rotateFiles();
      const fd = this.open();
      while (written < line.length) written += writeSync(fd, line, written);
      this.torn = false;
      this.failing = undefined;
    } catch (err) {
      if (written > 0) this.torn = true;
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      // EMFILE may pass: drop the fd state so the next write opens afresh.
      if (code === 'EMFILE' || code === 'ENFILE') this.fd = undefined;
      if (this.failing !== code) {
        this.failing = code;
        this.onWriteError(`Error writing log message to ${this.path}: ${(err as Error).message}`);
      }
    }
    this.size += written;
    this.emit('entry', entry);
  }

  private rotateFiles(): void {
    this.close();
    const n = this.rotate.maxFiles;
    if (n <= 1) {
      rmSync(this.path, { force: true });
      return;
    }
    rmSync(`${this.path}.${n - 1}`, { force: true });
    for (let i = n - 2; i >= 1; i--) if (existsSync(`${this.path}.${i}`)) renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
    renameSync(this.path, `${this.path}.1`);
  }
}

export interface ReadOptions {
  stdout: boolean;
  stderr: boolean;
  /** Nanoseconds since the epoch; 0 for no bound. */
  sinceNs: bigint;
  untilNs: bigint;
  /** Last N entries (after filtering); undefined for all. */
  tail?: number;
}

export function entryMatches(e: LogEntry, o: ReadOptions): boolean {
  if (!(e.stream === 'stdout' ? o.stdout : o.stderr)) return false;
  const t = timeNs(e.time);
  if (o.sinceNs > 0n && t < o.sinceNs) return false;
  if (o.untilNs > 0n && t > o.untilNs) return false;
  return true;
}

function parseLine(line: string): LogEntry | undefined {
  if (!line) return undefined;
  try {
    return JSON.parse(line) as LogEntry;
  } catch {
    return undefined; // a line torn by a crash or a full disk: skip it
  }
}

const TAIL_CHUNK = 64 * 1024;

/**
 * The last `n` matching entries, oldest first, reading the files from their
 * ends backwards in chunks: `logs --tail 10` of a 1 GB log reads a chunk, not
 * the gigabyte. `files` is oldest first.
 */
function readTail(files: string[], n: number, o: ReadOptions): LogEntry[] {
  const newestFirst: LogEntry[] = [];
  const take = (line: string) => {
    const e = parseLine(line);
    if (e && entryMatches(e, o)) newestFirst.push(e);
  };
  for (const f of [...files].reverse()) {
    let fd: number;
    try {
      fd = openSync(f, 'r');
    } catch {
      continue;
    }
    try {
      let pos = fstatSync(fd).size;
      let carry = Buffer.alloc(0); // the start of a line whose beginning lies before pos
      while (pos > 0 && newestFirst.length < n) {
        const len = Math.min(TAIL_CHUNK, pos);
        pos -= len;
        const chunk = Buffer.alloc(len);
        let got = 0;
        while (got < len) {
          const r = readSync(fd, chunk, got, len - got, pos + got);
          if (r === 0) break;
          got += r;
        }
        const buf = Buffer.concat([chunk.subarray(0, got), carry]);
        let end = buf.length;
        for (let i = buf.length - 1; i >= 0 && newestFirst.length < n; i--) {
          if (buf[i] !== 0x0a) continue;
          take(buf.subarray(i + 1, end).toString('utf8'));
          end = i;
        }
        carry = buf.subarray(0, end);
      }
      if (pos === 0 && newestFirst.length < n) take(carry.toString('utf8'));
    } finally {
      closeSync(fd);
    }
    if (newestFirst.length >= n) break;
  }
  return newestFirst.slice(0, n).reverse();
}

/** Every stored entry, oldest first (rotated files, then the live one), filtered. */
export function readLogFiles(path: string, maxFiles: number, o: ReadOptions): LogEntry[] {
  const files: string[] = [];
  for (let i = Math.max(maxFiles - 1, 0); i >= 1; i--) files.push(`${path}.${i}`);
  files.push(path);
  if (o.tail === 0) return [];
  if (o.tail !== undefined && o.tail > 0) return readTail(files, o.tail, o);
  const out: LogEntry[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const e = parseLine(line);
      if (e && entryMatches(e, o)) out.push(e);
    }
  }
  return out;
}

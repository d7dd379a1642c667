/**
 * Reads a tar stream (as `GET /containers/{id}/archive` sends it) chunk by
 * chunk: each entry's header, and its data only when the caller asks for it.
 * Knows ustar (name + prefix), PAX extended headers (`path`, `linkpath`,
 * `size`, `mtime`) and GNU long names, which is what tar writers emit for
 * long paths. Everything else in an entry is skipped by its size.
 */

export type TarType = 'file' | 'directory' | 'symlink' | 'link' | 'other';

export interface TarEntry {
  /** As in the archive: `base/child/...`, without a trailing slash. */
  name: string;
  type: TarType;
  size: number;
  /** Permission bits (0o7777). */
  mode: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkName: string;
}

export interface TarSink {
  /** Called for each entry; answer how many of its data bytes to pass to `data` (0: skip them all). */
  entry(e: TarEntry): number;
  data?(chunk: Uint8Array): void;
}

const BLOCK = 512;
const decoder = new TextDecoder();

function text(b: Uint8Array, start: number, len: number): string {
  const s = b.subarray(start, start + len);
  const nul = s.indexOf(0);
  return decoder.decode(nul < 0 ? s : s.subarray(0, nul));
}

/** An octal field, or GNU's base-256 (high bit set) for big values. */
function num(b: Uint8Array, start: number, len: number): number {
  if (b[start]! & 0x80) {
    let v = 0;
    for (let i = start + 1; i < start + len; i++) v = v * 256 + b[i]!;
    return v;
  }
  const s = text(b, start, len).trim();
  return s ? parseInt(s, 8) : 0;
}

function typeOf(flag: string): TarType {
  if (flag === '0' || flag === '\0' || flag === '' || flag === '7') return 'file';
  if (flag === '5') return 'directory';
  if (flag === '2') return 'symlink';
  if (flag === '1') return 'link';
  return 'other';
}

/** PAX records: `LEN key=value\n`, LEN counting the whole record in bytes. */
function parsePax(b: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < b.length) {
    const sp = b.indexOf(0x20, at);
    if (sp < 0) break;
    const len = parseInt(decoder.decode(b.subarray(at, sp)), 10);
    if (!(len > 0)) break;
    const rec = decoder.decode(b.subarray(sp + 1, at + len - 1));
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    at += len;
  }
  return out;
}

export class TarReader {
  #pending = new Uint8Array(0);
  /** Data bytes left in the current entry, and of those, how many go to the sink. */
  #left = 0;
  #give = 0;
  #padding = 0;
  /** Collecting a PAX or GNU long-name body for the next header. */
  #meta: { kind: 'pax' | 'longname' | 'longlink'; buf: Uint8Array; at: number } | undefined;
  #pax: Record<string, string> = {};
  #longName: string | undefined;
  #longLink: string | undefined;
  #ended = false;

  constructor(private readonly sink: TarSink) {}

  /** True once the end-of-archive block has been read. */
  get ended(): boolean {
    return this.#ended;
  }

  push(chunk: Uint8Array): void {
    const buf = this.#pending.length ? concat(this.#pending, chunk) : chunk;
    let at = 0;
    while (at < buf.length && !this.#ended) {
      if (this.#left > 0) {
        const n = Math.min(this.#left, buf.length - at);
        const part = buf.subarray(at, at + n);
        if (this.#meta) {
          this.#meta.buf.set(part, this.#meta.at);
          this.#meta.at += n;
        } else if (this.#give > 0) {
          const g = Math.min(this.#give, n);
          this.sink.data?.(part.subarray(0, g));
          this.#give -= g;
        }
        this.#left -= n;
        at += n;
        if (this.#left === 0) this.#finishBody();
        continue;
      }
      if (this.#padding > 0) {
        const n = Math.min(this.#padding, buf.length - at);
        this.#padding -= n;
        at += n;
        continue;
      }
      if (buf.length - at < BLOCK) break;
      this.#header(buf.subarray(at, at + BLOCK));
      at += BLOCK;
    }
    this.#pending = at < buf.length ? buf.slice(at) : new Uint8Array(0);
  }

  #header(h: Uint8Array): void {
    if (h.every((x) => x === 0)) {
      this.#ended = true;
      return;
    }
    const size = num(h, 124, 12);
    const flag = String.fromCharCode(h[156]!);
    this.#left = size;
    this.#padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (flag === 'x' || flag === 'L' || flag === 'K') {
      this.#meta = { kind: flag === 'x' ? 'pax' : flag === 'L' ? 'longname' : 'longlink', buf: new Uint8Array(size), at: 0 };
      if (size === 0) this.#finishBody();
      return;
    }
    if (flag === 'g') {
      this.#give = 0;
      return;
    }
    const magic = text(h, 257, 6);
    const prefix = magic.startsWith('ustar') ? text(h, 345, 155) : '';
    let name = this.#longName ?? this.#pax.path ?? (prefix ? `${prefix}/${text(h, 0, 100)}` : text(h, 0, 100));
    name = name.replace(/\/+$/, '');
    const entry: TarEntry = {
      name,
      type: typeOf(flag === '\0' ? '' : flag),
      size: this.#pax.size !== undefined ? Number(this.#pax.size) : size,
      mode: num(h, 100, 8) & 0o7777,
      mtime: this.#pax.mtime !== undefined ? Math.floor(Number(this.#pax.mtime)) : num(h, 136, 12),
      linkName: this.#longLink ?? this.#pax.linkpath ?? text(h, 157, 100),
    };
    this.#pax = {};
    this.#longName = undefined;
    this.#longLink = undefined;
    this.#give = this.sink.entry(entry);
  }

  #finishBody(): void {
    const m = this.#meta;
    if (!m) return;
    this.#meta = undefined;
    if (m.kind === 'pax') this.#pax = parsePax(m.buf);
    else if (m.kind === 'longname') this.#longName = text(m.buf, 0, m.buf.length);
    else this.#longLink = text(m.buf, 0, m.buf.length);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** `rwxr-xr-x` with the type letter first (d, l or -). */
export function modeString(type: TarType, mode: number): string {
  const bits = 'rwxrwxrwx'.split('').map((c, i) => (mode & (0o400 >> i) ? c : '-'));
  if (mode & 0o4000) bits[2] = bits[2] === 'x' ? 's' : 'S';
  if (mode & 0o2000) bits[5] = bits[5] === 'x' ? 's' : 'S';
  if (mode & 0o1000) bits[8] = bits[8] === 'x' ? 't' : 'T';
  return (type === 'directory' ? 'd' : type === 'symlink' ? 'l' : '-') + bits.join('');
}

/**
 * Reading a layer's tar with tar-stream: the compression sniffed from the
 * first bytes (gzip, zstd where Node has it, plain; bzip2 and xz refused by
 * name), the raw bytes of PAX records (binary xattrs), and entries as the
 * extractor yields them.
 */
import { PassThrough, Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import type * as tar from 'tar-stream';
import { invalidParameter, systemError } from '../errors.js';

/** Sniffs the magic bytes and returns the stream to read tar bytes from. */
export async function decompressed(input: Readable): Promise<{ stream: Readable; decompressor: NodeJS.ReadWriteStream }> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head: Buffer[] = [];
  let have = 0;
  let done = false;
  while (have < 6) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    head.push(chunk);
    have += chunk.length;
  }
  const first = Buffer.concat(head);
  const stream = Readable.from(
    (async function* () {
      if (first.length) yield first;
      if (done) return;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    })(),
    { objectMode: false },
  );
  const is = (...magic: number[]) => magic.every((b, i) => first[i] === b);
  // Large output chunks: fewer callbacks into JavaScript per megabyte, and
  // larger slices for the tar parser and the file writes behind it.
  if (is(0x1f, 0x8b)) return { stream, decompressor: zlib.createGunzip({ chunkSize: 256 * 1024 }) };
  if (is(0x28, 0xb5, 0x2f, 0xfd)) {
    const make = (zlib as unknown as { createZstdDecompress?: () => NodeJS.ReadWriteStream }).createZstdDecompress;
    if (!make) throw invalidParameter('zstd-compressed layers are not supported yet');
    return { stream, decompressor: make() };
  }
  if (is(0x42, 0x5a, 0x68)) throw invalidParameter('bzip2-compressed layers are not supported; use gzip or an uncompressed tar');
  if (is(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) throw invalidParameter('xz-compressed layers are not supported; use gzip or an uncompressed tar');
  return { stream, decompressor: new PassThrough() };
}

/**
 * tar-stream decodes PAX values as UTF-8 text, which corrupts binary xattrs
 * (security.capability is a binary struct). We keep the raw bytes of each
 * per-entry PAX header by wrapping the extractor's decoder; the extractor
 * holds the next header until the current entry is done, so the last one
 * captured belongs to the entry being handled.
 */
export function captureRawPax(ex: tar.Extract): { take(): Map<string, Buffer> } {
  const inner = ex as unknown as { _decodeLongHeader?: (buf: Buffer) => void; _header?: { type?: string } | null };
  const decode = inner._decodeLongHeader;
  if (typeof decode !== 'function') throw systemError('tar-stream changed: its extractor has no _decodeLongHeader; update layer-tar.ts');
  let pending: Map<string, Buffer> | undefined;
  inner._decodeLongHeader = function (buf: Buffer) {
    if (inner._header?.type === 'pax-header') pending = parsePaxRecords(buf);
    decode.call(this, buf);
  };
  return {
    take() {
      const p = pending ?? new Map<string, Buffer>();
      pending = undefined;
      return p;
    },
  };
}

/** PAX records are `LEN KEY=VALUE\n` with LEN counting the whole record in bytes. */
export function parsePaxRecords(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let at = 0;
  while (at < buf.length) {
    const space = buf.indexOf(0x20, at);
    if (space === -1) break;
    const len = Number.parseInt(buf.toString('latin1', at, space), 10);
    if (!(len > 0) || at + len > buf.length || buf[at + len - 1] !== 0x0a) break;
    const rec = buf.subarray(space + 1, at + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq > 0) out.set(rec.toString('utf8', 0, eq), Buffer.from(rec.subarray(eq + 1)));
    at += len;
  }
  return out;
}

/** One entry as tar-stream's extractor yields it: the header and a stream of its data. */
export type TarEntry = AsyncIterable<Buffer> & { header: tar.Header };

/** Reads an entry's data to its end (entries that carry none, or whose data is not kept). */
export async function drain(entry: TarEntry): Promise<void> {
  for await (const _ of entry) void _;
}

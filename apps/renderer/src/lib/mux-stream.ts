/**
 * Docker's multiplexed stream (logs, attach and exec without a TTY): frames
 * of an 8-byte header (stream type 0 stdin, 1 stdout, 2 stderr; three zero
 * bytes; big-endian uint32 length) and the payload. Chunks may cut a frame
 * anywhere, or hold several: the decoder keeps what is unfinished.
 * With a TTY the stream is raw bytes: use `raw: true` (all of it is stdout).
 */

export type OutputStream = 'stdin' | 'stdout' | 'stderr';

export interface Frame {
  stream: OutputStream;
  data: Uint8Array;
}

const TYPES: OutputStream[] = ['stdin', 'stdout', 'stderr'];

export class MuxDecoder {
  private pending = new Uint8Array(0);

  constructor(private readonly raw = false) {}

  /** The frames completed by `chunk`. Throws on a header that is not Docker's (the stream is not multiplexed). */
  push(chunk: Uint8Array): Frame[] {
    if (this.raw) return chunk.length ? [{ stream: 'stdout', data: chunk }] : [];
    const buf = this.pending.length ? concat(this.pending, chunk) : chunk;
    const frames: Frame[] = [];
    let at = 0;
    while (buf.length - at >= 8) {
      const type = buf[at]!;
      if (type > 2 || buf[at + 1] !== 0 || buf[at + 2] !== 0 || buf[at + 3] !== 0) {
        throw new Error(`not a multiplexed stream: bad frame header at byte ${at} (type ${type})`);
      }
      const size = ((buf[at + 4]! << 24) >>> 0) + (buf[at + 5]! << 16) + (buf[at + 6]! << 8) + buf[at + 7]!;
      if (buf.length - at - 8 < size) break;
      frames.push({ stream: TYPES[type]!, data: buf.slice(at + 8, at + 8 + size) });
      at += 8 + size;
    }
    this.pending = buf.slice(at);
    return frames;
  }

  /** Bytes of an unfinished frame left when the stream ended (0 for a clean end). */
  get leftover(): number {
    return this.pending.length;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Turns frames into log lines per stream, keeping a line cut across frames
 * whole; text is decoded as UTF-8 with multi-byte characters kept whole.
 */
export class LineAssembler {
  private readonly decoders = { stdin: new TextDecoder(), stdout: new TextDecoder(), stderr: new TextDecoder() };
  private readonly rest: Record<OutputStream, string> = { stdin: '', stdout: '', stderr: '' };

  push(f: Frame): { stream: OutputStream; text: string }[] {
    const text = this.rest[f.stream] + this.decoders[f.stream].decode(f.data, { stream: true });
    const parts = text.split('\n');
    this.rest[f.stream] = parts.pop()!;
    return parts.map((t) => ({ stream: f.stream, text: t.endsWith('\r') ? t.slice(0, -1) : t }));
  }

  /** What is left without a final newline. */
  end(): { stream: OutputStream; text: string }[] {
    const out: { stream: OutputStream; text: string }[] = [];
    for (const s of TYPES) {
      const t = this.rest[s] + this.decoders[s].decode();
      this.rest[s] = '';
      if (t) out.push({ stream: s, text: t });
    }
    return out;
  }
}

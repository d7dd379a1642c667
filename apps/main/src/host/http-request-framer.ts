/**
 * Finds where each HTTP/1.1 request starts in a client's byte stream, without
 * changing a byte: the host socket forwards bytes as they are, and only needs
 * to see request heads (to gate container starts).
 *
 * Bodies are skipped by `Content-Length` or chunked framing. After a request
 * that asks to upgrade (Docker's attach and exec hijack the connection with
 * `Upgrade: tcp`) or anything it cannot parse, the rest of the stream is
 * opaque and passes through as `bytes`.
 */

export type Segment = { kind: 'head'; raw: Buffer; method: string; path: string } | { kind: 'bytes'; raw: Buffer };

const MAX_HEAD = 64 * 1024;

type State =
  | { s: 'head'; buf: Buffer }
  | { s: 'body'; left: number }
  | { s: 'chunk-size'; line: string }
  | { s: 'chunk-data'; left: number }
  | { s: 'trailer'; line: string }
  | { s: 'opaque' };

export class RequestFramer {
  #st: State = { s: 'head', buf: Buffer.alloc(0) };

  /** True once the stream is no longer HTTP requests (hijacked or unparseable). */
  get opaque(): boolean {
    return this.#st.s === 'opaque';
  }

  push(chunk: Buffer): Segment[] {
    const out: Segment[] = [];
    let rest = chunk;
    const pass = (n: number) => {
      if (n > 0) out.push({ kind: 'bytes', raw: rest.subarray(0, n) });
      rest = rest.subarray(n);
    };
    while (rest.length) {
      const st = this.#st;
      switch (st.s) {
        case 'opaque':
          pass(rest.length);
          break;
        case 'head': {
          const buf = st.buf.length ? Buffer.concat([st.buf, rest]) : rest;
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) {
            if (buf.length > MAX_HEAD) {
              this.#st = { s: 'opaque' };
              out.push({ kind: 'bytes', raw: buf });
            } else this.#st = { s: 'head', buf: Buffer.from(buf) };
            rest = Buffer.alloc(0);
            break;
          }
          const raw = buf.subarray(0, end + 4);
          rest = buf.subarray(end + 4);
          const parsed = parseHead(raw.toString('latin1'));
          if (!parsed) {
            this.#st = { s: 'opaque' };
            out.push({ kind: 'bytes', raw });
            break;
          }
          out.push({ kind: 'head', raw, method: parsed.method, path: parsed.path });
          if (parsed.upgrade) this.#st = { s: 'opaque' };
          else if (parsed.chunked) this.#st = { s: 'chunk-size', line: '' };
          else if (parsed.length > 0) this.#st = { s: 'body', left: parsed.length };
          else this.#st = { s: 'head', buf: Buffer.alloc(0) };
          break;
        }
        case 'body':
        case 'chunk-data': {
          const n = Math.min(st.left, rest.length);
          pass(n);
          st.left -= n;
          if (st.left === 0) this.#st = st.s === 'body' ? { s: 'head', buf: Buffer.alloc(0) } : { s: 'chunk-size', line: '' };
          break;
        }
        case 'chunk-size':
        case 'trailer': {
          const nl = rest.indexOf(0x0a);
          const take = nl < 0 ? rest.length : nl + 1;
          st.line += rest.subarray(0, take).toString('latin1');
          pass(take);
          if (nl < 0) {
            if (st.line.length > 4096) this.#st = { s: 'opaque' };
            break;
          }
          const line = st.line.trim();
          if (st.s === 'trailer') {
            this.#st = line ? { s: 'trailer', line: '' } : { s: 'head', buf: Buffer.alloc(0) };
            break;
          }
          const size = /^[0-9a-fA-F]+/.exec(line)?.[0];
          if (size === undefined) this.#st = { s: 'opaque' };
          else if (parseInt(size, 16) === 0) this.#st = { s: 'trailer', line: '' };
          else this.#st = { s: 'chunk-data', left: parseInt(size, 16) + 2 }; // data and its CRLF
          break;
        }
      }
    }
    return out;
  }
}

function parseHead(text: string): { method: string; path: string; upgrade: boolean; chunked: boolean; length: number } | undefined {
  const lines = text.split('\r\n');
  const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(lines[0] ?? '');
  if (!m) return undefined;
  let upgrade = false;
  let chunked = false;
  let length = 0;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'upgrade') upgrade = true;
    else if (name === 'transfer-encoding') chunked = /chunked/i.test(value);
    else if (name === 'content-length') {
      if (!/^\d+$/.test(value)) return undefined;
      length = Number(value);
    }
  }
  return { method: m[1]!, path: m[2]!, upgrade, chunked, length };
}

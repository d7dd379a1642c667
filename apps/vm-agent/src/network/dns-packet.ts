/**
 * The small part of the DNS wire format (RFC 1035) the embedded resolver
 * needs: read a query's header and question, write an answer with A or PTR
 * records, or an error. Anything else is forwarded as raw bytes, never
 * re-encoded. Written here rather than taken from npm: ~150 lines, and the
 * packages that fit carry much more than this.
 */

export const TYPE_A = 1;
export const TYPE_PTR = 12;
export const TYPE_AAAA = 28;
export const CLASS_IN = 1;

export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;

export interface Question {
  /** Lower-cased, without the trailing dot: "web.example". */
  name: string;
  type: number;
  class: number;
}

export interface Query {
  id: number;
  flags: number;
  /** Opcode 0 (a standard query). */
  standard: boolean;
  /** Recursion desired (copied into the answer). */
  rd: boolean;
  question: Question;
  /** Where the question ends (the answer copies bytes up to here). */
  questionEnd: number;
}

export type Answer = { name: string; type: typeof TYPE_A; ttl: number; address: string } | { name: string; type: typeof TYPE_PTR; ttl: number; target: string };

export class DnsFormatError extends Error {}

/** Reads a (possibly compressed) name at `offset`; returns it and where it ends. */
export function readName(buf: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let pos = offset;
  let end = -1;
  for (let jumps = 0; ;) {
    if (pos >= buf.length) throw new DnsFormatError('name runs past the packet');
    const len = buf[pos]!;
    if (len === 0) {
      if (end < 0) end = pos + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new DnsFormatError('truncated compression pointer');
      if (++jumps > 16) throw new DnsFormatError('compression pointer loop');
      if (end < 0) end = pos + 2;
      pos = ((len & 0x3f) << 8) | buf[pos + 1]!;
      continue;
    }
    if (len > 63) throw new DnsFormatError(`bad label length ${len}`);
    if (pos + 1 + len > buf.length) throw new DnsFormatError('label runs past the packet');
    labels.push(buf.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  const name = labels.join('.');
  if (name.length > 253) throw new DnsFormatError('name longer than 253 characters');
  return { name, end };
}

/** Parses a query with exactly one question (what every stub resolver sends). */
export function parseQuery(buf: Buffer): Query {
  if (buf.length < 12) throw new DnsFormatError('shorter than a DNS header');
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  if (flags & 0x8000) throw new DnsFormatError('not a query (QR set)');
  const qdcount = buf.readUInt16BE(4);
  if (qdcount !== 1) throw new DnsFormatError(`${qdcount} questions, expected 1`);
  const { name, end } = readName(buf, 12);
  if (end + 4 > buf.length) throw new DnsFormatError('truncated question');
  return {
    id,
    flags,
    standard: ((flags >> 11) & 0xf) === 0,
    rd: (flags & 0x0100) !== 0,
    question: { name: name.toLowerCase(), type: buf.readUInt16BE(end), class: buf.readUInt16BE(end + 2) },
    questionEnd: end + 4,
  };
}

export function encodeName(name: string): Buffer {
  const parts: Buffer[] = [];
  for (const label of name.split('.').filter(Boolean)) {
    const b = Buffer.from(label, 'latin1');
    if (b.length > 63) throw new DnsFormatError(`label "${label}" longer than 63 bytes`);
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/**
 * An answer to `query` (the raw query bytes are needed to copy the
 * question): authoritative for our own names, recursion available.
 */
export function encodeResponse(raw: Buffer, query: Query, rcode: number, answers: Answer[] = []): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.id, 0);
  // QR, opcode copied, AA, RD copied, RA, rcode.
  const flags = 0x8000 | (query.flags & 0x7800) | 0x0400 | (query.flags & 0x0100) | 0x0080 | (rcode & 0xf);
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  const records = answers.map((a) => {
    let rdata: Buffer;
    if (a.type === TYPE_A) rdata = Buffer.from(a.address.split('.').map(Number));
    else rdata = encodeName(a.target);
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(a.type, 0);
    fixed.writeUInt16BE(CLASS_IN, 2);
    fixed.writeUInt32BE(a.ttl, 4);
    fixed.writeUInt16BE(rdata.length, 8);
    // The name points back at the question (offset 12), which is what it answers.
    return Buffer.concat([Buffer.from([0xc0, 12]), fixed, rdata]);
  });
  return Buffer.concat([header, raw.subarray(12, query.questionEnd), ...records]);
}

/** A bare error answer for a packet too broken to parse a question from (FORMERR), if it has an id. */
export function encodeFormatError(raw: Buffer): Buffer | undefined {
  if (raw.length < 2) return undefined;
  const header = Buffer.alloc(12);
  header.writeUInt16BE(raw.readUInt16BE(0), 0);
  header.writeUInt16BE(0x8000 | RCODE_FORMERR, 2);
  return header;
}

/** "172.17.0.2" -> "2.0.17.172.in-addr.arpa"; the reverse for PTR questions. */
export function reverseName(address: string): string {
  return `${address.split('.').reverse().join('.')}.in-addr.arpa`;
}

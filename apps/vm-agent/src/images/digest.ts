import { createHash, type Hash } from 'node:crypto';
import { invalidParameter } from '../errors.js';

/** Only sha256 is accepted; anything else is refused before it reaches a path. */
const DIGEST_RE = /^sha256:([a-f0-9]{64})$/;

export function sha256Digest(data: Uint8Array | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

export function newDigester(): Hash {
  return createHash('sha256');
}

export function finishDigest(h: Hash): string {
  return 'sha256:' + h.digest('hex');
}

/** The hex part of a digest, validated, safe to use as a file name. */
export function digestHex(digest: string): string {
  const m = DIGEST_RE.exec(digest);
  if (!m) throw invalidParameter(`invalid digest ${JSON.stringify(digest)}: only sha256:<64 hex> digests are supported`);
  return m[1]!;
}

export function isSha256Digest(s: string): boolean {
  return DIGEST_RE.test(s);
}

/** 12-character short ID as the CLI shows it. */
export function shortId(idOrDigest: string): string {
  return idOrDigest.replace(/^sha256:/, '').slice(0, 12);
}

/** The chain ID of a layer stack (OCI image spec): the key of the whole stack below a layer. */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev === undefined ? d : sha256Digest(`${prev} ${d}`));
  }
  return out;
}

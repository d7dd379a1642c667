import { Transform, pipeline, type Readable } from 'node:stream';
import { systemError, type EngineError } from '../errors.js';

/** A blob named by a manifest: what the registry must send, to the byte. */
export interface SizedBlob {
  digest: string;
  size: number;
}

/** The registry sent more than the descriptor allows: the pull stops there, as containerd's does. */
export function blobTooLarge(blob: SizedBlob): EngineError {
  return systemError(`blob ${blob.digest} is larger than its descriptor's ${blob.size} bytes: the registry sent more; pull refused`);
}

/** The registry ended the blob early: said plainly rather than as a digest mismatch. */
export function blobTooSmall(blob: SizedBlob, got: number): EngineError {
  return systemError(`blob ${blob.digest} is smaller than its descriptor's ${blob.size} bytes: the registry sent ${got}; pull refused`);
}

/**
 * `body` passed through unchanged while it stays within `blob.size`. The
 * first chunk that goes over fails the stream without passing any of it on,
 * and the failure destroys `body` (which closes the connection), so a
 * registry streaming without end cannot fill the disk or memory. A body that
 * ends short fails too. Destroying the returned stream destroys `body`.
 */
export function capToDescriptor(body: Readable, blob: SizedBlob): Readable {
  let seen = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > blob.size) cb(blobTooLarge(blob));
      else cb(null, chunk);
    },
    flush(cb) {
      cb(seen < blob.size ? blobTooSmall(blob, seen) : null);
    },
  });
  // pipeline, not pipe: an error on either side destroys the other.
  return pipeline(body, cap, () => {});
}

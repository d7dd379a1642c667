import { PassThrough, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

/**
 * Returns a stream of `input`'s bytes, gunzipped if they start with gzip's
 * magic number, passed through unchanged otherwise.
 */
export function maybeGunzip(input: Readable): Readable {
  const out = new PassThrough();
  let decided = false;
  let head = Buffer.alloc(0);
  const decide = (final: boolean) => {
    if (decided || (!final && head.length < 2)) return;
    decided = true;
    input.off('data', onData);
    input.off('end', onEnd);
    input.pause();
    const gzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
    const target = gzip ? createGunzip() : out;
    if (gzip) {
      target.pipe(out);
      target.on('error', (e) => out.destroy(e));
    }
    target.write(head);
    if (final) target.end();
    else input.pipe(target);
  };
  const onData = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    decide(false);
  };
  const onEnd = () => decide(true);
  input.on('data', onData);
  input.on('end', onEnd);
  input.on('error', (e) => out.destroy(e));
  return out;
}

import { PassThrough, type Readable } from 'node:stream';

/**
 * Splits one readable into `n` with backpressure: the source pauses until
 * every branch has drained, so a slow consumer (an unpacker writing to disk)
 * slows the download instead of buffering it in memory. An error on the
 * source or any branch destroys all of them, so no consumer waits forever.
 */
export function tee(source: Readable, n: number): PassThrough[] {
  const branches = Array.from({ length: n }, () => new PassThrough());
  let failed = false;
  const fail = (err: Error) => {
    if (failed) return;
    failed = true;
    source.destroy(err);
    for (const b of branches) b.destroy(err);
  };
  source.on('data', (chunk: Buffer) => {
    let waiting = 0;
    for (const b of branches) {
      if (!b.write(chunk)) {
        waiting++;
        b.once('drain', () => {
          if (--waiting === 0) source.resume();
        });
      }
    }
    if (waiting > 0) source.pause();
  });
  source.on('end', () => branches.forEach((b) => b.end()));
  source.on('error', fail);
  for (const b of branches) {
    b.on('error', fail);
    b.on('close', () => {
      if (!b.writableFinished && !failed) fail(new Error('a consumer of the stream stopped early'));
    });
  }
  return branches;
}

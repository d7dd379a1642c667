/**
 * Splits a text stream into lines, whatever the chunk boundaries: the Docker
 * JSON-lines streams (events, pull progress) and the dashboard's own stream
 * envelope are read with it on both sides. Decode bytes first (a streaming
 * TextDecoder or setEncoding('utf8')), so multi-byte characters split across
 * chunks stay whole.
 */
export class LineSplitter {
  private rest = '';

  /** The complete lines in `chunk` (without their `\n` or `\r\n`); keeps the unfinished tail. */
  push(chunk: string): string[] {
    const parts = (this.rest + chunk).split('\n');
    this.rest = parts.pop() ?? '';
    return parts.map(stripCr).filter((l) => l.length > 0);
  }

  /** The last line when the stream ended without a newline. */
  end(): string[] {
    const last = stripCr(this.rest);
    this.rest = '';
    return last.length ? [last] : [];
  }
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

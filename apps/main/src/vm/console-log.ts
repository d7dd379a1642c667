// Follows the guest's serial console, which QEMU writes to a file: new
// lines go to a listener, and the last ones are kept for error messages.
import fs from 'node:fs';

export class ConsoleLog {
  private offset = 0;
  private partial = '';
  private readonly tail: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private bytes = 0;

  constructor(
    readonly file: string,
    private readonly onLine: (line: string) => void = () => {},
    private readonly keep = 40,
    private readonly intervalMs = 100,
  ) {}

  /** Starts following from the file's current end (QEMU truncates it at launch). */
  start(): void {
    this.timer = setInterval(() => this.poll(), this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.poll();
    if (this.partial) this.push(this.partial);
    this.partial = '';
  }

  /** Bytes the guest has written so far. */
  get bytesSeen(): number {
    return this.bytes;
  }

  lastLines(n = this.keep): string[] {
    return this.tail.slice(-n);
  }

  /** Reads whatever the guest wrote since the last call. */
  poll(): void {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch {
      return; // QEMU has not created it yet
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size < this.offset) this.offset = 0;
      if (size === this.offset) return;
      const buf = Buffer.alloc(size - this.offset);
      fs.readSync(fd, buf, 0, buf.length, this.offset);
      this.offset = size;
      this.bytes += buf.length;
      const text = this.partial + buf.toString('utf8');
      const lines = text.split(/\r?\n/);
      this.partial = lines.pop() ?? '';
      for (const l of lines) this.push(l);
    } finally {
      fs.closeSync(fd);
    }
  }

  private push(line: string): void {
    this.tail.push(line);
    if (this.tail.length > this.keep) this.tail.shift();
    this.onLine(line);
  }
}

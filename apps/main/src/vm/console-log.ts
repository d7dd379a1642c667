// Follows the guest's serial console, which QEMU writes to a file: new
// lines go to a listener, and the last ones are kept for error messages.
import fs from 'node:fs';

/**
 * The first line of a kernel problem report (a lockup, a hung task, an oops,
 * a panic, the OOM killer). Its stack trace can fill the last lines on its
 * own, so the report's opening is kept apart: it says what went wrong.
 */
const KERNEL_REPORT = /\b(BUG: |Oops|Kernel panic|INFO: task .* blocked|watchdog: |rcu: INFO|rcu: .*stall|WARNING: CPU: |Out of memory|invoked oom-killer)/;
/** Lines kept of a report's opening: the header and what the kernel says right after it. */
const REPORT_LINES = 6;

export class ConsoleLog {
  private offset = 0;
  private partial = '';
  private readonly tail: string[] = [];
  /** The opening of the first kernel report of this boot, if there was one. */
  private report: string[] = [];
  private reportOpen = false;
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

  /** The last `n` lines; when a kernel report began before them, its opening first, then '…'. */
  lastLines(n = this.keep): string[] {
    const last = this.tail.slice(-n);
    if (!this.report.length || last.includes(this.report[0]!) || n <= this.report.length + 1) return last;
    return [...this.report, '…', ...last.slice(this.report.length + 1)];
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
      if (size < this.offset) {
        // a new boot (QEMU truncated the file): its own report, if any
        this.offset = 0;
        this.report = [];
        this.reportOpen = false;
      }
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
    if (!this.report.length && KERNEL_REPORT.test(line)) this.reportOpen = true;
    if (this.reportOpen) {
      this.report.push(line);
      this.reportOpen = this.report.length < REPORT_LINES;
    }
    this.tail.push(line);
    if (this.tail.length > this.keep) this.tail.shift();
    this.onLine(line);
  }
}

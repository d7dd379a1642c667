/**
 * Fan-out of a process's output to attached clients, and their input to its
 * stdin. The engine feeds `output()` from the process (and its log); the API
 * gives each client a sink.
 *
 * On a terminal, a client's input may carry the detach sequence (Ctrl-P
 * Ctrl-Q by default): the client is then let go, the process keeps running.
 * Without one, input is passed on byte for byte, as dockerd does (it reads
 * detach keys only on a TTY): binary data piped into `docker run -i` holds
 * 0x10 0x11 every 64 KiB or so on average.
 *
 * Input is flow-controlled: a client is paused while the process's stdin
 * pipe is full, or while more than PENDING_LIMIT bytes wait for the process
 * to start, and resumed when it drains; memory stays bounded whatever the
 * client sends and however slowly the process reads.
 */
import type { Readable, Writable } from 'node:stream';
import { invalidParameter } from '../errors.js';
import type { StreamName } from './json-log.js';

export interface OutputSink {
  write(stream: StreamName, data: Buffer): void;
  /** The output is over (process exited) or the client detached. */
  end(reason: 'exit' | 'detach'): void;
}

export interface AttachRequest {
  stdout: boolean;
  stderr: boolean;
  /** The client's input, when it attaches stdin. */
  input?: Readable;
  /** The process has a terminal: only then is the input scanned for the detach keys. */
  tty?: boolean;
  /** "ctrl-p,ctrl-q" style; empty string disables detaching. */
  detachKeys?: string;
}

/** Input held for a process not started yet before its clients are paused. */
const PENDING_LIMIT = 1024 * 1024;

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** Bytes for a detach-keys spec ("ctrl-p,ctrl-q", "a,ctrl-@", "ctrl-\\"), as the docker CLI reads them. */
export function parseDetachKeys(spec: string): Buffer {
  if (spec === '') return Buffer.alloc(0);
  const out: number[] = [];
  for (const key of spec.split(',')) {
    const k = key.trim();
    if (k.length === 1) out.push(k.charCodeAt(0));
    else if (/^ctrl-[a-z@[\\\]^_]$/i.test(k)) {
      const c = k.slice(5).toLowerCase();
      out.push(c >= 'a' && c <= 'z' ? c.charCodeAt(0) - 96 : { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 }[c]!);
    } else throw invalidParameter(`Invalid detach keys (${spec}) provided`);
  }
  return Buffer.from(out);
}

export class StdioHub {
  private readonly sinks = new Set<{ sink: OutputSink; stdout: boolean; stderr: boolean }>();
  private stdin: Writable | undefined;
  /** Input that arrived before the process started (docker run attaches first). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private endPending = false;
  /** Clients paused until the stdin pipe drains or a process starts or goes. */
  private readonly held = new Set<Readable>();

  constructor(
    private readonly stdinOnce: boolean,
    private readonly openStdin: boolean,
  ) {}

  /** Sets the process's stdin (a pipe or the pty) when it starts, or none when it exits. */
  setStdin(stdin: Writable | undefined): void {
    this.stdin = stdin;
    if (!stdin) return this.release();
    let full = false;
    for (const b of this.pending.splice(0)) full = !stdin.write(b) || full;
    this.pendingBytes = 0;
    if (this.endPending) stdin.end();
    this.endPending = false;
    if (full) stdin.once('drain', () => this.release());
    else this.release();
  }

  output(stream: StreamName, data: Buffer): void {
    for (const s of this.sinks) if (stream === 'stdout' ? s.stdout : s.stderr) s.sink.write(stream, data);
  }

  /** Ends every client: the process is gone. */
  closeAll(): void {
    for (const s of [...this.sinks]) s.sink.end('exit');
    this.sinks.clear();
  }

  get clients(): number {
    return this.sinks.size;
  }

  /** Adds a client; returns a function that removes it (without ending its sink). */
  attach(req: AttachRequest, sink: OutputSink): () => void {
    const entry = { sink, stdout: req.stdout, stderr: req.stderr };
    this.sinks.add(entry);
    const detach = () => {
      if (this.sinks.delete(entry)) sink.end('detach');
    };
    const keys = req.tty ? parseDetachKeys(req.detachKeys ?? DEFAULT_DETACH_KEYS) : Buffer.alloc(0);
    if (req.input) this.pipeInput(req.input, keys, detach);
    return () => void this.sinks.delete(entry);
  }

  /** Passes input on; pauses `from` when the pipe, or what waits for the start, is full. */
  private send(b: Buffer, from: Readable): void {
    const stdin = this.stdin;
    if (stdin) {
      if (stdin.write(b)) return;
      if (this.held.size === 0) stdin.once('drain', () => this.release());
    } else {
      this.pending.push(b);
      this.pendingBytes += b.length;
      if (this.pendingBytes < PENDING_LIMIT) return;
    }
    from.pause();
    this.held.add(from);
  }

  private release(): void {
    for (const input of this.held) input.resume();
    this.held.clear();
  }

  private pipeInput(input: Readable, keys: Buffer, detach: () => void): void {
    if (!this.openStdin) {
      input.resume(); // nothing reads it; drain so the client is not blocked
      return;
    }
    let held = 0; // bytes of `keys` seen at the end of the input so far, not yet passed on
    const onData = (chunk: Buffer) => {
      if (keys.length === 0) return void this.send(chunk, input);
      const out: number[] = [];
      for (const byte of chunk) {
        if (byte === keys[held]) {
          if (++held === keys.length) {
            // Bytes before the sequence go through; the sequence itself does not.
            if (out.length) this.send(Buffer.from(out), input);
            input.off('data', onData);
            input.off('end', onEnd);
            detach();
            return;
          }
          continue;
        }
        out.push(...keys.subarray(0, held));
        held = 0;
        if (byte === keys[0]) held = 1;
        else out.push(byte);
      }
      if (out.length) this.send(Buffer.from(out), input);
    };
    const onEnd = () => {
      if (!this.stdinOnce) return;
      if (this.stdin) this.stdin.end();
      else this.endPending = true;
    };
    input.on('data', onData);
    input.on('end', onEnd);
    input.resume(); // it may have been paused while the request was read
  }
}

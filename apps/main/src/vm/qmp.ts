// A minimal QMP client: connect, negotiate capabilities, run one command.
// QEMU's control protocol is JSON objects, one per line, on a socket.
import net from 'node:net';
import type { QmpEndpoint } from './qemu-args.js';

export class QmpError extends Error {
  override name = 'QmpError';
}

/**
 * Runs `command` and resolves with its `return` value. Events QEMU sends
 * meanwhile are ignored. Rejects if QEMU answers with an error, closes the
 * socket first, or does not answer within timeoutMs.
 */
export function qmpCommand(endpoint: QmpEndpoint, command: string, timeoutMs = 5000): Promise<unknown> {
  const where = 'unix' in endpoint ? endpoint.unix : `127.0.0.1:${endpoint.tcpPort}`;
  return new Promise((resolve, reject) => {
    const sock = 'unix' in endpoint ? net.connect(endpoint.unix) : net.connect(endpoint.tcpPort, '127.0.0.1');
    let buf = '';
    let stage: 'greeting' | 'capabilities' | 'command' = 'greeting';
    const done = (err: Error | null, value?: unknown) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(() => done(new QmpError(`QMP ${command} on ${where}: no answer within ${timeoutMs} ms`)), timeoutMs);
    sock.on('error', (err) => done(new QmpError(`QMP ${command} on ${where}: ${err.message}`)));
    sock.on('close', () => done(new QmpError(`QMP ${command} on ${where}: QEMU closed the connection`)));
    sock.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      let nl;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return done(new QmpError(`QMP on ${where}: not JSON: ${line.slice(0, 200)}`));
        }
        if ('event' in msg) continue;
        if (stage === 'greeting' && 'QMP' in msg) {
          stage = 'capabilities';
          sock.write('{"execute":"qmp_capabilities"}\n');
        } else if ('error' in msg) {
          const e = msg.error as { desc?: string };
          return done(new QmpError(`QMP ${stage === 'command' ? command : 'qmp_capabilities'} on ${where}: ${e.desc ?? JSON.stringify(e)}`));
        } else if (stage === 'capabilities' && 'return' in msg) {
          stage = 'command';
          sock.write(JSON.stringify({ execute: command }) + '\n');
        } else if (stage === 'command' && 'return' in msg) {
          return done(null, msg.return);
        }
      }
    });
  });
}

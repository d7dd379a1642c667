/**
 * A hijacked request to the engine (exec start, attach): sent with
 * `Upgrade: tcp`; after the engine's `101` the connection is a raw two-way
 * byte stream. Any other answer is the engine refusing (no such exec, not
 * running...) and becomes an error carrying its status and message.
 */
import { request } from 'node:http';
import type { Socket } from 'node:net';
import { engineErrorMessage } from './engine-client.js';

export interface HijackRequest {
  method: string;
  path: string;
  /** Sent as JSON when not undefined. */
  body?: unknown;
  /** Gives up if the engine has not answered in time (default 30 s). */
  timeoutMs?: number;
}

/** Resolves with the upgraded connection; output bytes already received are pushed back onto it. */
export function engineHijack(socketPath: string, req: HijackRequest): Promise<Socket> {
  const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
  const headers: Record<string, string> = { host: 'berth', connection: 'Upgrade', upgrade: 'tcp' };
  if (payload) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(payload.length);
  }
  return new Promise((resolve, reject) => {
    const r = request({ socketPath, method: req.method, path: req.path, headers });
    const timer = setTimeout(() => r.destroy(new Error(`the engine did not answer ${req.method} ${req.path} within ${(req.timeoutMs ?? 30_000) / 1000} s`)), req.timeoutMs ?? 30_000);
    r.once('upgrade', (_res, socket: Socket, head: Buffer) => {
      clearTimeout(timer);
      if (head.length) socket.unshift(head);
      resolve(socket);
    });
    r.once('response', (res) => {
      clearTimeout(timer);
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => {
        const status = res.statusCode ?? 0;
        const message = status >= 400 ? engineErrorMessage(status, Buffer.concat(chunks)) : `the engine answered ${status} instead of switching protocols`;
        reject(Object.assign(new Error(message), { status: status >= 400 ? status : 502 }));
      });
    });
    r.once('error', (err) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`the engine at unix://${socketPath}: ${err.message}`), { status: 502 }));
    });
    r.end(payload);
  });
}

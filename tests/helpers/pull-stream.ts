/**
 * A pull through the Engine API (`POST /images/create`) whose progress can
 * be watched as it streams and whose client can go away mid-pull: what the
 * docker CLI does, with the disconnect under the test's control.
 */
import { request, type ClientRequest } from 'node:http';

export interface PullStream {
  /** Progress messages received so far. */
  messages: Record<string, unknown>[];
  /** Resolves when the answer ends (or the client went away): the status and every message. */
  done: Promise<{ status: number; messages: Record<string, unknown>[]; error?: string }>;
  /** True once `done` resolved. */
  ended(): boolean;
  /** The client goes away: closes its connection mid-pull. */
  disconnect(): void;
}

export function startPull(socket: string, ref: string): PullStream {
  const at = ref.lastIndexOf(':');
  const [fromImage, tag] = at > ref.lastIndexOf('/') ? [ref.slice(0, at), ref.slice(at + 1)] : [ref, 'latest'];
  const path = `/images/create?fromImage=${encodeURIComponent(fromImage)}&tag=${encodeURIComponent(tag)}`;
  const messages: Record<string, unknown>[] = [];
  let finished = false;
  let req: ClientRequest;
  const done = new Promise<{ status: number; messages: Record<string, unknown>[]; error?: string }>((resolve) => {
    const finish = (status: number, error?: string) => {
      finished = true;
      resolve({ status, messages, ...(error ? { error } : {}) });
    };
    req = request({ socketPath: socket, method: 'POST', path, headers: { host: 'docker' } }, (res) => {
      let rest = '';
      res.setEncoding('utf8');
      res.on('data', (text: string) => {
        const lines = (rest + text).split('\n');
        rest = lines.pop()!;
        for (const l of lines) if (l.trim()) messages.push(JSON.parse(l) as Record<string, unknown>);
      });
      res.on('end', () => finish(res.statusCode ?? 0));
      res.on('error', (e) => finish(res.statusCode ?? 0, e.message));
      res.on('close', () => finished || finish(res.statusCode ?? 0, 'closed'));
    });
    req.on('error', (e) => finished || finish(0, e.message));
    req.end();
  });
  return { messages, done, ended: () => finished, disconnect: () => req.destroy() };
}

/**
 * The web-mode transport: the BerthBridge over the dashboard server's HTTP
 * routes (apps/main/src/web/web-server.ts). Every request carries the
 * run's token in the X-Berth-Token header (web-token.ts says where it comes from).
 */
import type { BerthBridge, CallResult, StreamMessage } from '@berth/api';
import { LineSplitter } from '@berth/api';
import { takeWebToken } from './web-token.js';

export function httpBridge(base = '', token = takeWebToken()): BerthBridge {
  // Without a token the API answers 401, and that message is what the page shows.
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(token ? { 'x-berth-token': token } : {}) };
  return {
    async call(name, args) {
      let res: Response;
      try {
        res = await fetch(`${base}/api/call/${name}`, { method: 'POST', headers, body: JSON.stringify(args) });
      } catch (err) {
        return { ok: false, error: { message: `The dashboard server is not reachable: ${String(err)}`, name: 'NetworkError', status: 503 } };
      }
      const text = await res.text();
      try {
        return JSON.parse(text) as CallResult;
      } catch {
        return { ok: false, error: { message: text.trim() || `HTTP ${res.status}`, name: 'HttpError', status: res.status } };
      }
    },

    stream(name, args, onMessage) {
      const abort = new AbortController();
      let finished = false;
      const deliver = (m: StreamMessage) => {
        if (finished) return;
        if ('end' in m || 'error' in m) finished = true;
        onMessage(m);
      };
      void (async () => {
        try {
          const res = await fetch(`${base}/api/stream/${name}`, {
            method: 'POST',
            headers,
            body: JSON.stringify(args),
            signal: abort.signal,
          });
          if (!res.ok || !res.body) {
            deliver({ error: { message: (await res.text()).trim() || `HTTP ${res.status}`, name: 'HttpError', status: res.status } });
            return;
          }
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          const lines = new LineSplitter();
          for (;;) {
            const { value, done } = await reader.read();
            const batch = done ? lines.end() : lines.push(value);
            for (const line of batch) deliver(JSON.parse(line) as StreamMessage);
            if (done) break;
          }
          deliver({ error: { message: 'the stream ended unexpectedly', name: 'NetworkError', status: 502 } });
        } catch (err) {
          if (!abort.signal.aborted) deliver({ error: { message: `stream ${name}: ${String(err)}`, name: 'NetworkError', status: 503 } });
        }
      })();
      return () => {
        finished = true;
        abort.abort();
      };
    },
  };
}

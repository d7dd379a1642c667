/**
 * Main's side of both transports: runs a call or a stream named by the
 * renderer against the service, turning every outcome into the wire
 * envelopes of @berth/api. Unknown names and non-array arguments are
 * refused here, once, for IPC and HTTP alike.
 */
import { isCallName, isStreamName, toWireError, type CallResult, type StreamMessage } from '@berth/api';
import type { BerthService } from './berth-service.js';

type AnyCall = (...args: unknown[]) => Promise<unknown>;
type AnyStream = (signal: AbortSignal, ...args: unknown[]) => AsyncIterable<unknown>;

export async function dispatchCall(service: BerthService, name: unknown, args: unknown): Promise<CallResult> {
  if (!isCallName(name)) return { ok: false, error: { message: `no such call: ${String(name)}`, name: 'BadRequest', status: 404 } };
  if (!Array.isArray(args)) return { ok: false, error: { message: 'call arguments must be an array', name: 'BadRequest', status: 400 } };
  try {
    return { ok: true, value: await (service[name] as AnyCall)(...args) };
  } catch (err) {
    return { ok: false, error: toWireError(err) };
  }
}

/**
 * Runs a stream until it ends, fails or `signal` aborts, sending each message.
 * Always sends exactly one final `{end}` or `{error}` unless aborted.
 */
export async function dispatchStream(
  service: BerthService,
  name: unknown,
  args: unknown,
  signal: AbortSignal,
  send: (m: StreamMessage) => void,
): Promise<void> {
  if (!isStreamName(name)) return send({ error: { message: `no such stream: ${String(name)}`, name: 'BadRequest', status: 404 } });
  if (!Array.isArray(args)) return send({ error: { message: 'stream arguments must be an array', name: 'BadRequest', status: 400 } });
  try {
    for await (const item of (service[name] as AnyStream)(signal, ...args)) {
      if (signal.aborted) return;
      send({ item });
    }
    if (!signal.aborted) send({ end: true });
  } catch (err) {
    if (!signal.aborted) send({ error: toWireError(err) });
  }
}

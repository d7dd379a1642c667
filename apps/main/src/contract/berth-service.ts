/**
 * Main's side of the @berth/api contract: the service both transports run
 * (electron/ipc.ts, web/web-server.ts, through dispatch.ts) and the
 * dashboard implements (dashboard/dashboard-service.ts). It lives here, not
 * in the package, because its streams stop on the platform's AbortSignal,
 * a type the package is compiled without.
 */
import type { BerthCalls, BerthStreams, CallName, StreamName } from '@berth/api';

/** What the service implements: each call answers a promise, each stream an async iterable. Streams stop when `signal` aborts. */
export type BerthService = {
  [K in CallName]: (...args: Parameters<BerthCalls[K]>) => Promise<ReturnType<BerthCalls[K]>>;
} & {
  [K in StreamName]: (signal: AbortSignal, ...args: Parameters<BerthStreams[K]>) => AsyncIterable<ReturnType<BerthStreams[K]>>;
};

/**
 * Registries on the host's loopback, reached from inside the VM.
 *
 * In the VM, `localhost:5000` is the guest's own loopback, not the user's
 * machine where `docker pull localhost:5000/x` means it. QEMU's user
 * networking forwards the host gateway address (10.0.2.2) to the host's
 * 127.0.0.1, so with `--host-gateway 10.0.2.2` the agent dials loopback
 * registries there instead.
 *
 * Contract of `loopbackDispatcher(gateway)`: a fetch `dispatcher` that sends
 * each request whose URL host is loopback (registry-client isLoopbackDomain)
 * to the same port on `gateway`, with the `Host` header the URL had (so the
 * registry builds its Location headers and auth challenges for the name the
 * user wrote, and redirects to it are mapped again); every other request
 * goes out unchanged. References, image names and error messages keep the
 * loopback name.
 *
 * It wraps fetch's own global dispatcher (undici's Agent, shared across
 * undici copies under the `undici.globalDispatcher.1` symbol, which undici
 * sets before it dispatches anything), so pooling and keep-alive stay as
 * they are.
 */

interface DispatchOptions {
  origin?: string | URL;
  headers?: Record<string, string | string[] | undefined> | string[] | null;
  [key: string]: unknown;
}

interface Dispatcher {
  dispatch(opts: DispatchOptions, handler: unknown): boolean;
}

const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');

/** `http://localhost:5000` dialed through `10.0.2.2` is `http://10.0.2.2:5000`; non-loopback origins: undefined. */
export function mappedOrigin(origin: string | URL, gateway: string, isLoopback: (host: string) => boolean): string | undefined {
  const url = new URL(origin);
  if (!isLoopback(url.host)) return undefined;
  const host = gateway.includes(':') && !gateway.startsWith('[') ? `[${gateway}]` : gateway;
  return `${url.protocol}//${host}${url.port ? `:${url.port}` : ''}`;
}

function withHost(headers: DispatchOptions['headers'], host: string): DispatchOptions['headers'] {
  if (Array.isArray(headers)) {
    const out: string[] = [];
    for (let i = 0; i + 1 < headers.length; i += 2) if (headers[i]!.toLowerCase() !== 'host') out.push(headers[i]!, headers[i + 1]!);
    return [...out, 'host', host];
  }
  const out: Record<string, string | string[] | undefined> = {};
  for (const [k, v] of Object.entries(headers ?? {})) if (k.toLowerCase() !== 'host') out[k] = v;
  out.host = host;
  return out;
}

export function loopbackDispatcher(gateway: string, isLoopback: (host: string) => boolean): Dispatcher {
  return {
    dispatch(opts, handler) {
      const inner = (globalThis as Record<symbol, unknown>)[GLOBAL_DISPATCHER] as Dispatcher | undefined;
      if (!inner) throw new Error('fetch has no global dispatcher to dial loopback registries through');
      const origin = opts.origin === undefined ? undefined : mappedOrigin(opts.origin, gateway, isLoopback);
      if (!origin) return inner.dispatch(opts, handler);
      return inner.dispatch({ ...opts, origin, headers: withHost(opts.headers, new URL(opts.origin!).host) }, handler);
    },
  };
}

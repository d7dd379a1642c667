/**
 * A lock shared by every process in this network namespace: whoever listens
 * on the abstract unix socket "@berth-lock-NAME" holds it. The kernel frees
 * the name when the holder closes it or dies (kill -9 included), so there is
 * no stale lock file to clean up after a crash, and nothing on disk.
 *
 * Used where two agents on one host (the engine suite runs two at a time; a
 * native engine may run beside others) must not decide the same thing at
 * once, such as which subnet a bridge takes.
 */
import { createServer, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { unavailable } from '../errors.js';

const RETRY_MS = 15;

function tryListen(name: string): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(undefined) : reject(err)));
    server.listen(`\0berth-lock-${name}`, () => resolve(server));
  });
}

/** Runs `fn` while holding the host-wide lock `name`; waits up to `timeoutMs` for it. */
export async function withHostLock<T>(name: string, fn: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let held: Server | undefined;
  while (!(held = await tryListen(name))) {
    if (Date.now() > deadline) {
      throw unavailable(`another berth engine on this host has held the "${name}" lock for ${timeoutMs / 1000} s; if it hangs, stop it and try again`);
    }
    await sleep(RETRY_MS);
  }
  try {
    return await fn();
  } finally {
    await new Promise<void>((resolve) => held!.close(() => resolve()));
  }
}

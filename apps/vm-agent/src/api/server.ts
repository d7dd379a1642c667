import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { unavailable } from '../errors.js';
import type { Router } from './router.js';

/** Creates the HTTP server for the Docker API; no timeouts, since streams (logs -f, events) live long. */
export function createApiServer(router: Router): Server {
  const server = createServer((req, res) => void router.handle(req, res));
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 60_000;
  return server;
}

/**
 * Listens on a Unix socket that only its owner can use (0600): whoever can
 * reach the engine socket is root in the machine. A stale socket file from a
 * crashed run is replaced; one with a live engine behind it is not.
 */
export async function listenUnix(server: Server, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  if (await socketIsLive(path)) {
    throw unavailable(`another engine is already serving ${path}: stop it first, or choose another --host`);
  }
  await rm(path, { force: true });
  const oldMask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(oldMask);
  }
  await chmod(path, 0o600);
}

function socketIsLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

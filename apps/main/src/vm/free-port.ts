import { createServer } from 'node:net';

/**
 * A TCP port free on 127.0.0.1 when asked (for QEMU's SSH forward). Another
 * process may take it before QEMU binds; QEMU then exits saying so.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port from the kernel'))));
    });
  });
}

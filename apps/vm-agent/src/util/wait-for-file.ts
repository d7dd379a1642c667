/**
 * Waits until a file exists: a signal from another process (in the VM, init's
 * "the kernel modules are loaded"). Resolves true when it appeared, false
 * after `timeoutMs`.
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export async function waitForFile(path: string, timeoutMs: number, pollMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (existsSync(path)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(pollMs);
  }
}

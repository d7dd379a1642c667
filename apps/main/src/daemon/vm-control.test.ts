import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { startVm, VmError } from './vm-control.js';
import { vmPaths, writeRunState } from '../vm/vm-state.js';

describe('startVm progress', () => {
  it('a watcher that arrives late still prints every step of the boot, in order, then the failure', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-control-'));
    try {
      const paths = vmPaths(home);
      fs.mkdirSync(paths.runDir, { recursive: true });
      // A daemon (this process stands in for it: its pid is alive) that said two things in its first
      // phase and three more before failing, all before the watcher's first poll.
      fs.writeFileSync(paths.lockFile, `${process.pid}\n`);
      const steps = ['Starting the VM…', 'Booting the VM (tcg, 2 CPUs, 1024 MiB)…', 'The kernel is booting…', 'The agent is starting…', 'no agent'];
      writeRunState(paths, { daemonPid: process.pid, phase: 'failed', message: 'no agent', steps, startedAt: new Date().toISOString() });
      const seen: string[] = [];
      await assert.rejects(
        startVm({ home, overrides: {}, onProgress: (_phase, message) => seen.push(message) }),
        (err: unknown) => err instanceof VmError && err.message === 'no agent',
      );
      assert.deepEqual(seen, steps);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});

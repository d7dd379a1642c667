import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { withHostLock } from './host-lock.js';

test('one holder at a time: the second waits for the first to finish', async () => {
  const name = `t-${randomBytes(4).toString('hex')}`;
  const order: string[] = [];
  const first = withHostLock(name, async () => {
    order.push('first in');
    await sleep(100);
    order.push('first out');
  });
  await sleep(20);
  const second = withHostLock(name, async () => {
    order.push('second in');
  });
  await Promise.all([first, second]);
  assert.deepEqual(order, ['first in', 'first out', 'second in']);
});

test('a holder killed -9 in another process frees the lock; a held one times out with a clear error', async () => {
  const name = `t-${randomBytes(4).toString('hex')}`;
  // Another process takes the lock the same way (listening on the abstract name) and never lets go.
  const holder = spawn(process.execPath, ['-e', `require('net').createServer().listen('\\0berth-lock-${name}', () => console.log('held'))`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await once(holder.stdout!, 'data');
    await assert.rejects(
      withHostLock(name, async () => 'never', 200),
      /another berth engine on this host has held the "t-[0-9a-f]+" lock/,
    );
    holder.kill('SIGKILL');
    await once(holder, 'exit');
    assert.equal(await withHostLock(name, async () => 'mine', 2000), 'mine');
  } finally {
    holder.kill('SIGKILL');
  }
});

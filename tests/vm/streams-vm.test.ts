/**
 * The two hangs of #16 on the product's path: the docker CLI on the host
 * socket, main's forwarding over the SSH link, the agent in the guest. Piped
 * stdin must cross main's half-close (the CLI shuts down its write side, the
 * answer still comes back) and the link's flow control; a follow opened as
 * the container exits must end. The engine suite covers both in depth
 * natively (stdin-pipe, logs-follow-race); this is the same shape, lean,
 * under TCG.
 *
 * Boots with `berth start` (tests/helpers/vm.ts); needs `npm run build`.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { demuxBody, engineRequest } from '../helpers/docker.js';
import { buildBusyboxImage } from '../helpers/test-images.js';
import { useVmWithImage } from '../helpers/vm-with-image.js';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

describe('stdin and follows through the VM host socket', { timeout: 900_000 }, () => {
  const fx = useVmWithImage('berth-streams-', 'beginRun', 'streams/busybox', () => buildBusyboxImage());

  test('300 KB of random bytes through docker run -i and docker exec -i arrive whole', async () => {
    const data = randomBytes(300_000);
    data[10] = 0x10; // the default detach keys, which are data without a terminal
    data[11] = 0x11;
    const run = await fx.docker.run(['run', '-i', '--rm', fx.image, 'md5sum'], { input: data, timeoutMs: 180_000 });
    assert.equal(run.timedOut, false, `docker run -i hung; stderr: ${run.stderr}`);
    assert.equal(run.stdout.trim(), `${md5(data)}  -`, run.stderr);
    await fx.docker.ok(['run', '-d', '--name', 'stdin-box', fx.image, 'sleep', '3600'], { timeoutMs: 120_000 });
    const exec = await fx.docker.run(['exec', '-i', 'stdin-box', 'md5sum'], { input: data, timeoutMs: 180_000 });
    assert.equal(exec.timedOut, false, `docker exec -i hung; stderr: ${exec.stderr}`);
    assert.equal(exec.stdout.trim(), `${md5(data)}  -`, exec.stderr);
    await fx.docker.run(['rm', '-f', 'stdin-box']);
  });

  test('start, follow at once, wait: each follow ends with the output (10 rounds)', async () => {
    const sock = fx.vm.socket;
    for (let round = 0; round < 10; round++) {
      const created = await engineRequest(sock, 'POST', '/containers/create', { body: { Image: fx.image, Cmd: ['sh', '-c', 'echo hi'] }, timeoutMs: 60_000 });
      assert.equal(created.status, 201, created.text());
      const id = created.json<{ Id: string }>().Id;
      assert.equal((await engineRequest(sock, 'POST', `/containers/${id}/start`, { timeoutMs: 60_000 })).status, 204);
      if (round % 5) await sleep((round % 5) * 10);
      const follow = engineRequest(sock, 'GET', `/containers/${id}/logs?follow=1&stdout=1&stderr=1`, { timeoutMs: 20_000 });
      const wait = engineRequest(sock, 'POST', `/containers/${id}/wait`, { timeoutMs: 60_000 });
      const [logs, waited] = await Promise.all([follow, wait]);
      assert.equal(waited.json<{ StatusCode: number }>().StatusCode, 0);
      assert.equal(demuxBody(logs.body).stdout.toString(), 'hi\n', `round ${round}`);
      await engineRequest(sock, 'DELETE', `/containers/${id}`, { timeoutMs: 60_000 });
    }
  });
});

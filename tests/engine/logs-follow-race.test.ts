/**
 * A follow opened as the container exits ends, with the whole output (#16).
 *
 * docker-py's `containers.run()` (not detached) and dockerode users do this:
 * create, start, `GET /containers/{id}/logs?follow=1` at once, then `wait`.
 * With a command as short as `echo hi` the exit lands somewhere around the
 * follow's arrival; each round opens it a little later after the start, so
 * the rounds sweep the exit's whole handling (output drained, log closed,
 * record updated). A follow that subscribed after the log's end would read
 * forever: every request here has a time limit, so that is a failure, not a
 * hang. Raw HTTP on the agent's socket, as those libraries speak it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { demuxBody, engineRequest } from '../helpers/docker.js';
import { useContainersFixture } from './containers-fixture.js';

const ROUNDS = Number(process.env.BERTH_FOLLOW_ROUNDS ?? 100);
/** The follow is opened 0, 1, ... SWEEP_MS - 1 ms after the start's answer. */
const SWEEP_MS = 25;

describe('logs follow racing the exit', () => {
  const fx = useContainersFixture();

  test(`${ROUNDS} rounds of start, follow at once, wait: each follow ends with the output`, { timeout: ROUNDS * 15_000 }, async () => {
    const sock = fx.agent.current.socket;
    const hung: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const created = await engineRequest(sock, 'POST', '/containers/create', { body: { Image: fx.image, Cmd: ['sh', '-c', 'echo hi'] } });
      assert.equal(created.status, 201, created.text());
      const id = created.json<{ Id: string }>().Id;
      const started = await engineRequest(sock, 'POST', `/containers/${id}/start`);
      assert.equal(started.status, 204, started.text());
      const delay = round % SWEEP_MS;
      if (delay) await sleep(delay);
      const follow = engineRequest(sock, 'GET', `/containers/${id}/logs?follow=1&stdout=1&stderr=1`, { timeoutMs: 5000 });
      const wait = engineRequest(sock, 'POST', `/containers/${id}/wait`, { timeoutMs: 10_000 });
      const [logs, waited] = await Promise.all([follow.catch(() => undefined), wait]);
      assert.equal(waited.json<{ StatusCode: number }>().StatusCode, 0);
      if (!logs) hung.push(round);
      else {
        assert.equal(logs.status, 200);
        assert.equal(demuxBody(logs.body).stdout.toString(), 'hi\n', `round ${round}: the follow's output`);
      }
      const removed = await engineRequest(sock, 'DELETE', `/containers/${id}`);
      assert.equal(removed.status, 204, removed.text());
    }
    assert.deepEqual(hung, [], `follows still open 5 s after the container's exit (rounds ${hung.join(', ')})`);
  });
});

/**
 * kill -9 of the agent in the middle of create, start, a running
 * container's life and rm, at random moments: after the restart every
 * container listed is whole, nothing half made is left on the host (mounts,
 * cgroups, veths, records, endpoints, addresses), and the same operation
 * can be done again. And a killed agent under a client in `logs -f` or
 * `exec`: the client ends, it does not hang.
 *
 * Rounds per operation: BERTH_FAULT_ROUNDS (default 4; `20` for a soak run).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { engineRequest } from '../helpers/docker.js';
import { useContainersFixture } from './containers-fixture.js';
import { leftovers, NOTHING_LEFT } from './hardening-fixture.js';

const fx = useContainersFixture();
const ROUNDS = Number(process.env.BERTH_FAULT_ROUNDS ?? 4);
const api = (method: string, path: string, body?: object) => engineRequest(fx.agent.current.socket, method, path, { body, timeoutMs: 30_000 });

/** Sends `op` and kills the agent after a random 0-`windowMs` ms; restarts it. */
async function crashDuring(op: () => Promise<unknown>, windowMs: number): Promise<void> {
  const pending = op().catch(() => undefined);
  await sleep(Math.random() * windowMs);
  await fx.agent.current.kill9();
  await pending;
  await fx.agent.current.restart();
}

/** Every listed container is whole (inspect works, a state dockerd has) and nothing else is left. */
async function assertConsistent(what: string, ids: string[]): Promise<void> {
  const listed = (await api('GET', '/containers/json?all=1')).json<{ Id: string; State: string; Names: string[] }[]>();
  for (const c of listed) {
    const r = await api('GET', `/containers/${c.Id}/json`);
    assert.equal(r.status, 200, `${what}: ${c.Id} listed but not inspectable: ${r.text()}`);
    const s = r.json<{ State: { Status: string; Running: boolean } }>().State;
    assert.ok(['created', 'running', 'exited'].includes(s.Status), `${what}: ${c.Id} is ${s.Status} after a restart`);
  }
  const names = listed.map((c) => `${c.Names[0]} ${c.Id.slice(0, 12)} ${c.State}`).join(', ');
  assert.deepEqual(await leftovers(fx.agent.current, ids), NOTHING_LEFT, `${what}: left behind (containers: ${names})`);
}

const create = (name: string) => api('POST', `/containers/create?name=${name}`, { Image: fx.image, Cmd: ['sleep', '1000'] });

describe(`kill -9 of the agent, ${ROUNDS} rounds each`, () => {
  test('during create: the container is whole or gone, and the name can be used', async () => {
    const ids: string[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const name = `crash-create-${i}`;
      await crashDuring(() => create(name), 40);
      await assertConsistent(`create round ${i}`, ids);
      // Whole or gone: if it is listed, it starts; if not, the name is free.
      const again = await create(name);
      if (again.status === 409) assert.equal((await api('POST', `/containers/${name}/start`)).status, 204);
      else assert.equal(again.status, 201, again.text());
      const rm = await api('DELETE', `/containers/${name}?force=1`);
      assert.equal(rm.status, 204, rm.text());
    }
    await assertConsistent('create, after rm', ids);
  });

  test('during start: exited or created after the restart, startable, nothing of the old run left', async () => {
    const ids: string[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const name = `crash-start-${i}`;
      const c = await create(name);
      assert.equal(c.status, 201, c.text());
      ids.push(c.json<{ Id: string }>().Id);
      await crashDuring(() => api('POST', `/containers/${name}/start`), 60);
      await assertConsistent(`start round ${i}`, ids);
      const started = await api('POST', `/containers/${name}/start`);
      assert.equal(started.status, 204, started.text());
      const ok = await api('POST', `/containers/${name}/exec`, { Cmd: ['true'] });
      assert.equal(ok.status, 201, ok.text());
      assert.equal((await api('DELETE', `/containers/${name}?force=1`)).status, 204);
    }
    await assertConsistent('start, after rm', ids);
  });

  test('during a running container\'s life: exited after the restart, its process gone, startable again', async () => {
    const ids: string[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const name = `crash-run-${i}`;
      const c = await create(name);
      ids.push(c.json<{ Id: string }>().Id);
      assert.equal((await api('POST', `/containers/${name}/start`)).status, 204);
      const pid = (await api('GET', `/containers/${name}/json`)).json<{ State: { Pid: number } }>().State.Pid;
      await crashDuring(() => sleep(10), 50);
      const state = (await api('GET', `/containers/${name}/json`)).json<{ State: { Status: string; Pid: number } }>().State;
      assert.equal(state.Status, 'exited');
      assert.equal(state.Pid, 0);
      const { existsSync, readFileSync } = await import('node:fs');
      const alive = existsSync(`/proc/${pid}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      assert.ok(!alive, `the old process ${pid} still runs`);
      await assertConsistent(`running round ${i}`, ids);
      assert.equal((await api('POST', `/containers/${name}/start`)).status, 204);
      assert.equal((await api('DELETE', `/containers/${name}?force=1`)).status, 204);
    }
    await assertConsistent('running, after rm', ids);
  });

  test('during rm: the container is listed whole or gone, and rm can be done again', async () => {
    const ids: string[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const name = `crash-rm-${i}`;
      const c = await create(name);
      ids.push(c.json<{ Id: string }>().Id);
      assert.equal((await api('POST', `/containers/${name}/start`)).status, 204);
      await crashDuring(() => api('DELETE', `/containers/${name}?force=1`), 60);
      await assertConsistent(`rm round ${i}`, ids);
      const again = await api('DELETE', `/containers/${name}?force=1`);
      assert.ok(again.status === 204 || again.status === 404, again.text());
      await assertConsistent(`rm round ${i}, again`, ids);
    }
  });
});

describe('clients of a killed agent', () => {
  test('logs -f and exec end with an error instead of hanging', async () => {
    await fx.docker.ok(['run', '-d', '--name', 'crash-follow', fx.image, 'sh', '-c', 'while true; do echo tick; sleep 0.2; done']);
    const logs = fx.docker.run(['logs', '-f', 'crash-follow'], { timeoutMs: 20_000 });
    const exec = fx.docker.run(['exec', 'crash-follow', 'sh', '-c', 'echo in-exec; sleep 1000'], { timeoutMs: 20_000 });
    await sleep(1500);
    await fx.agent.current.kill9();
    const [l, e] = await Promise.all([logs, exec]);
    for (const [what, r] of [['logs -f', l], ['exec', e]] as const) {
      assert.ok(!r.timedOut, `${what} hung after the agent died`);
    }
    assert.match(l.stdout, /tick/);
    assert.match(e.stdout, /in-exec/);
    await fx.agent.current.restart();
    assert.equal((await api('GET', '/containers/crash-follow/json')).json<{ State: { Status: string } }>().State.Status, 'exited');
    await fx.docker.ok(['start', 'crash-follow']);
    await fx.docker.ok(['exec', 'crash-follow', 'true']);
    await fx.docker.ok(['rm', '-f', 'crash-follow']);
    await assertConsistent('after logs -f and exec', []);
  });
});

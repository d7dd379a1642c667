/**
 * kill -9 of the agent in the middle of create, start, a running
 * container's life, rm and a pull, at random moments: after the restart
 * every container listed is whole, nothing half made is left on the host
 * (mounts, cgroups, veths, records, endpoints, addresses), the image store
 * walks clean (every listed image has its config, blobs and layers; no
 * half-made or unowned blob or layer), and the same operation can be done
 * again. And a killed agent under a client in `logs -f` or `exec`: the
 * client ends, it does not hang.
 *
 * Rounds per operation: BERTH_FAULT_ROUNDS (default 4; `20` for a soak run).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { engineRequest } from '../helpers/docker.js';
import { startPull } from '../helpers/pull-stream.js';
import { assembleImage, buildBusyboxImage, makeLayer, pushImage } from '../helpers/test-images.js';
import { useContainersFixture } from './containers-fixture.js';
import { assertImagesWhole, leftovers, NOTHING_LEFT } from './hardening-fixture.js';

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

  test("during a running container's life: exited after the restart, its process gone, startable again", async () => {
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

/** Where a pull was when it was killed, from the progress its client had received. */
function pullPhase(messages: Record<string, unknown>[], layers: number): string {
  const statuses = messages.map((m) => String(m.status ?? ''));
  if (statuses.some((s) => s.startsWith('Digest:'))) return 'recorded';
  if (statuses.filter((s) => s === 'Pull complete').length === layers) return 'recording';
  if (statuses.some((s) => s === 'Downloading' || s === 'Pull complete')) return 'layers';
  if (statuses.some((s) => s.startsWith('Pulling from'))) return 'config';
  return 'manifest';
}

describe(`kill -9 of the agent during a pull, ${ROUNDS} rounds`, () => {
  test('after the restart the store walks clean, the image is whole or absent, and the pull works', async () => {
    const started = Date.now();
    // Busybox's two layers (held already: the fixture's image) and four of
    // 4 MiB of random bytes and 200 small files each: kills land in the
    // manifest and config fetch, the downloads, the unpacks, and the record.
    const base = await buildBusyboxImage({});
    const extra = [];
    for (let i = 0; i < 4; i++) {
      const files = Array.from({ length: 200 }, (_, f) => ({ path: `data/${i}/f${f}.txt`, content: `layer ${i} file ${f}\n` }));
      extra.push(await makeLayer([{ path: `data/${i}/big.bin`, content: randomBytes(4 << 20) }, ...files]));
    }
    const img = assembleImage([...base.layers, ...extra], { labels: { crash: 'pull' } });
    await pushImage({ url: fx.reg.url }, 'test/crash-pull', 'latest', img);
    const ref = `${fx.reg.domain}/test/crash-pull:latest`;
    const layers = img.layers.length;
    const pullWhole = async (what: string) => {
      const r = await startPull(fx.agent.current.socket, ref).done;
      assert.deepEqual(
        r.messages.filter((m) => m.error !== undefined),
        [],
        `${what}: the pull failed`,
      );
      assert.equal(r.status, 200, what);
      const inspect = await api('GET', `/images/${ref}/json`);
      assert.equal(inspect.status, 200, `${what}: ${inspect.text()}`);
      assert.equal(inspect.json<{ Id: string }>().Id, img.config.digest);
      assert.equal((await api('DELETE', `/images/${ref}`)).status, 200);
    };
    const t0 = Date.now();
    await pullWhole('the timing pull');
    const pullMs = Date.now() - t0;
    const phases: Record<string, number> = {};
    for (let i = 0; i < ROUNDS; i++) {
      const pull = startPull(fx.agent.current.socket, ref);
      // Every third round kills within the first tenth: the manifest and config fetch are short.
      await sleep(Math.random() * pullMs * (i % 3 === 0 ? 0.1 : 1.1));
      await fx.agent.current.kill9();
      await pull.done;
      const phase = pullPhase(pull.messages, layers);
      phases[phase] = (phases[phase] ?? 0) + 1;
      await fx.agent.current.restart();
      await assertImagesWhole(fx.agent.current, `pull round ${i} (killed in ${phase})`);
      // Whole or absent: if the killed pull recorded it, it inspects with every layer.
      const listed = await api('GET', `/images/${ref}/json`);
      if (listed.status === 200) assert.equal(listed.json<{ RootFS: { Layers: string[] } }>().RootFS.Layers.length, layers);
      else assert.equal(listed.status, 404, listed.text());
      await pullWhole(`pull round ${i}, again`);
      await assertImagesWhole(fx.agent.current, `pull round ${i}, after rmi`);
    }
    await assertConsistent('pull, after all rounds', []);
    const seen = Object.entries(phases)
      .map(([p, n]) => `${p} ${n}`)
      .join(', ');
    process.stderr.write(`# pull crash: ${ROUNDS} rounds (killed in: ${seen}), a pull takes ${pullMs} ms, ${Date.now() - started} ms in all\n`);
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
    for (const [what, r] of [
      ['logs -f', l],
      ['exec', e],
    ] as const) {
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

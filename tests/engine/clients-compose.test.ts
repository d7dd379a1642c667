/**
 * docker-compose 1.29 (Debian's `docker-compose`, Python, talking to the
 * engine through docker-py), unchanged, with only DOCKER_HOST set: a project
 * with two services on a user network (the client finds the web server by
 * its service name), a named volume, a published port, depends_on (on the
 * web service's health check), environment, restart policies and labels. up -d (pulling the image),
 * ps, logs, exec, restart, stop, down -v, and a second up -d after a change
 * recreates only the changed service, keeping the named volume's data.
 *
 * Assertions are on compose's output and on the engine's state through the
 * API (labels, config hash, IDs, restart policy, ports, networks, volumes).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { engineRequest, runCommand, type RunResult } from '../helpers/docker.js';
import { freePort } from '../helpers/net.js';
import { eventually } from './containers-fixture.js';
import { useClientsFixture } from './clients/clients-fixture.js';

const COMPOSE_BIN = process.env.BERTH_COMPOSE_BIN ?? '/usr/bin/docker-compose';
const PROJECT = 'berthcompose';

const fx = useClientsFixture();
let dir = '';
let port = 0;

/** The project file; `greeting` is the web service's environment, the thing the second up changes. */
function composeFile(image: string, greeting: string): string {
  // Each command exits on SIGTERM: PID 1 ignores signals it has no handler for.
  return `version: "3.8"
services:
  web:
    image: ${image}
    command: ["sh", "-c", "trap 'exit 0' TERM; [ -f /data/first-start ] || date +%s%N > /data/first-start; echo \\"web says $$WEB_GREETING\\" > /data/index.html; echo web-ready; httpd -f -v -p 80 -h /data & wait"]
    environment:
      WEB_GREETING: ${greeting}
    volumes:
      - webdata:/data
    ports:
      - "127.0.0.1:${port}:80"
    networks: [backend]
    restart: unless-stopped
    healthcheck:
      test: ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1/ || exit 1"]
      interval: 300ms
      retries: 3
    labels:
      berth.test.role: web
  client:
    image: ${image}
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do wget -q -O- http://web/ && echo fetched-by-name; sleep 0.3 & wait; done"]
    depends_on:
      web:
        condition: service_healthy
    networks: [backend]
    restart: always
    labels:
      berth.test.role: client
networks:
  backend: {}
volumes:
  webdata: {}
`;
}

async function compose(args: string[], timeoutMs = 90_000): Promise<RunResult> {
  const r = await runCommand(COMPOSE_BIN, ['--ansi', 'never', '-p', PROJECT, ...args], {
    cwd: dir,
    timeoutMs,
    env: { DOCKER_HOST: fx.agent.current.host, COMPOSE_INTERACTIVE_NO_CLI: '1' },
  });
  if (r.code !== 0)
    assert.fail(`docker-compose ${args.join(' ')} exited ${r.code ?? r.signal}${r.timedOut ? ' (timed out)' : ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

async function api<T>(path: string): Promise<T> {
  const r = await engineRequest(fx.agent.current.socket, 'GET', path);
  assert.equal(r.status, 200, `${path}: ${r.text()}`);
  return r.json<T>();
}

interface Summary {
  Id: string;
  Names: string[];
  State: string;
  Labels: Record<string, string>;
}

interface Inspect {
  Id: string;
  State: { Status: string; Running: boolean; StartedAt: string; Health?: { Status: string; Log: { End: string; ExitCode: number }[] } };
  Config: { Env: string[]; Labels: Record<string, string> };
  HostConfig: { RestartPolicy: { Name: string }; PortBindings: Record<string, { HostIp: string; HostPort: string }[]> };
  NetworkSettings: { Ports: Record<string, { HostIp: string; HostPort: string }[] | null>; Networks: Record<string, { Aliases: string[] | null }> };
  Mounts: { Type: string; Name?: string; Destination: string }[];
}

/** The project's containers, by service name. */
async function projectContainers(): Promise<Map<string, Summary>> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${PROJECT}`] }));
  const list = await api<Summary[]>(`/containers/json?all=1&filters=${filters}`);
  return new Map(list.map((c) => [c.Labels['com.docker.compose.service']!, c]));
}

const page = async () => {
  const r = await fetch(`http://127.0.0.1:${port}/`);
  return `${r.status} ${await r.text()}`;
};

describe('docker-compose 1.29', { timeout: 300_000 }, () => {
  before(async () => {
    assert.ok(existsSync(COMPOSE_BIN), `${COMPOSE_BIN} is missing: apt-get install docker-compose`);
    dir = await mkdtemp(join(tmpdir(), 'berth-compose-'));
    port = await freePort();
  });
  after(async () => {
    if (dir) {
      if (fx.agent.current)
        await runCommand(COMPOSE_BIN, ['-p', PROJECT, 'down', '-v'], { cwd: dir, timeoutMs: 60_000, env: { DOCKER_HOST: fx.agent.current.host } });
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('up -d pulls, creates the network, the volume and both services; web is reached by service name and on the published port', async () => {
    await writeFile(join(dir, 'docker-compose.yml'), composeFile(fx.image, 'hello'));
    const up = await compose(['up', '-d']);
    const text = up.stdout + up.stderr;
    assert.match(text, new RegExp(`Pulling web \\(${fx.image.replace(/[.]/g, '\\.')}\\)\\.\\.\\.`));
    assert.match(text, new RegExp(`Creating network "${PROJECT}_backend" with the default driver`));
    assert.match(text, new RegExp(`Creating volume "${PROJECT}_webdata" with default driver`));
    assert.match(text, new RegExp(`Creating ${PROJECT}_web_1 +\\.\\.\\. done`));
    assert.match(text, new RegExp(`Creating ${PROJECT}_client_1 +\\.\\.\\. done`));

    const cs = await projectContainers();
    assert.deepEqual([...cs.keys()].sort(), ['client', 'web']);
    for (const [service, c] of cs) {
      assert.equal(c.State, 'running', service);
      assert.deepEqual(c.Names, [`/${PROJECT}_${service}_1`]);
      assert.equal(c.Labels['berth.test.role'], service);
      assert.match(c.Labels['com.docker.compose.config-hash']!, /^[0-9a-f]{64}$/);
      assert.equal(c.Labels['com.docker.compose.container-number'], '1');
    }
    const web = await api<Inspect>(`/containers/${cs.get('web')!.Id}/json`);
    assert.ok(web.Config.Env.includes('WEB_GREETING=hello'));
    assert.equal(web.HostConfig.RestartPolicy.Name, 'unless-stopped');
    assert.deepEqual(web.NetworkSettings.Ports['80/tcp'], [{ HostIp: '127.0.0.1', HostPort: String(port) }]);
    assert.ok(web.NetworkSettings.Networks[`${PROJECT}_backend`]?.Aliases?.includes('web'), JSON.stringify(web.NetworkSettings.Networks));
    assert.deepEqual(
      web.Mounts.map((m) => [m.Type, m.Name, m.Destination]),
      [['volume', `${PROJECT}_webdata`, '/data']],
    );
    const client = await api<Inspect>(`/containers/${cs.get('client')!.Id}/json`);
    assert.equal(client.HostConfig.RestartPolicy.Name, 'always');
    // condition: service_healthy: compose started the client only once web's check had passed.
    assert.equal(web.State.Health?.Status, 'healthy');
    const firstPass = web.State.Health!.Log.find((r) => r.ExitCode === 0)!;
    assert.ok(Date.parse(client.State.StartedAt) >= Date.parse(firstPass.End), `${client.State.StartedAt} < ${firstPass.End}`);

    await eventually('the page on the published port', async () => (await page().catch(() => '')) === '200 web says hello\n');
    await eventually(
      'the client fetched web by name',
      async () => (await compose(['logs', '--no-color', 'client'])).stdout.includes('fetched-by-name'),
      20_000,
    );

    const nets = await api<{ Name: string; Labels: Record<string, string> }[]>('/networks');
    assert.equal(nets.find((n) => n.Name === `${PROJECT}_backend`)?.Labels['com.docker.compose.network'], 'backend');
    const vol = await api<{ Name: string; Labels: Record<string, string> }>(`/volumes/${PROJECT}_webdata`);
    assert.equal(vol.Labels['com.docker.compose.volume'], 'webdata');
  });

  test('ps, logs and exec', async () => {
    const ps = await compose(['ps']);
    const rows = ps.stdout.trim().split('\n').slice(2);
    assert.equal(rows.length, 2, ps.stdout);
    assert.match(
      rows.find((r) => r.startsWith(`${PROJECT}_web_1 `))!,
      new RegExp(`\\s+Up \\(healthy\\)\\s+127\\.0\\.0\\.1:${port}->80/tcp\\s*$`),
    );
    assert.match(
      rows.find((r) => r.startsWith(`${PROJECT}_client_1 `))!,
      /\s+Up\s*$/,
    );

    const logs = await compose(['logs', '--no-color', 'web']);
    assert.match(logs.stdout, /web_1 +\| web-ready/);
    assert.match(logs.stdout, /web_1 +\| \[[^\]]+\]:\d+: response:200/);

    const ex = await compose(['exec', '-T', 'web', 'sh', '-c', 'cat /data/index.html; echo "$WEB_GREETING"; hostname']);
    const [line1, line2, host] = ex.stdout.trim().split('\n');
    assert.equal(line1, 'web says hello');
    assert.equal(line2, 'hello');
    assert.equal(host, (await projectContainers()).get('web')!.Id.slice(0, 12));
  });

  test('up -d again: nothing changed, nothing recreated; a changed environment recreates only web, the volume keeps its data', async () => {
    const before = await projectContainers();
    const firstStart = (await compose(['exec', '-T', 'web', 'cat', '/data/first-start'])).stdout;

    const same = await compose(['up', '-d']);
    assert.match(same.stdout + same.stderr, new RegExp(`${PROJECT}_web_1 is up-to-date`));
    assert.match(same.stdout + same.stderr, new RegExp(`${PROJECT}_client_1 is up-to-date`));
    const unchanged = await projectContainers();
    assert.equal(unchanged.get('web')!.Id, before.get('web')!.Id);
    assert.equal(unchanged.get('client')!.Id, before.get('client')!.Id);

    await writeFile(join(dir, 'docker-compose.yml'), composeFile(fx.image, 'changed'));
    const changed = await compose(['up', '-d']);
    assert.match(changed.stdout + changed.stderr, new RegExp(`Recreating ${PROJECT}_web_1 +\\.\\.\\. done`));
    assert.match(changed.stdout + changed.stderr, new RegExp(`${PROJECT}_client_1 is up-to-date`));
    const after = await projectContainers();
    assert.notEqual(after.get('web')!.Id, before.get('web')!.Id);
    assert.notEqual(after.get('web')!.Labels['com.docker.compose.config-hash'], before.get('web')!.Labels['com.docker.compose.config-hash']);
    assert.equal(after.get('client')!.Id, before.get('client')!.Id);
    assert.equal((await api<Summary[]>('/containers/json?all=1')).length, 2, 'the old web container is gone');

    await eventually('the new page', async () => (await page().catch(() => '')) === '200 web says changed\n');
    assert.equal((await compose(['exec', '-T', 'web', 'cat', '/data/first-start'])).stdout, firstStart);
  });

  test('restart, stop, down -v', async () => {
    const before = await api<Inspect>(`/containers/${PROJECT}_web_1/json`);
    const restart = await compose(['restart']);
    assert.match(restart.stdout + restart.stderr, new RegExp(`Restarting ${PROJECT}_web_1 +\\.\\.\\. done`));
    const restarted = await api<Inspect>(`/containers/${PROJECT}_web_1/json`);
    assert.equal(restarted.Id, before.Id);
    assert.ok(restarted.State.Running);
    assert.ok(Date.parse(restarted.State.StartedAt) > Date.parse(before.State.StartedAt));
    await eventually('the page after restart', async () => (await page().catch(() => '')) === '200 web says changed\n');

    const stop = await compose(['stop']);
    assert.match(stop.stdout + stop.stderr, new RegExp(`Stopping ${PROJECT}_client_1 +\\.\\.\\. done`));
    for (const c of (await projectContainers()).values()) assert.equal(c.State, 'exited');
    const ps = await compose(['ps']);
    assert.match(ps.stdout, new RegExp(`${PROJECT}_web_1 .*Exit 0`));

    const down = await compose(['down', '-v']);
    const text = down.stdout + down.stderr;
    assert.match(text, new RegExp(`Removing ${PROJECT}_web_1 +\\.\\.\\. done`));
    assert.match(text, new RegExp(`Removing network ${PROJECT}_backend`));
    assert.match(text, new RegExp(`Removing volume ${PROJECT}_webdata`));
    assert.equal((await projectContainers()).size, 0);
    assert.ok(!(await api<{ Name: string }[]>('/networks')).some((n) => n.Name === `${PROJECT}_backend`));
    assert.equal((await engineRequest(fx.agent.current.socket, 'GET', `/volumes/${PROJECT}_webdata`)).status, 404);
  });
});

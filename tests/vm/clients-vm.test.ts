// docker-compose and Testcontainers again, through the VM's host socket
// (DOCKER_HOST=unix://$BERTH_HOME/run/docker.sock), as in
// tests/engine/clients-compose.test.ts and clients-testcontainers.test.ts
// natively. Here what matters is the path: every API call crosses the SSH
// link to the guest, images come from a registry on the host's loopback (the
// VM maps localhost registries to the host), and published ports are fetched
// on the host through the forwarder. Lean on purpose: the guest runs under
// TCG here, so each case does the client's essential round trip only.
//
// Boots with `berth start` (tests/helpers/vm.ts); needs `npm run build`.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GenericContainer, Wait } from 'testcontainers';
import { engineRequest, runCommand, type RunResult } from '../helpers/docker.js';
import { freePort } from '../helpers/net.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { buildBusyboxImage, pushImage } from '../helpers/test-images.js';
import { startTestVm, type TestVm } from '../helpers/vm.js';

const COMPOSE_BIN = process.env.BERTH_COMPOSE_BIN ?? '/usr/bin/docker-compose';
const PROJECT = 'berthvm';

/** Polls `check` every 250 ms until it holds; TCG makes the guest slow, hence the long default. */
async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    assert.ok(Date.now() < deadline, `${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Two services on a user network (client finds web by name), a named volume, a published port; `greeting` is what the second up changes. */
function composeFile(image: string, port: number, greeting: string): string {
  return `version: "3.8"
services:
  web:
    image: ${image}
    command: ["sh", "-c", "trap 'exit 0' TERM; echo \\"web says $$WEB_GREETING\\" > /data/index.html; echo web-ready; httpd -f -p 80 -h /data & wait"]
    environment:
      WEB_GREETING: ${greeting}
    volumes:
      - webdata:/data
    ports:
      - "127.0.0.1:${port}:80"
    networks: [backend]
    restart: unless-stopped
    labels:
      berth.test.role: web
  client:
    image: ${image}
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do wget -q -O- http://web/ && echo fetched-by-name; sleep 1 & wait; done"]
    depends_on: [web]
    networks: [backend]
    restart: always
networks:
  backend: {}
volumes:
  webdata: {}
`;
}

interface Summary {
  Id: string;
  State: string;
  Labels: Record<string, string>;
}

describe('docker clients through the VM host socket', { timeout: 600_000 }, () => {
  let vm: TestVm;
  let registry: TestRegistry;
  let image: string;
  let host: string;

  before(async () => {
    assert.ok(existsSync(COMPOSE_BIN), `${COMPOSE_BIN} is missing: apt-get install docker-compose`);
    registry = await startRegistry();
    await pushImage({ url: registry.url }, 'clients/busybox', '1', await buildBusyboxImage());
    // As the user writes it: localhost, which inside the VM is not the host.
    image = `localhost:${new URL(registry.url).port}/clients/busybox:1`;
    vm = await startTestVm('berth-clients-vm-', 'host-gateway');
    host = `unix://${vm.socket}`;
  });

  after(async () => {
    await vm?.dispose();
    await registry?.stop();
  });

  const api = async <T>(path: string): Promise<T> => {
    const r = await engineRequest(vm.socket, 'GET', path);
    assert.equal(r.status, 200, `${path}: ${r.text()}`);
    return r.json<T>();
  };

  it('docker-compose 1.29: up -d pulls and starts the project, ps/logs/exec, a change recreates only web, down -v', async (t) => {
    const t0 = Date.now();
    const dir = join(vm.work, 'compose');
    mkdirSync(dir);
    const port = await freePort();
    const compose = async (args: string[]): Promise<RunResult> => {
      const r = await runCommand(COMPOSE_BIN, ['--ansi', 'never', '-p', PROJECT, ...args], {
        cwd: dir,
        timeoutMs: 180_000,
        env: { DOCKER_HOST: host, COMPOSE_INTERACTIVE_NO_CLI: '1' },
      });
      assert.equal(r.code, 0, `docker-compose ${args.join(' ')} exited ${r.code ?? r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
      return r;
    };
    const containers = async () => {
      const filters = encodeURIComponent(JSON.stringify({ label: [`com.docker.compose.project=${PROJECT}`] }));
      const list = await api<Summary[]>(`/containers/json?all=1&filters=${filters}`);
      return new Map(list.map((c) => [c.Labels['com.docker.compose.service']!, c]));
    };
    const page = async () => {
      const r = await fetch(`http://127.0.0.1:${port}/`);
      return `${r.status} ${await r.text()}`;
    };

    try {
      await writeFile(join(dir, 'docker-compose.yml'), composeFile(image, port, 'hello'));
      const up = await compose(['up', '-d']);
      const text = up.stdout + up.stderr;
      assert.match(text, new RegExp(`Pulling web \\(${image.replace(/[.]/g, '\\.')}\\)\\.\\.\\.`));
      assert.match(text, new RegExp(`Creating network "${PROJECT}_backend" with the default driver`));
      assert.match(text, new RegExp(`Creating volume "${PROJECT}_webdata" with default driver`));
      const cs = await containers();
      assert.deepEqual([...cs.keys()].sort(), ['client', 'web']);
      for (const [service, c] of cs) assert.equal(c.State, 'running', service);
      assert.equal(cs.get('web')!.Labels['berth.test.role'], 'web');

      // The published port, through the forwarder on the host's loopback.
      await eventually('the page on the published port', async () => (await page()) === '200 web says hello\n');
      await eventually('the client fetched web by name', async () => (await compose(['logs', '--no-color', 'client'])).stdout.includes('fetched-by-name'));

      const ps = await compose(['ps']);
      assert.match(ps.stdout, new RegExp(`^${PROJECT}_web_1 .*\\s+Up\\s+127\\.0\\.0\\.1:${port}->80/tcp\\s*$`, 'm'));
      assert.match((await compose(['logs', '--no-color', 'web'])).stdout, /web_1 +\| web-ready/);
      const ex = await compose(['exec', '-T', 'web', 'sh', '-c', 'cat /data/index.html; hostname']);
      assert.deepEqual(ex.stdout.trim().split('\n'), ['web says hello', cs.get('web')!.Id.slice(0, 12)]);

      await writeFile(join(dir, 'docker-compose.yml'), composeFile(image, port, 'changed'));
      const changed = await compose(['up', '-d']);
      assert.match(changed.stdout + changed.stderr, new RegExp(`Recreating ${PROJECT}_web_1 +\\.\\.\\. done`));
      assert.match(changed.stdout + changed.stderr, new RegExp(`${PROJECT}_client_1 is up-to-date`));
      const after = await containers();
      assert.notEqual(after.get('web')!.Id, cs.get('web')!.Id);
      assert.equal(after.get('client')!.Id, cs.get('client')!.Id);
      // The old container's forward is gone and the new one's is there, on the same host port.
      await eventually('the new page', async () => (await page()) === '200 web says changed\n');

      const down = await compose(['down', '-v']);
      assert.match(down.stdout + down.stderr, new RegExp(`Removing volume ${PROJECT}_webdata`));
      assert.equal((await containers()).size, 0);
      assert.equal((await engineRequest(vm.socket, 'GET', `/volumes/${PROJECT}_webdata`)).status, 404);
      await eventually(
        'the forward is removed',
        async () =>
          !(await page().then(
            () => true,
            () => false,
          )),
        5_000,
      );
    } finally {
      await runCommand(COMPOSE_BIN, ['-p', PROJECT, 'down', '-v'], { cwd: dir, timeoutMs: 120_000, env: { DOCKER_HOST: host } });
      t.diagnostic(`compose case: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  });

  it('Testcontainers: GenericContainer from a localhost registry, wait for a log line, fetch the mapped port on the host, stop', async (t) => {
    const t0 = Date.now();
    // Read by Testcontainers when it first needs the engine (lazily, once per process).
    process.env.DOCKER_HOST = host;
    process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
    process.env.TESTCONTAINERS_HOST_OVERRIDE = '127.0.0.1';
    const c = await new GenericContainer(image)
      .withCommand(['sh', '-c', 'echo "httpd starting"; exec httpd -f -p 80 -h /www'])
      .withExposedPorts(80)
      .withLabels({ 'berth.test': 'testcontainers-vm' })
      .withWaitStrategy(Wait.forLogMessage('httpd starting'))
      .withStartupTimeout(120_000)
      .start();
    try {
      const port = c.getMappedPort(80);
      assert.ok(port > 0 && port < 65536, String(port));
      assert.equal(c.getHost(), '127.0.0.1');
      const inspected = await api<{
        State: { Status: string };
        Config: { Labels: Record<string, string> };
        NetworkSettings: { Ports: Record<string, { HostPort: string }[]> };
      }>(`/containers/${c.getId()}/json`);
      assert.equal(inspected.State.Status, 'running');
      assert.equal(inspected.Config.Labels['berth.test'], 'testcontainers-vm');
      assert.equal(inspected.NetworkSettings.Ports['80/tcp']?.[0]?.HostPort, String(port));
      // The log line comes before httpd listens, and the forward follows the start: poll briefly.
      let body = '';
      await eventually('the page on the mapped port', async () => {
        const res = await fetch(`http://127.0.0.1:${port}/`);
        body = await res.text();
        return res.status === 200;
      });
      assert.equal(body, '<h1>berth test image</h1>\n');
    } finally {
      const id = c.getId();
      await c.stop();
      // stop() removes the container (Testcontainers' default).
      assert.equal((await engineRequest(vm.socket, 'GET', `/containers/${id}/json`)).status, 404);
      t.diagnostic(`testcontainers case: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  });
});

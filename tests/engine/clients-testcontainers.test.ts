/**
 * Testcontainers for Node (npm `testcontainers`), unchanged, against the
 * engine. Its configuration is what a user sets: DOCKER_HOST pointing at the
 * engine's socket and TESTCONTAINERS_RYUK_DISABLED=true (the reaper's image
 * cannot be pulled here). No host override: Testcontainers works out the host
 * itself (localhost, or the bridge network's gateway when it runs inside a
 * container), and the published ports answer on both.
 *
 * It probes /info, /version, image inspect and pull, container inspect, logs,
 * exec (its internal port check), archive uploads, networks and labels.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GenericContainer, Network, Wait, type StartedTestContainer } from 'testcontainers';
import Docker from 'dockerode';
import { eventually } from './containers-fixture.js';
import { useClientsFixture } from './clients/clients-fixture.js';

const fx = useClientsFixture();

before(async () => {
  await fx.agent.ready;
  // Read by Testcontainers when it first needs the engine (lazily, once per process).
  process.env.DOCKER_HOST = fx.agent.current.host;
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
});

const started: StartedTestContainer[] = [];
after(async () => {
  for (const c of started) await c.stop().catch(() => {});
});

/** A busybox httpd serving /www on port 80, with a log line once it is up. */
const httpd = () => new GenericContainer(fx.image).withCommand(['sh', '-c', 'echo "httpd starting"; exec httpd -f -v -p 80 -h /www']).withExposedPorts(80);

describe('testcontainers', { timeout: 120_000 }, () => {
  test('GenericContainer: pull, wait for a log line and the port, fetch the page on the mapped port, exec, copy, stop', async () => {
    const c = await httpd()
      .withLabels({ 'berth.test': 'testcontainers' })
      .withEnvironment({ GREETING: 'hello from env' })
      .withCopyContentToContainer([{ content: '<p>copied before start</p>\n', target: '/www/before.html' }])
      .withWaitStrategy(Wait.forAll([Wait.forLogMessage('httpd starting'), Wait.forListeningPorts()]))
      .withStartupTimeout(30_000)
      .start();
    started.push(c);

    const port = c.getMappedPort(80);
    assert.ok(port > 0 && port < 65536, String(port));
    const base = `http://${c.getHost()}:${port}`;
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.equal(await page.text(), '<h1>berth test image</h1>\n');
    assert.equal(await (await fetch(`${base}/before.html`)).text(), '<p>copied before start</p>\n');

    const ex = await c.exec(['sh', '-c', 'echo $GREETING; echo oops >&2; exit 3']);
    assert.equal(ex.exitCode, 3);
    assert.equal(ex.stdout, 'hello from env\n');
    assert.equal(ex.stderr, 'oops\n');

    await c.copyContentToContainer([{ content: 'copied while running\n', target: '/www/after.txt' }]);
    assert.equal(await (await fetch(`${base}/after.txt`)).text(), 'copied while running\n');

    // Testcontainers labels its containers; the engine keeps what it sent.
    const labels = c.getLabels();
    assert.equal(labels['berth.test'], 'testcontainers');
    assert.ok(labels['org.testcontainers'] === 'true' && labels['org.testcontainers.session-id'], JSON.stringify(labels));
    const docker = new Docker({ socketPath: fx.agent.current.socket });
    const inspected = await docker.getContainer(c.getId()).inspect();
    assert.equal(inspected.State.Status, 'running');
    assert.equal(inspected.NetworkSettings.Ports['80/tcp']?.[0]?.HostPort, String(port));

    const logs = await c.logs();
    let text = '';
    logs.on('data', (b: Buffer | string) => (text += b.toString()));
    await new Promise((r) => setTimeout(r, 200));
    logs.destroy();
    assert.match(text, /httpd starting/);

    const id = c.getId();
    const stopped = await c.stop();
    started.splice(started.indexOf(c), 1);
    assert.equal(stopped.getId(), id);
    // stop() removes the container (Testcontainers' default).
    await assert.rejects(docker.getContainer(id).inspect(), (err: Error & { statusCode?: number }) => err.statusCode === 404);
  });

  test('a health check: Wait.forHealthCheck waits for healthy, State.Health and ps show it, failures make it unhealthy', async () => {
    const c = await httpd()
      .withHealthCheck({ test: ['CMD-SHELL', 'wget -q -O /dev/null http://127.0.0.1/ || exit 1'], interval: 200, timeout: 2000, retries: 2 })
      .withWaitStrategy(Wait.forHealthCheck())
      .withStartupTimeout(20_000)
      .start();
    started.push(c);
    const docker = new Docker({ socketPath: fx.agent.current.socket });
    const events = (await docker.getEvents({ filters: { container: [c.getId()], event: ['health_status'] } })) as unknown as NodeJS.ReadableStream;
    let seen = '';
    events.on('data', (b: Buffer) => (seen += b.toString()));
    const healthy = await docker.getContainer(c.getId()).inspect();
    assert.equal(healthy.State.Health?.Status, 'healthy');
    assert.equal(healthy.State.Health?.FailingStreak, 0);
    assert.equal(healthy.State.Health?.Log.at(-1)?.ExitCode, 0);
    const [row] = await docker.listContainers({ filters: { id: [c.getId()] } });
    assert.match(row!.Status, /^Up .* \(healthy\)$/);
    const byHealth = async (h: string) => (await docker.listContainers({ filters: { health: [h] } })).map((x) => x.Id);
    assert.deepEqual(await byHealth('healthy'), [c.getId()]);
    assert.deepEqual(await byHealth('unhealthy'), []);

    // Serve nothing: two failed probes in a row make it unhealthy, announced as an event.
    await c.exec(['sh', '-c', 'rm /www/index.html']);
    await eventually('unhealthy', async () => (await docker.getContainer(c.getId()).inspect()).State.Health?.Status === 'unhealthy');
    const unhealthy = (await docker.getContainer(c.getId()).inspect()).State.Health!;
    assert.ok(unhealthy.FailingStreak >= 2);
    assert.notEqual(unhealthy.Log.at(-1)?.ExitCode, 0);
    await eventually('the health_status event', async () => seen.includes('"health_status: unhealthy"'));
    (events as unknown as { destroy(): void }).destroy();
    // Probe execs are not kept: only our rm (and at most one probe in flight) after a dozen probes.
    assert.ok(((await docker.getContainer(c.getId()).inspect()).ExecIDs ?? []).length <= 2);
    await c.stop();
    started.splice(started.indexOf(c), 1);
  });

  test('a network with aliases: a second container reaches the first by its alias; restart keeps the mapping working', async () => {
    const network = await new Network().start();
    try {
      const web = await httpd().withNetwork(network).withNetworkAliases('web').withWaitStrategy(Wait.forListeningPorts()).start();
      started.push(web);
      // With aliases Testcontainers creates on the default bridge, then connects the network (as dockerd keeps both).
      assert.deepEqual(web.getNetworkNames().sort(), ['bridge', network.getName()].sort());
      assert.match(web.getIpAddress(network.getName()), /^\d+\.\d+\.\d+\.\d+$/);

      const client = await new GenericContainer(fx.image)
        .withNetwork(network)
        .withCommand(['sh', '-c', 'wget -q -O- http://web/ && echo fetched-by-alias'])
        .withWaitStrategy(Wait.forLogMessage('fetched-by-alias'))
        .start();
      started.push(client);
      const out = await client.logs();
      let text = '';
      out.on('data', (b: Buffer | string) => (text += b.toString()));
      await new Promise((r) => setTimeout(r, 200));
      out.destroy();
      assert.match(text, /<h1>berth test image<\/h1>\s+fetched-by-alias/);
      await client.stop();
      started.splice(started.indexOf(client), 1);

      await web.restart();
      const page = await fetch(`http://${web.getHost()}:${web.getMappedPort(80)}/`);
      assert.equal(page.status, 200);
      await web.stop();
      started.splice(started.indexOf(web), 1);
    } finally {
      for (const c of started.splice(0)) await c.stop().catch(() => {});
      await network.stop();
    }
  });
});

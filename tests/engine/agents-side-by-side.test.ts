/**
 * Two agents on one host, started together (as the engine suite runs its
 * files two at a time, and as a native engine beside a VM's would): each
 * default bridge gets its own subnet, so the host reaches each agent's
 * containers, through published ports and directly, and never the other's.
 *
 * Both agents pick their subnet while no bridge is up; the overlap is only
 * visible when the first container of each comes up, which is what this
 * test does at the same moment in both.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startAgent, type Agent } from '../helpers/agent.js';
import { DockerCli } from '../helpers/docker.js';
import { freePort } from '../helpers/net.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { buildBusyboxImage, pushImage } from '../helpers/test-images.js';
import { eventually, out } from './containers-fixture.js';

const run = randomBytes(3).toString('hex');
let reg: TestRegistry;
const agents: Agent[] = [];
const clis: DockerCli[] = [];
let image: string;

before(async () => {
  reg = await startRegistry();
  await pushImage({ url: reg.url }, 'test/busybox', 'latest', await buildBusyboxImage({}));
  image = `${reg.domain}/test/busybox:latest`;
  agents.push(...(await Promise.all([startAgent(), startAgent()])));
  for (const a of agents) clis.push(new DockerCli(a.socket));
  await Promise.all(clis.map((d) => d.ok(['pull', '-q', image])));
});

after(async () => {
  await Promise.all(clis.map((d) => d.run(['rm', '-f', `web-${run}`])));
  for (const d of clis) d.dispose();
  await Promise.all(agents.map((a) => a.dispose()));
  await reg?.stop();
});

async function httpGet(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return res.text();
}

describe('two agents on one host', () => {
  test('each default bridge has its own subnet; the host reaches each one’s containers', async () => {
    const ports = [await freePort(), await freePort()];
    // Both first containers at once: both bridges come up together.
    await Promise.all(
      clis.map((d, i) =>
        d.ok([
          'run',
          '-d',
          '--name',
          `web-${run}`,
          '-p',
          `127.0.0.1:${ports[i]}:80`,
          image,
          'sh',
          '-c',
          `mkdir -p /www && echo agent-${i} > /www/index.html && httpd -f -p 80 -h /www`,
        ]),
      ),
    );
    const subnets = await Promise.all(
      clis.map(async (d) => out(await d.ok(['network', 'inspect', '--format', '{{(index .IPAM.Config 0).Subnet}}', 'bridge']))),
    );
    assert.notEqual(subnets[0], subnets[1], `both agents' default bridges use ${subnets[0]}`);
    for (const [i, d] of clis.entries()) {
      const ip = out(await d.ok(['inspect', '--format', '{{.NetworkSettings.IPAddress}}', `web-${run}`]));
      await eventually(
        `agent ${i}'s httpd answers through its published port`,
        async () => (await httpGet(`http://127.0.0.1:${ports[i]}/`).catch(() => '')) === `agent-${i}\n`,
      );
      assert.equal(await httpGet(`http://${ip}/`), `agent-${i}\n`, `the host reached ${ip} on the other agent's bridge`);
    }
  });
});

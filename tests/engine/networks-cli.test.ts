/**
 * Networks over the docker CLI: user networks with name and alias
 * resolution, a fixed --ip, outbound NAT, records (ls/inspect/rm/prune),
 * addresses given back and kept apart across an agent restart, bad input.
 * Every name carries this run's suffix; the agent tears its bridges and
 * rules down at exit, which the last test checks.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { inspect, out, useContainersFixture } from './containers-fixture.js';

const sh = promisify(execFile);
const fx = useContainersFixture();
const run = randomBytes(3).toString('hex');
const net = `br1-${run}`;
// A subnet unlikely to be in use, different per run.
const third = 100 + (parseInt(run.slice(0, 2), 16) % 100);
const subnet = `10.251.${third}.0/24`;
const prefix = `10.251.${third}`;

after(async () => {
  await fx.docker?.run(['rm', '-f', `a-${run}`, `b-${run}`, `c-${run}`, `d-${run}`]);
  await fx.docker?.run(['network', 'rm', net, `other-${run}`]);
});

describe('networks', () => {
  test('two containers on a user network reach each other by name and alias; fixed --ip', async () => {
    const d = fx.docker;
    await d.ok(['network', 'create', '--driver', 'bridge', '--subnet', subnet, '--gateway', `${prefix}.254`, net]);
    await d.ok(['run', '-d', '--name', `a-${run}`, '--network', net, '--network-alias', `web-${run}`, '--ip', `${prefix}.211`, fx.image, 'sleep', '300']);
    const addr = await d.ok(['exec', `a-${run}`, 'ip', '-4', 'addr', 'show', 'eth0']);
    assert.match(addr.stdout, new RegExp(`inet ${prefix.replace(/\./g, '\\.')}\\.211/24`));
    const ping = await d.run(['run', '--rm', '--name', `b-${run}`, '--network', net, fx.image, 'ping', '-c1', '-W3', `a-${run}`]);
    assert.equal(ping.code, 0, ping.stderr + ping.stdout);
    assert.match(ping.stdout, new RegExp(`${prefix.replace(/\./g, '\\.')}\\.211`));
    const alias = await d.run(['run', '--rm', '--network', net, fx.image, 'nslookup', `web-${run}`]);
    assert.match(alias.stdout, new RegExp(`Address: ${prefix.replace(/\./g, '\\.')}\\.211`), alias.stdout + alias.stderr);
    const resolv = await d.ok(['exec', `a-${run}`, 'cat', '/etc/resolv.conf']);
    assert.match(resolv.stdout, new RegExp(`nameserver ${prefix.replace(/\./g, '\\.')}\\.254`));

    const settings = await inspect<Record<string, { IPAddress: string; Gateway: string; MacAddress: string; NetworkID: string; Aliases: string[] }>>(
      d,
      `a-${run}`,
      '{{json .NetworkSettings.Networks}}',
    );
    const ep = settings[net]!;
    assert.equal(ep.IPAddress, `${prefix}.211`);
    assert.equal(ep.Gateway, `${prefix}.254`);
    assert.match(ep.MacAddress, /^02:42:/);
    assert.deepEqual(ep.Aliases, [`web-${run}`]);
    const ni = JSON.parse(out(await d.ok(['network', 'inspect', net])))[0];
    assert.equal(ni.Id, ep.NetworkID);
    assert.deepEqual(ni.IPAM.Config, [{ Subnet: subnet, Gateway: `${prefix}.254` }]);
    assert.equal(Object.keys(ni.Containers).length, 1);
    assert.match(out(await d.ok(['network', 'ls', '--format', '{{.Name}} {{.Driver}}'])), new RegExp(`${net} bridge`));
  });

  test('rm of a network in use is refused; other refusals', async () => {
    const d = fx.docker;
    const busy = await d.run(['network', 'rm', net]);
    assert.notEqual(busy.code, 0);
    assert.match(busy.stderr, /has active endpoints/);
    const overlap = await d.run(['network', 'create', '--subnet', `${prefix}.128/25`, `other-${run}`]);
    assert.match(overlap.stderr, /Pool overlaps with other one on this address space/);
    const outside = await d.run(['run', '--rm', '--network', net, '--ip', '10.9.9.9', fx.image, 'true']);
    assert.match(outside.stderr, /no configured subnet or ip-range contain the IP address 10\.9\.9\.9/);
    const onBridge = await d.run(['run', '--rm', '--ip', '172.17.0.99', fx.image, 'true']);
    assert.match(onBridge.stderr, /user specified IP address is supported on user defined networks only/);
    const unknown = await d.run(['run', '--rm', '--network', `nosuch-${run}`, fx.image, 'true']);
    assert.match(unknown.stderr, new RegExp(`network nosuch-${run} not found`));
    const inspect404 = await d.run(['network', 'inspect', `nosuch-${run}`]);
    assert.notEqual(inspect404.code, 0);
    assert.match(inspect404.stderr, /not found/);
  });

  test('outbound NAT: a container reaches a server on the host address through the gateway', async () => {
    const d = fx.docker;
    // A running container keeps the default bridge (and its gateway address) up.
    await d.ok(['run', '-d', '--name', `c-${run}`, fx.image, 'sleep', '300']);
    const gw = out(await d.ok(['network', 'inspect', 'bridge', '--format', '{{(index .IPAM.Config 0).Gateway}}']));
    const { createServer } = await import('node:http');
    const srv = createServer((_q, r) => r.end('nat-ok'));
    await new Promise<void>((res) => srv.listen(0, gw, res));
    try {
      const port = (srv.address() as { port: number }).port;
      const r = await d.run(['run', '--rm', fx.image, 'wget', '-q', '-O-', `http://${gw}:${port}/`]);
      assert.equal(r.stdout, 'nat-ok', r.stderr);
    } finally {
      srv.close();
    }
  });

  test('--link, --add-host and --dns on the default bridge', async () => {
    const d = fx.docker;
    const ip = out(await d.ok(['inspect', '--format', '{{.NetworkSettings.IPAddress}}', `c-${run}`]));
    assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
    const r = await d.ok([
      'run',
      '--rm',
      '--link',
      `c-${run}:db`,
      '--add-host',
      'extra.test:10.1.2.3',
      '--dns',
      '10.0.0.53',
      fx.image,
      'sh',
      '-c',
      'cat /etc/hosts /etc/resolv.conf; ping -c1 -W3 db',
    ]);
    assert.match(r.stdout, new RegExp(`${ip.replace(/\./g, '\\.')}\\tdb `));
    assert.match(r.stdout, /10\.1\.2\.3\textra\.test/);
    assert.match(r.stdout, /nameserver 10\.0\.0\.53/);
    assert.match(r.stdout, /1 packets received/);
  });

  test('addresses come back after rm and do not collide after an agent restart', async () => {
    const d = fx.docker;
    const ipOf = async (name: string) => out(await d.ok(['inspect', '--format', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, name]));
    await d.ok(['run', '-d', '--name', `d-${run}`, '--network', net, fx.image, 'sleep', '300']);
    const first = await ipOf(`d-${run}`);
    await d.ok(['rm', '-f', `d-${run}`]);
    await d.ok(['run', '-d', '--name', `d-${run}`, '--network', net, fx.image, 'sleep', '300']);
    assert.equal(await ipOf(`d-${run}`), first, 'the freed address is given again');
    await fx.agent.current.restart();
    // The restarted agent stopped the old containers; start them again: distinct addresses, same network.
    await d.ok(['start', `a-${run}`, `d-${run}`]);
    const a = await ipOf(`a-${run}`);
    const b = await ipOf(`d-${run}`);
    assert.equal(a, `${prefix}.211`);
    assert.notEqual(a, b);
    const ping = await d.run(['exec', `d-${run}`, 'ping', '-c1', '-W3', `a-${run}`]);
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
  });

  test('disconnect, connect, prune, and nothing left on the host after rm and agent exit', async () => {
    const d = fx.docker;
    await d.ok(['network', 'disconnect', net, `d-${run}`]);
    const nets = await inspect<Record<string, unknown>>(d, `d-${run}`, '{{json .NetworkSettings.Networks}}');
    assert.equal(nets[net], undefined);
    await d.ok(['network', 'connect', '--alias', `again-${run}`, net, `d-${run}`]);
    const r = await d.run(['exec', `a-${run}`, 'ping', '-c1', '-W3', `again-${run}`]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await d.ok(['rm', '-f', `a-${run}`, `c-${run}`, `d-${run}`]);
    await d.ok(['network', 'create', `other-${run}`]);
    const pruned = await d.ok(['network', 'prune', '-f']);
    assert.match(pruned.stdout, new RegExp(net));
    assert.match(pruned.stdout, new RegExp(`other-${run}`));
    const bridgeId = JSON.parse(out(await d.ok(['network', 'inspect', 'bridge'])))[0].Id as string;
    assert.ok(bridgeId);
    await fx.agent.current.stop();
    const links = (await sh('ip', ['-br', 'link'])).stdout;
    const tag = JSON.parse((await sh('cat', [`${fx.agent.current.dataRoot}/engine.json`])).stdout).id.slice(0, 8) as string;
    assert.doesNotMatch(links, new RegExp(`berth-${tag}`));
    const rules = (await sh('iptables', ['-w', '-S'])).stdout + (await sh('iptables', ['-w', '-t', 'nat', '-S'])).stdout;
    assert.doesNotMatch(rules, new RegExp(tag));
    assert.doesNotMatch(rules, new RegExp(prefix.replace(/\./g, '\\.')));
    await fx.agent.current.restart();
  });
});

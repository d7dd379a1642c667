/**
 * Published ports over the docker CLI: -p in its forms (TCP and UDP), -P,
 * docker port, inspect and ps, a busy port failing the start with nothing
 * left bound, and traffic from another container through the host address.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { freePort } from '../helpers/net.js';
import { eventually, inspect, out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();
const run = randomBytes(3).toString('hex');

after(async () => {
  await fx.docker?.run(['rm', '-f', `web-${run}`, `udp-${run}`, `busy-${run}`, `all-${run}`]);
});

async function httpGet(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return res.text();
}

describe('published ports', () => {
  test('-p host:container and 127.0.0.1:host:container; fetch from the host; docker port, inspect, ps', async () => {
    const d = fx.docker;
    const [p1, p2] = [await freePort(), await freePort()];
    await d.ok([
      'run',
      '-d',
      '--name',
      `web-${run}`,
      '-p',
      `${p1}:80`,
      '-p',
      `127.0.0.1:${p2}:80`,
      '-p',
      '8081',
      fx.image,
      'sh',
      '-c',
      'mkdir -p /www && echo hello-from-httpd > /www/index.html && httpd -f -p 80 -h /www',
    ]);
    await eventually(
      'httpd answers through the published port',
      async () => (await httpGet(`http://127.0.0.1:${p1}/`).catch(() => '')) === 'hello-from-httpd\n',
    );
    assert.equal(await httpGet(`http://127.0.0.1:${p2}/`), 'hello-from-httpd\n');
    const port = out(await d.ok(['port', `web-${run}`]));
    assert.match(port, new RegExp(`80/tcp -> 0\\.0\\.0\\.0:${p1}`));
    assert.match(port, new RegExp(`80/tcp -> 127\\.0\\.0\\.1:${p2}`));
    const random = out(await d.ok(['port', `web-${run}`, '8081']));
    assert.match(random, /^0\.0\.0\.0:\d+/);
    const ports = await inspect<Record<string, { HostIp: string; HostPort: string }[]>>(d, `web-${run}`, '{{json .NetworkSettings.Ports}}');
    assert.ok(ports['80/tcp']!.some((b) => b.HostIp === '127.0.0.1' && b.HostPort === String(p2)));
    const ps = out(await d.ok(['ps', '--filter', `name=web-${run}`, '--format', '{{.Ports}}']));
    assert.match(ps, new RegExp(`0\\.0\\.0\\.0:${p1}->80/tcp`));

    // Another container reaches the published port through the host's address (hairpin via the gateway).
    const gw = out(await d.ok(['inspect', '--format', '{{.NetworkSettings.Gateway}}', `web-${run}`]));
    const r = await d.run(['run', '--rm', fx.image, 'wget', '-q', '-O-', `http://${gw}:${p1}/`]);
    assert.equal(r.stdout, 'hello-from-httpd\n', r.stderr);
  });

  test('a busy port fails the start with dockerd wording and leaves nothing bound', async () => {
    const d = fx.docker;
    const taken = await freePort();
    const free = await freePort();
    const blocker = createServer();
    await new Promise<void>((res) => blocker.listen(taken, '127.0.0.1', res));
    try {
      const r = await d.run(['run', '-d', '--name', `busy-${run}`, '-p', `127.0.0.1:${free}:80`, '-p', `127.0.0.1:${taken}:81`, fx.image, 'sleep', '300']);
      assert.notEqual(r.code, 0);
      assert.match(
        r.stderr,
        new RegExp(
          `Ports are not available: exposing port TCP 127\\.0\\.0\\.1:${taken} -> 127\\.0\\.0\\.1:0: listen tcp 127\\.0\\.0\\.1:${taken}: bind: address already in use`,
        ),
      );
      assert.equal(out(await d.ok(['inspect', '--format', '{{.State.Running}}', `busy-${run}`])), 'false');
      // The first port, bound before the failure, was let go.
      const probe = createServer();
      await new Promise<void>((res, rej) => {
        probe.once('error', rej);
        probe.listen(free, '127.0.0.1', res);
      });
      probe.close();
    } finally {
      blocker.close();
    }
    // Once the port is free the same container starts.
    await d.ok(['start', `busy-${run}`]);
    assert.match(out(await d.ok(['port', `busy-${run}`, '81'])), new RegExp(`127\\.0\\.0\\.1:${taken}`));
  });

  test('UDP: -p host:container/udp relays datagrams both ways', async () => {
    const d = fx.docker;
    const p = await freePort();
    await d.ok(['run', '-d', '--name', `udp-${run}`, '-p', `127.0.0.1:${p}:5353/udp`, fx.image, 'sleep', '300']);
    // The test image's busybox nc has no UDP mode: an echo server runs in the container's network namespace instead.
    const pid = out(await d.ok(['inspect', '--format', '{{.State.Pid}}', `udp-${run}`]));
    const echo = spawn(
      'nsenter',
      [
        '-t',
        pid,
        '-n',
        process.execPath,
        '-e',
        "const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send('udp-pong:'+r.address,r.port,r.address));s.bind(5353,()=>console.log('ready'))",
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise((res) => echo.stdout.once('data', res));
      const sock = createSocket('udp4');
      try {
        const reply = new Promise<string>((res) => sock.on('message', (m) => res(m.toString())));
        sock.send('ping', p, '127.0.0.1');
        const got = await Promise.race([reply, new Promise<string>((res) => setTimeout(() => res('timeout'), 5000))]);
        // The container sees the datagram coming from its gateway (the proxy runs on the host).
        const gw = out(await d.ok(['inspect', '--format', '{{.NetworkSettings.Gateway}}', `udp-${run}`]));
        assert.equal(got, `udp-pong:${gw}`);
      } finally {
        sock.close();
      }
    } finally {
      echo.kill();
    }
    assert.match(out(await d.ok(['port', `udp-${run}`])), new RegExp(`5353/udp -> 127\\.0\\.0\\.1:${p}`));
  });

  test('-P publishes every EXPOSEd port on a random host port', async () => {
    const d = fx.docker;
    const img = await fx.extraImage(`exposed-${run}`, { exposedPorts: ['80/tcp', '53/udp'] });
    await d.ok(['run', '-d', '--name', `all-${run}`, '-P', img, 'sleep', '300']);
    const port = out(await d.ok(['port', `all-${run}`]));
    assert.match(port, /80\/tcp -> 0\.0\.0\.0:\d+/);
    assert.match(port, /53\/udp -> 0\.0\.0\.0:\d+/);
  });
});

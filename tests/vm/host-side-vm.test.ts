// Nothing inside the VM reaches the engine's own controls, while
// host.docker.internal reaches the user's services on the host's loopback
// (issue #15). One boot (TCG, about a minute); `berth web` runs beside it.
//
// From containers (bridged and host-network): the guest's SSH server on
// 10.0.2.15:22, on the bridge's gateway and through the host's forward
// (10.0.2.2:sshPort), and a running dashboard's port are refused; a test HTTP
// server on the host's 127.0.0.1 is reached as host.docker.internal (and on
// 10.0.2.2, which shows the refusals are per port, not the whole host).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { engineRequest } from '../helpers/docker.js';
import { buildBusyboxImage } from '../helpers/test-images.js';
import { useVmWithImage } from '../helpers/vm-with-image.js';

const repo = path.resolve(fileURLToPath(import.meta.url), '../../..');

describe('the host side from inside the VM', { timeout: 900_000 }, () => {
  const fx = useVmWithImage('berth-hostside-', 'host-controls', 'hostside/busybox', () => buildBusyboxImage({}));
  let hostServer: Server;
  let hostPort: number;
  let web: ChildProcess | undefined;
  let webPort: number;
  let webLog = '';
  let sshPort: number;

  /** What a container sees dialing host:port with `nc` (refused, or what the server said). */
  async function dial(host: string, port: number, network: string[] = []): Promise<string> {
    const r = await fx.docker.run(['run', '--rm', ...network, fx.image, 'sh', '-c', `nc -w 5 ${host} ${port} </dev/null 2>&1; echo rc=$?`], {
      timeoutMs: 120_000,
    });
    return r.stdout + r.stderr;
  }

  /** Berth's own route (no docker command for it): the ports the agent refuses. */
  const controls = async (): Promise<number[]> => {
    const res = await engineRequest(fx.vm.socket, 'GET', '/berth/host-controls');
    assert.equal(res.status, 200, res.text());
    return res.json<{ Ports: number[] }>().Ports;
  };

  before(async () => {
    hostServer = createServer((_req, res) => res.end('hello from the host\n'));
    await new Promise<void>((resolve) => hostServer.listen(0, '127.0.0.1', resolve));
    hostPort = (hostServer.address() as { port: number }).port;
    sshPort = JSON.parse(fs.readFileSync(path.join(fx.vm.home, 'run/state.json'), 'utf8')).sshPort;
    assert.ok(sshPort > 0, 'the run state names the SSH forward port');
  });

  after(async () => {
    web?.kill('SIGTERM');
    await new Promise((resolve) => hostServer?.close(resolve));
  });

  it("a container binding the home sees the user's files but not $BERTH_HOME (the VM's key, disk and launch pages)", async () => {
    const userHome = fx.vm.env.HOME!;
    assert.ok(fx.vm.home.startsWith(userHome + path.sep), 'BERTH_HOME lies in the shared home, as ~/.berth does');
    assert.ok(fs.existsSync(path.join(fx.vm.home, 'ssh/id_ed25519')), 'the host has the key the containers must not read');
    fs.writeFileSync(path.join(userHome, 'visible.txt'), 'the user file\n');
    const r = await fx.docker.run(
      [
        'run',
        '--rm',
        '-v',
        `${userHome}:/h`,
        fx.image,
        'sh',
        '-c',
        'cat /h/visible.txt; echo entries=$(ls -A /h/.berth | wc -l); cat /h/.berth/ssh/id_ed25519; touch /h/.berth/x',
      ],
      { timeoutMs: 120_000 },
    );
    assert.match(r.stdout, /the user file/, r.stdout + r.stderr);
    assert.match(r.stdout, /entries=0/, r.stdout + r.stderr);
    assert.match(r.stderr, /can't open '\/h\/\.berth\/ssh\/id_ed25519': No such file or directory/, r.stderr);
    assert.match(r.stderr, /touch: \/h\/\.berth\/x: Read-only file system/, r.stderr);
    const direct = await fx.docker.run(['run', '--rm', '-v', `${fx.vm.home}:/b`, fx.image, 'ls', '-A', '/b'], { timeoutMs: 120_000 });
    assert.equal(direct.stdout.trim(), '', `binding $BERTH_HOME itself shows the empty cover: ${direct.stdout}${direct.stderr}`);
  });

  it('the guest SSH port is refused from a bridged container: on 10.0.2.15, on the bridge gateway, through the host forward', async () => {
    const gateway = (await fx.docker.ok(['network', 'inspect', 'bridge', '--format', '{{(index .IPAM.Config 0).Gateway}}'])).stdout.trim();
    assert.match(gateway, /^\d+\.\d+\.\d+\.\d+$/);
    for (const [host, port] of [
      ['10.0.2.15', 22],
      [gateway, 22],
      ['10.0.2.2', sshPort],
    ] as const) {
      const out = await dial(host, port);
      assert.match(out, /Connection refused/, `${host}:${port}: ${out}`);
      assert.doesNotMatch(out, /SSH-2\.0/, `${host}:${port} answered as SSH`);
    }
    // The host's own link (the docker CLI above goes through it) keeps working.
    await fx.docker.ok(['version']);
  });

  it('and from a host-network container: 127.0.0.1:22, 10.0.2.15:22 and the host forward', async () => {
    for (const [host, port] of [
      ['127.0.0.1', 22],
      ['10.0.2.15', 22],
      ['10.0.2.2', sshPort],
    ] as const) {
      const out = await dial(host, port, ['--network', 'host']);
      assert.match(out, /Connection refused/, `host network, ${host}:${port}: ${out}`);
    }
  });

  it("host.docker.internal reaches a server on the host's 127.0.0.1, bridged and host-network", async () => {
    for (const network of [[], ['--network', 'host']]) {
      const r = await fx.docker.ok([
        'run',
        '--rm',
        ...network,
        fx.image,
        'sh',
        '-c',
        `grep host.docker.internal /etc/hosts; wget -qO- http://host.docker.internal:${hostPort}/`,
      ]);
      assert.match(r.stdout, /^10\.0\.2\.2\s+host\.docker\.internal$/m);
      assert.match(r.stdout, /hello from the host/);
    }
    const r = await fx.docker.ok(['run', '--rm', '--add-host', 'myhost:host-gateway', fx.image, 'wget', '-qO-', `http://myhost:${hostPort}/`]);
    assert.match(r.stdout, /hello from the host/);
  });

  it("a running dashboard's port is refused to containers, and let through once it stops", async () => {
    web = spawn(process.execPath, ['--import', 'tsx', path.join(repo, 'apps/main/src/cli.ts'), 'web', '--no-open'], {
      cwd: repo,
      env: { ...process.env, ...fx.vm.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    web.stdout!.on('data', (d: Buffer) => (webLog += d.toString()));
    web.stderr!.on('data', (d: Buffer) => (webLog += d.toString()));
    const deadline = Date.now() + 120_000;
    while (!/Dashboard: http:\/\/127\.0\.0\.1:(\d+)\//.test(webLog) && Date.now() < deadline) await sleep(200);
    webPort = Number(/Dashboard: http:\/\/127\.0\.0\.1:(\d+)\//.exec(webLog)?.[1]);
    assert.ok(webPort > 0, `berth web did not start:\n${webLog}`);
    while (!(await controls()).includes(webPort) && Date.now() < deadline) await sleep(500);
    assert.deepEqual(
      await controls(),
      [sshPort, webPort].sort((a, b) => a - b),
      webLog,
    );

    for (const network of [[], ['--network', 'host']]) {
      const out = await dial('10.0.2.2', webPort, network);
      assert.match(out, /Connection refused/, `dashboard ${network.join(' ')}: ${out}`);
      // The same container on the same host address, another port: reached.
      const ok = await dial('10.0.2.2', hostPort, network);
      assert.match(ok, /rc=0/, `host server ${network.join(' ')}: ${ok}`);
      assert.doesNotMatch(ok, /refused/);
    }

    web.kill('SIGTERM');
    await new Promise((resolve) => web!.once('exit', resolve));
    web = undefined;
    assert.deepEqual(await controls(), [sshPort], webLog);
  });

  it("Berth's call refuses a bad port (400) and never lets the SSH forward's port through (403)", async () => {
    const bad = await engineRequest(fx.vm.socket, 'PUT', '/berth/host-controls/70000');
    assert.equal(bad.status, 400);
    assert.match(bad.json<{ message: string }>().message, /the port must be a TCP port \(1-65535\), got "70000"/);
    const vmPort = await engineRequest(fx.vm.socket, 'DELETE', `/berth/host-controls/${sshPort}`);
    assert.equal(vmPort.status, 403);
    assert.match(vmPort.json<{ message: string }>().message, new RegExp(`port ${sshPort} is the VM's own control`));
    assert.deepEqual(await controls(), [sshPort]);
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

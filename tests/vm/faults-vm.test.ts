/**
 * Faults of the VM mode, on one boot of the real guest (TCG here):
 *
 * - The SSH connection dropped under `logs -f`, `exec` and a pull. It is
 *   dropped as a network failure would: `ss -K` destroys the host daemon's
 *   TCP socket to QEMU's SSH forward (the kernel's sock_destroy, so the
 *   daemon sees ECONNABORTED); the link then reconnects on its own. The
 *   clients end instead of hanging, the container keeps running, and the
 *   next command works.
 * - QEMU killed with SIGKILL: the next `berth start` boots again, the
 *   containers come back exited, and a `--restart always` one running.
 * - Exposure: every TCP/UDP listener of the host daemon and of QEMU is on
 *   loopback, a published port included.
 *
 * Boots with `berth start` (tests/helpers/vm.ts); needs `npm run build`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { DockerCli } from '../helpers/docker.js';
import { freePort, listenOnLoopback } from '../helpers/net.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { buildBusyboxImage, pushImage } from '../helpers/test-images.js';
import { startTestVm, type TestVm } from '../helpers/vm.js';
import { isLoopback, listenersOf, showListener } from '../helpers/listeners.js';

const sh = promisify(execFile);

interface RunState {
  daemonPid: number;
  phase: string;
  qemuPid?: number;
  sshPort?: number;
  link?: string;
}

describe('VM faults', { timeout: 900_000 }, () => {
  let vm: TestVm;
  let registry: TestRegistry;
  let docker: DockerCli;
  let image: string;
  let stall: Server | undefined;
  const state = () => JSON.parse(readFileSync(join(vm.home, 'run/state.json'), 'utf8')) as RunState;

  /** Destroys the host daemon's SSH connection(s) to the guest; resolves once the link is back. */
  async function dropSsh(): Promise<void> {
    const { sshPort } = state();
    assert.ok(sshPort, 'the run state names the SSH port');
    await sh('ss', ['-K', 'dst', '127.0.0.1', 'dport', '=', `:${sshPort}`]);
    await eventually(
      'the link to reconnect',
      async () => (await docker.run(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 20_000 })).code === 0,
      60_000,
    );
  }

  async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check().catch(() => false))) {
      assert.ok(Date.now() < deadline, `${what}: not within ${timeoutMs / 1000} s`);
      await sleep(500);
    }
  }

  before(async () => {
    registry = await startRegistry();
    await pushImage({ url: registry.url }, 'faults/busybox', '1', await buildBusyboxImage());
    image = `${registry.domain}/faults/busybox:1`;
    const t0 = Date.now();
    vm = await startTestVm('berth-faults-vm-', 'Ports are not available');
    process.stderr.write(`# boot: ${Math.round((Date.now() - t0) / 1000)} s\n`);
    docker = new DockerCli(vm.socket);
    await docker.ok(['pull', '-q', image], { timeoutMs: 180_000 });
  });

  after(async () => {
    docker?.dispose();
    await vm?.dispose();
    await registry?.stop();
    await new Promise<void>((r) => (stall ? stall.close(() => r()) : r()));
  });

  it('SSH dropped under logs -f and exec: both end, the container keeps running, the next command works', async () => {
    await docker.ok(['run', '-d', '--name', 'drop-follow', image, 'sh', '-c', 'while true; do echo tick; sleep 0.5; done'], { timeoutMs: 120_000 });
    const startedAt = (await docker.ok(['inspect', '--format', '{{.State.StartedAt}}', 'drop-follow'])).stdout.trim();
    const logs = docker.run(['logs', '-f', 'drop-follow'], { timeoutMs: 90_000 });
    const exec = docker.run(['exec', 'drop-follow', 'sh', '-c', 'echo in-exec; sleep 1000'], { timeoutMs: 90_000 });
    await eventually('exec to be running', async () => (await docker.ok(['top', 'drop-follow'])).stdout.includes('sleep 1000'));
    const t0 = Date.now();
    const { sshPort } = state();
    await sh('ss', ['-K', 'dst', '127.0.0.1', 'dport', '=', `:${sshPort}`]);
    const [l, e] = await Promise.all([logs, exec]);
    process.stderr.write(
      `# logs -f ended ${l.code} and exec ${e.code} within ${Date.now() - t0} ms of the drop; stderr: ${JSON.stringify(l.stderr.trim())} / ${JSON.stringify(e.stderr.trim())}\n`,
    );
    for (const [what, r] of [
      ['logs -f', l],
      ['exec', e],
    ] as const)
      assert.ok(!r.timedOut, `${what} hung after the SSH connection dropped`);
    // logs -f reports the loss ("unexpected EOF"). exec cannot: its hijacked stream
    // just ends (a Unix socket has no reset), and the CLI then inspects the exec,
    // which still runs, and exits with its ExitCode 0, as it does against dockerd.
    assert.notEqual(l.code, 0, 'logs -f reports the loss');
    assert.match(l.stderr, /unexpected EOF/);
    assert.match(l.stdout, /tick/);
    assert.match(e.stdout, /in-exec/);
    await eventually('the link to reconnect', async () => (await docker.run(['ps'], { timeoutMs: 20_000 })).code === 0);
    const after = await docker.ok(['inspect', '--format', '{{.State.Running}} {{.State.StartedAt}}', 'drop-follow']);
    assert.equal(after.stdout.trim(), `true ${startedAt}`, 'the container kept running, not restarted');
    assert.match((await docker.ok(['exec', 'drop-follow', 'echo', 'again'])).stdout, /again/);
    await docker.ok(['rm', '-f', 'drop-follow']);
  });

  it('SSH dropped under a pull: the client ends, and the same pull works next', async () => {
    const big = await buildBusyboxImage({ layerCount: 2, extraFiles: { 'big.bin': randomBytes(4 << 20) }, labels: { drop: 'yes' } });
    await pushImage({ url: registry.url }, 'faults/big', '1', big);
    const layer = big.layers.at(-1)!;
    // A registry front that serves half of the big layer, then holds: the pull is surely in flight.
    let stalled = false;
    const held: import('node:http').ServerResponse[] = [];
    stall = createServer((req, res) => {
      const up = httpRequest(`${registry.url}${req.url}`, { method: req.method, headers: { ...req.headers, host: registry.domain } }, (r) => {
        res.writeHead(r.statusCode ?? 500, r.headers);
        if (!req.url?.endsWith(`/blobs/${layer.digest}`)) return r.pipe(res);
        let sent = 0;
        held.push(res);
        r.on('data', (c: Buffer) => {
          const room = Math.max(0, Math.floor(layer.size / 2) - sent);
          if (room > 0) res.write(c.subarray(0, room));
          sent += c.length;
          if (sent >= layer.size / 2) stalled = true;
        });
      });
      req.pipe(up);
    });
    const { port } = await listenOnLoopback(stall);
    const pulling = docker.run(['pull', `127.0.0.1:${port}/faults/big:1`], { timeoutMs: 120_000 });
    await eventually('the pull to reach the stalled layer', async () => stalled, 90_000);
    const t0 = Date.now();
    await sh('ss', ['-K', 'dst', '127.0.0.1', 'dport', '=', `:${state().sshPort}`]);
    const p = await pulling;
    process.stderr.write(`# pull ended ${p.code} within ${Date.now() - t0} ms of the drop; stderr: ${JSON.stringify(p.stderr.trim())}\n`);
    assert.ok(!p.timedOut, 'the pull hung after the SSH connection dropped');
    assert.notEqual(p.code, 0, 'the pull reports the loss');
    await eventually('the link to reconnect', async () => (await docker.run(['ps'], { timeoutMs: 20_000 })).code === 0);
    // The agent's pull is not cancelled when its client goes away (known; dockerd cancels it),
    // and it holds the layer for any other pull of it: end the stalled download so it fails.
    for (const res of held) res.destroy();
    await docker.ok(['pull', `${registry.domain}/faults/big:1`], { timeoutMs: 180_000 });
    const id = await docker.ok(['image', 'inspect', '--format', '{{.Id}}', `${registry.domain}/faults/big:1`]);
    assert.equal(id.stdout.trim(), big.config.digest);
  });

  it('the host daemon and QEMU listen on loopback only, a published port included', async () => {
    const fixed = await freePort();
    await docker.ok(['run', '-d', '--name', 'exposed', '-p', `127.0.0.1:${fixed}:80`, image, 'httpd', '-f', '-p', '80'], { timeoutMs: 120_000 });
    const port = (await docker.ok(['port', 'exposed', '80'])).stdout.trim();
    assert.equal(port, `127.0.0.1:${fixed}`);
    await eventually('the published port to answer on the host', async () => (await fetch(`http://${port}/`)).status > 0, 30_000);
    const s = state();
    const daemon = listenersOf(s.daemonPid).map(showListener);
    const qemu = listenersOf(s.qemuPid!).map(showListener);
    process.stderr.write(`# host daemon listeners: ${daemon.join(', ')}; QEMU: ${qemu.join(', ')}\n`);
    assert.ok(daemon.includes(`tcp ${port}`), `the published ${port} is the daemon's`);
    assert.ok(qemu.includes(`tcp 127.0.0.1:${s.sshPort}`), "QEMU's SSH forward");
    assert.deepEqual([...listenersOf(s.daemonPid), ...listenersOf(s.qemuPid!)].filter((l) => !isLoopback(l.addr)).map(showListener), []);
    await docker.ok(['rm', '-f', 'exposed']);
    await dropSsh(); // and the link still comes back afterwards
  });

  it('a port published without a host port (-p 127.0.0.1::80) is forwarded on the host too', async () => {
    await docker.ok(['run', '-d', '--name', 'exposed-any', '-p', '127.0.0.1::80', image, 'httpd', '-f', '-p', '80'], { timeoutMs: 120_000 });
    const port = (await docker.ok(['port', 'exposed-any', '80'])).stdout.trim();
    try {
      await eventually(
        `${port} to be listened on by the host daemon`,
        async () => listenersOf(state().daemonPid).map(showListener).includes(`tcp ${port}`),
        20_000,
      );
    } finally {
      await docker.ok(['rm', '-f', 'exposed-any']);
    }
  });

  it('QEMU killed -9: the next berth start recovers; containers come back exited, --restart always running', async () => {
    await docker.ok(['run', '-d', '--name', 'plain', image, 'sleep', '1000'], { timeoutMs: 120_000 });
    await docker.ok(['run', '-d', '--name', 'always', '--restart', 'always', image, 'sleep', '1000'], { timeoutMs: 120_000 });
    await sleep(2000); // let the guest write the records through to its disk
    await sh('sync');
    const { qemuPid, daemonPid } = state();
    process.kill(qemuPid!, 'SIGKILL');
    await eventually('the daemon to notice', async () => {
      try {
        process.kill(daemonPid, 0);
        return state().phase === 'failed';
      } catch {
        return true;
      }
    });
    const t0 = Date.now();
    const start = await vm.berth(['start']);
    assert.equal(start.code, 0, `berth start after the kill: ${start.stdout}\n${start.stderr}`);
    process.stderr.write(`# berth start after QEMU was killed: ${Math.round((Date.now() - t0) / 1000)} s\n`);
    const ps = await docker.ok(['ps', '-a', '--format', '{{.Names}} {{.State}}']);
    const states = Object.fromEntries(
      ps.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(' ')),
    );
    assert.equal(states.plain, 'exited', ps.stdout);
    await eventually(
      '--restart always to bring its container back',
      async () => (await docker.ok(['inspect', '--format', '{{.State.Running}}', 'always'])).stdout.trim() === 'true',
    );
    await docker.ok(['start', 'plain']);
    await docker.ok(['exec', 'plain', 'true']);
    await docker.ok(['rm', '-f', 'plain', 'always']);
  });
});

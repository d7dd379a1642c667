// Berth end to end, as a user runs it: `berth start` boots the real guest
// image under QEMU (TCG here) in the background, then the real docker CLI
// goes through the host socket: a pull from a registry on the host's
// loopback, a published port fetched on the host, a bind mount from the
// shared home, a named volume that outlives stop/start, the `berth` docker
// context, `berth shell`, a QEMU killed with SIGKILL that `status`
// reports (with console lines) and `start` recovers from, and a wedged boot
// (vCPUs paused) that `start` kills and boots again.
//
// The CLI runs from source (tsx); BERTH_HOME, HOME (the shared directory)
// and DOCKER_CONFIG are temp directories, so nothing of the user's is used.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DockerCli, runCommand, type RunResult } from '../helpers/docker.js';
import { freePort } from '../helpers/net.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { buildBusyboxImage, pushImage } from '../helpers/test-images.js';
import { chooseEngine, SettingsEngine } from '../../apps/main/src/engines/choose-engine.js';
import { qmpCommand } from '../../apps/main/src/vm/qmp.js';
import { BOOT_PHASE_NAMES } from '../../apps/main/src/vm/boot-phases.js';

const execFileP = promisify(execFile);
const repo = path.resolve(fileURLToPath(import.meta.url), '../../..');
const cli = path.join(repo, 'apps/main/src/cli.ts');
const agentDist = path.join(repo, 'apps/vm-agent/dist');

describe('berth end to end (VM)', { timeout: 1_200_000 }, () => {
  let work: string;
  let home: string;
  let share: string;
  let projects: string;
  let env: Record<string, string>;
  let registry: TestRegistry;
  let docker: DockerCli;
  let image: string;
  let socket: string;

  const berth = (args: string[], timeoutMs = 600_000): Promise<RunResult> =>
    runCommand(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: repo, env, timeoutMs });
  const berthOk = async (args: string[], timeoutMs?: number) => {
    const r = await berth(args, timeoutMs);
    assert.equal(r.code, 0, `berth ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r;
  };
  const runState = () =>
    JSON.parse(fs.readFileSync(path.join(home, 'run/state.json'), 'utf8')) as {
      qemuPid: number;
      daemonPid: number;
      phase: string;
      bootPhases?: { phase: string; ms: number }[];
    };

  before(async () => {
    assert.ok(
      fs.existsSync(path.join(agentDist, 'agent.cjs')) && fs.readFileSync(path.join(agentDist, 'agent.cjs'), 'utf8').includes('host-gateway'),
      'apps/vm-agent/dist is missing or older than --host-gateway: run `npm run build` first',
    );
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-e2e-'));
    home = path.join(work, 'berth-home');
    share = path.join(work, 'user home');
    fs.mkdirSync(share);
    const out = path.join(work, 'image');
    // The guest image with this checkout's agent (about 10 s).
    await execFileP(process.execPath, [path.join(repo, 'resources/vm/build.mjs'), '--out', out, '--agent', agentDist], { cwd: repo, maxBuffer: 16 << 20 });
    env = { BERTH_HOME: home, HOME: share, DOCKER_CONFIG: path.join(work, 'docker-config'), BERTH_VM_IMAGE: out };
    // A second shared folder outside the home (Settings > File sharing), as the user adds one.
    projects = path.join(work, 'projects');
    fs.mkdirSync(projects);
    await berthOk(['settings', 'fileShares', `${share}${path.delimiter}${projects}`]);
    registry = await startRegistry();
    const port = new URL(registry.url).port;
    await pushImage({ url: registry.url }, 'e2e/busybox', '1', await buildBusyboxImage());
    // As the user writes it: localhost, which inside the VM is not the host.
    image = `localhost:${port}/e2e/busybox:1`;
    socket = path.join(home, 'run/docker.sock');
    docker = new DockerCli(socket);
  });

  after(async () => {
    if (home && fs.existsSync(path.join(home, 'run/daemon.lock'))) await berth(['stop'], 180_000);
    try {
      const s = runState();
      for (const pid of [s.daemonPid, s.qemuPid]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone, as it should be
        }
      }
    } catch {
      // never started
    }
    await registry?.stop();
    docker?.dispose();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('berth start boots the VM in the background, shows progress, and prints DOCKER_HOST', async (t) => {
    const t0 = Date.now();
    const r = await berthOk(['start']);
    t.diagnostic(`cold start to engine ready: ${((Date.now() - t0) / 1000).toFixed(1)} s\n${r.stdout}`);
    for (const step of [/Booting the VM/, /The kernel is booting/, /The agent is starting/, /The engine is running/]) assert.match(r.stdout, step);
    assert.match(r.stdout, new RegExp(`^DOCKER_HOST=unix://${socket.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    assert.match(r.stdout, /docker context use berth/);
    // The CLI has exited; the daemon and QEMU keep running.
    const s = runState();
    assert.equal(s.phase, 'running');
    process.kill(s.qemuPid, 0);
    process.kill(s.daemonPid, 0);

    if (/using TCG/.test(r.stdout) && /kvm/.test(r.stdout)) {
      // This machine's /dev/kvm cannot boot a guest: the fallback is said and remembered.
      const settings = JSON.parse(fs.readFileSync(path.join(home, 'settings.json'), 'utf8')) as { acceleratorFallback?: { from: string } };
      assert.equal(settings.acceleratorFallback?.from, 'kvm');
    }
    const mode = (p: string) => fs.statSync(path.join(home, p)).mode & 0o777;
    assert.equal(mode('run/docker.sock'), 0o600);
    assert.equal(mode('ssh/id_ed25519'), 0o600);
    assert.ok(fs.existsSync(path.join(home, 'vm/data.disk')));
    assert.ok(fs.existsSync(path.join(home, 'vm/console.log')));

    const again = await berthOk(['start'], 30_000);
    assert.match(again.stdout, /already running/);
    assert.match(again.stdout, /^DOCKER_HOST=/m);
  });

  it('the berth docker context reaches the engine', async () => {
    const r = await runCommand('/usr/local/bin/docker', ['--context', 'berth', 'version', '--format', '{{.Server.Platform.Name}} {{.Server.Version}}'], {
      env,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Berth/);
  });

  it('pulls from a registry on the host loopback (localhost:PORT)', async () => {
    const pull = await docker.ok(['pull', image], { timeoutMs: 180_000 });
    assert.match(pull.stdout, /Downloaded newer image|Image is up to date/);
    const ls = await docker.ok(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.match(ls.stdout, new RegExp(`^${image.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  });

  it('publishes a container port on the host: busybox httpd with -p PORT:80', async () => {
    const port = await freePort();
    const id = (await docker.ok(['run', '-d', '--name', 'web', '-p', `${port}:80`, image, 'httpd', '-f', '-p', '80', '-h', '/www'])).stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    let body = '';
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/`);
        body = await res.text();
        if (res.status === 200) break;
      } catch {
        // the forwarder or httpd is not up yet
      }
      assert.ok(Date.now() < deadline, `http://127.0.0.1:${port}/ did not answer within 20 s`);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.match(body, /berth test image/);
  });

  it('publishes a UDP port: -p 127.0.0.1:PORT:5353/udp relays a datagram to a server in the container and back', async (t) => {
    const port = await freePort();
    await docker.ok(['run', '-d', '--name', 'udp', '-p', `127.0.0.1:${port}:5353/udp`, image, 'sleep', '600']);
    assert.match((await docker.ok(['port', 'udp'])).stdout, new RegExp(`5353/udp -> 127\\.0\\.0\\.1:${port}`));
    // The test image's busybox nc has no UDP mode, so the echo server is the
    // guest's node run in the container's network namespace (the container's
    // PID is the guest's). It answers each datagram, and ends a little after
    // the first answer (or after 2 min).
    const pid = (await docker.ok(['inspect', '--format', '{{.State.Pid}}', 'udp'])).stdout.trim();
    assert.match(pid, /^[1-9]\d*$/);
    const script = [
      "const s = require('dgram').createSocket('udp4');",
      "s.on('message', (m, r) => s.send(`udp-pong:${m} from ${r.address}`, r.port, r.address, () => setTimeout(() => process.exit(0), 3000)));",
      "s.bind(5353, () => console.log('ready'));",
      'setTimeout(() => process.exit(0), 120000);',
    ].join('\n');
    const server = spawn(
      process.execPath,
      ['--import', 'tsx', cli, 'shell', '--', `nsenter -t ${pid} -n node -e "$(echo ${Buffer.from(script).toString('base64')} | base64 -d)"`],
      { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let serverOut = '';
    server.stdout.on('data', (b: Buffer) => (serverOut += b));
    server.stderr.on('data', (b: Buffer) => (serverOut += b));
    const sock = createSocket('udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        server.stdout.on('data', () => serverOut.includes('ready') && resolve());
        server.once('exit', (code) => reject(new Error(`the UDP server in the container exited (${code}) before it was ready: ${serverOut}`)));
      });
      // UDP may drop a datagram (the relay is a chain of hops): ask again each second, for up to 30 s.
      const reply = new Promise<string>((resolve) => sock.once('message', (m) => resolve(m.toString())));
      let got: string | undefined;
      for (let i = 0; i < 30 && got === undefined; i++) {
        sock.send('ping', port, '127.0.0.1');
        got = await Promise.race([reply, new Promise<undefined>((r) => setTimeout(() => r(undefined), 1000))]);
      }
      assert.ok(got, `no UDP reply through 127.0.0.1:${port} within 30 s; server: ${serverOut}`);
      assert.match(got, /^udp-pong:ping from \d+\.\d+\.\d+\.\d+$/);
      t.diagnostic(got);
    } finally {
      sock.close();
      server.kill();
      await docker.run(['rm', '-f', 'udp']);
    }
  });

  it('bind-mounts a directory of the shared home, both ways', async () => {
    const site = path.join(share, 'site');
    fs.mkdirSync(site);
    fs.writeFileSync(path.join(site, 'hello.txt'), 'hello from the host\n');
    const r = await docker.ok(['run', '--rm', '-v', `${site}:/data`, image, 'sh', '-c', 'cat /data/hello.txt && echo from the container > /data/back.txt']);
    assert.equal(r.stdout, 'hello from the host\n');
    assert.equal(fs.readFileSync(path.join(site, 'back.txt'), 'utf8'), 'from the container\n');
  });

  it('bind-mounts a folder from a second file share (outside the home) at the same path', async () => {
    fs.writeFileSync(path.join(projects, 'notes.txt'), 'shared too\n');
    const r = await docker.ok(['run', '--rm', '-v', `${projects}:/p:ro`, image, 'cat', '/p/notes.txt']);
    assert.equal(r.stdout, 'shared too\n');
  });

  it('berth shell runs commands in the guest and passes their exit status', async () => {
    const r = await berthOk(['shell', '--', 'cat /proc/version; grep -c " /var/lib/berth " /proc/mounts']);
    assert.match(r.stdout, /^Linux version /);
    assert.match(r.stdout, /\n1\n$/);
    const failed = await berth(['shell', '--', 'sh', '-c', 'echo out; echo err >&2; exit 7']);
    assert.equal(failed.code, 7);
    assert.equal(failed.stdout, 'out\n');
    assert.equal(failed.stderr, 'err\n');
  });

  it('berth status says what runs and where', async () => {
    const r = await berthOk(['status']);
    assert.match(r.stdout, /^State: +running/m);
    assert.match(r.stdout, /^Accelerator: +(kvm|tcg)/m);
    assert.match(r.stdout, new RegExp(`^QEMU: +pid ${runState().qemuPid}$`, 'm'));
    assert.match(r.stdout, new RegExp(`^DOCKER_HOST: +unix://${socket.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    assert.match(r.stdout, /^Engine: +berth-agent \d+\.\d+\.\d+/m);
    assert.match(r.stdout, /^Uptime: +\d+ (s|min)/m);
    // the boot's phases, every one marked (host, init, agent), in boot order, adding up to the total
    const phases = runState().bootPhases ?? [];
    assert.deepEqual(
      phases.map((p) => p.phase),
      BOOT_PHASE_NAMES,
    );
    const shown = r.stdout.split('\n').filter((l) => /^  \S.*\d+\.\d\d s$/.test(l));
    assert.deepEqual(
      shown.map((l) => l.replace(/\s+-?\d+\.\d\d s$/, '').trim()),
      [...phases.map((p) => p.phase), 'total'],
    );
    assert.ok(
      phases.every((p) => p.ms >= 0),
      JSON.stringify(phases),
    );
  });

  it("the dashboard's default engine is the VM, and joins the running one", async () => {
    const target = chooseEngine({ home });
    // The settings-chosen target (engineMode, default vm), which is the VM here.
    assert.ok(target instanceof SettingsEngine);
    const seen: string[] = [];
    target.onChange((st) => seen.push(st.state));
    await target.start();
    assert.equal(target.state.state, 'running', target.state.message);
    assert.equal(target.state.mode, 'vm');
    assert.equal(target.state.socket, socket);
    await target.stop();
    assert.deepEqual(seen, ['starting', 'running', 'stopped']);
    // Closing the dashboard leaves the VM to the docker CLI.
    assert.match((await berthOk(['status'])).stdout, /^State: +running/m);
  });

  it('keeps images and volumes across berth stop and berth start', async (t) => {
    await docker.ok(['run', '--rm', '-v', 'e2e-data:/v', image, 'sh', '-c', 'echo kept > /v/f']);
    const stopped = await berthOk(['stop'], 180_000);
    assert.match(stopped.stdout, /The VM is stopped\./);
    assert.ok(!fs.existsSync(socket), 'the host socket is still there');
    const console = fs.readFileSync(path.join(home, 'vm/console.log'), 'utf8');
    assert.match(console, /berth-init: .*agent stopped/);
    assert.match(console, /berth-init: .*unmounted \/var\/lib\/berth/);
    const st = await berth(['status']);
    assert.equal(st.code, 3);
    assert.match(st.stdout, /^State: +stopped/m);

    const t0 = Date.now();
    const again = await berthOk(['start']);
    t.diagnostic(`warm start (disk exists) to engine ready: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const ls = await docker.ok(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.match(ls.stdout, /e2e\/busybox:1/);
    const r = await docker.ok(['run', '--rm', '-v', 'e2e-data:/v', image, 'cat', '/v/f']);
    assert.equal(r.stdout, 'kept\n');
    const web = await docker.ok(['ps', '-a', '--filter', 'name=web', '--format', '{{.Status}}']);
    assert.match(web.stdout, /^Exited/, `the -d container was not stopped by the shutdown: ${web.stdout}`);
    assert.doesNotMatch(again.stdout, /already running/);
  });

  it('reports a killed QEMU with its console lines, and berth start recovers', async () => {
    const { qemuPid, daemonPid } = runState();
    process.kill(qemuPid, 'SIGKILL');
    // The daemon notices, closes the host socket and exits.
    const deadline = Date.now() + 15_000;
    while (isAlive(daemonPid)) {
      assert.ok(Date.now() < deadline, 'the VM daemon did not notice QEMU dying');
      await new Promise((r) => setTimeout(r, 100));
    }
    const st = await berth(['status']);
    assert.equal(st.code, 1, st.stdout + st.stderr);
    assert.match(st.stdout, /^State: +failed: The VM stopped unexpectedly: QEMU exited unexpectedly \(signal SIGKILL\)/m);
    assert.match(st.stderr, /^Last console lines:\n {2}\S/m);
    assert.ok(!fs.existsSync(socket));

    const json = JSON.parse((await berth(['status', '--json'])).stdout) as { state: string; qemuAlive: boolean; consoleTail: string[] };
    assert.equal(json.state, 'failed');
    assert.equal(json.qemuAlive, false);
    assert.ok(json.consoleTail.length > 0);

    await berthOk(['start']);
    const r = await docker.ok(['run', '--rm', '-v', 'e2e-data:/v', image, 'cat', '/v/f']);
    assert.equal(r.stdout, 'kept\n');
    assert.match((await berthOk(['status'])).stdout, /^State: +running/m);
  });

  it('a boot that makes no progress is killed and booted again, and berth start says so', async () => {
    await berthOk(['stop'], 180_000);
    // A wedged guest, made from outside: its vCPUs paused (QMP stop) once its kernel runs.
    const starting = runCommand(process.execPath, ['--import', 'tsx', cli, 'start'], {
      cwd: repo,
      env: { ...env, BERTH_BOOT_STALL_SECONDS: '30' },
      timeoutMs: 600_000,
    });
    let wedged: number | undefined;
    for (const deadline = Date.now() + 120_000; !wedged; await new Promise((r) => setTimeout(r, 50))) {
      assert.ok(Date.now() < deadline, 'the VM did not reach its kernel within 120 s');
      const s = fs.existsSync(path.join(home, 'run/state.json')) ? runState() : undefined;
      if (s?.phase === 'kernel' && s.qemuPid && isAlive(s.qemuPid)) {
        await qmpCommand({ unix: path.join(home, 'vm/qmp.sock') }, 'stop');
        wedged = s.qemuPid;
      }
    }
    const r = await starting;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /The VM made no progress in 30 s \(its agent (never started|started but does not answer)\); killing it and booting again…/);
    assert.match(r.stdout, /Booting the VM again \(/);
    assert.ok(!isAlive(wedged), 'the wedged QEMU still runs');
    assert.notEqual(runState().qemuPid, wedged);
    const ok = await docker.ok(['run', '--rm', '-v', 'e2e-data:/v', image, 'cat', '/v/f']);
    assert.equal(ok.stdout, 'kept\n');
  });

  it('berth stop when nothing runs says so', async () => {
    await berthOk(['stop'], 180_000);
    const r = await berthOk(['stop']);
    assert.match(r.stdout, /not running/);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Device nodes in containers on the real guest (pure cgroup v2, where the
// device rules are a BPF program on each container's cgroup): a container
// keeps CAP_MKNOD, as in Docker, so it can make a node for the VM's data
// disk; opening it must fail with EPERM while root in the guest reads the
// disk. The default devices and a pty still work.
//
// Boots with `berth start` like berth-e2e.test.ts (TCG here, about 1 min);
// needs apps/vm-agent/dist built (`npm run build`).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DockerCli, runCommand } from '../helpers/docker.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { buildBusyboxImage, pushImage } from '../helpers/test-images.js';

const repo = path.resolve(fileURLToPath(import.meta.url), '../../..');
const cli = path.join(repo, 'apps/main/src/cli.ts');
const agentDist = path.join(repo, 'apps/vm-agent/dist');

/** Sets $d to the guest's first disk and $1 $2 to its major and minor, from /sys (read-only in containers too). */
const FIND_DISK = 'd=$(ls /sys/block | grep -v -e ^loop -e ^ram | head -n 1); set -- $(tr : " " < /sys/block/$d/dev)';

describe('device nodes in containers (VM, cgroup v2)', { timeout: 600_000 }, () => {
  let work: string;
  let env: Record<string, string>;
  let registry: TestRegistry;
  let docker: DockerCli;
  let image: string;

  const berth = (args: string[], timeoutMs = 300_000) => runCommand(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: repo, env, timeoutMs });

  before(async () => {
    assert.ok(
      fs.existsSync(path.join(agentDist, 'main.js')) && fs.readFileSync(path.join(agentDist, 'main.js'), 'utf8').includes('attachDeviceFilter'),
      'apps/vm-agent/dist is missing or older than the cgroup v2 device filter: run `npm run build` first',
    );
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-devices-'));
    const out = path.join(work, 'image');
    await promisify(execFile)(process.execPath, [path.join(repo, 'resources/vm/build.mjs'), '--out', out, '--agent', agentDist], { cwd: repo, maxBuffer: 16 << 20 });
    const home = path.join(work, 'berth-home');
    env = { BERTH_HOME: home, HOME: path.join(work, 'home'), DOCKER_CONFIG: path.join(work, 'docker-config'), BERTH_VM_IMAGE: out };
    fs.mkdirSync(env.HOME!);
    registry = await startRegistry();
    await pushImage({ url: registry.url }, 'devices/busybox', '1', await buildBusyboxImage());
    image = `localhost:${new URL(registry.url).port}/devices/busybox:1`;
    const start = await berth(['start']);
    assert.equal(start.code, 0, `berth start: ${start.stdout}\n${start.stderr}`);
    docker = new DockerCli(path.join(home, 'run/docker.sock'));
    await docker.ok(['pull', image], { timeoutMs: 180_000 });
  });

  after(async () => {
    if (env && fs.existsSync(path.join(env.BERTH_HOME!, 'run/daemon.lock'))) await berth(['stop'], 180_000);
    await registry?.stop();
    docker?.dispose();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('the guest runs pure cgroup v2, and root in the guest reads its disk (the control)', async () => {
    const r = await berth(['shell', '--', `cut -d " " -f 3 /proc/mounts | grep ^cgroup | sort -u; ${FIND_DISK}; echo "$d $1 $2"; head -c 512 /dev/$d | wc -c`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^cgroup2\n\S+ \d+ \d+\n512\n$/, r.stdout); // no v1 hierarchy mounted
  });

  it('a container makes a node for the disk (and the console) but cannot open it: EPERM, not the nodev EACCES', async () => {
    const script = [
      FIND_DISK,
      // /dev is the container's tmpfs (not nodev, it holds the real nodes): only the filter stands here.
      'busybox mknod /dev/disk b $1 $2 && echo "mknod disk ok"',
      'busybox mknod /dev/vc c 7 0 && echo "mknod vc ok"',
      'head -c 512 /dev/disk; echo "disk=$?"',
      'head -c 1 /dev/vc; echo "vc=$?"',
      'echo x > /dev/disk; echo "disk-write=$?"',
      // The rootfs overlay is nodev as well: there the open fails before the filter.
      'busybox mknod /tmp/disk b $1 $2; head -c 1 /tmp/disk; echo "rootfs=$?"',
    ].join('\n');
    const r = await docker.run(['run', '--rm', image, 'sh', '-c', script]);
    const why = `${r.stdout}\n${r.stderr}`;
    assert.match(r.stdout, /^mknod disk ok$/m, why);
    assert.match(r.stdout, /^mknod vc ok$/m, why);
    for (const n of ['disk', 'vc', 'disk-write', 'rootfs']) assert.match(r.stdout, new RegExp(`^${n}=1$`, 'm'), why);
    assert.match(r.stderr, /head: \/dev\/disk: Operation not permitted/, why);
    assert.match(r.stderr, /head: \/dev\/vc: Operation not permitted/, why);
    assert.match(r.stderr, /can't create \/dev\/disk: Operation not permitted/, why);
    assert.match(r.stderr, /head: \/tmp\/disk: Permission denied/, why);
  });

  it('the default devices and a pty still work', async () => {
    const r = await docker.run(['run', '--rm', image, 'sh', '-c', 'echo x > /dev/null && head -c 4 /dev/zero | wc -c && head -c 4 /dev/urandom | wc -c && head -c 0 /dev/full && head -c 0 /dev/ptmx && echo ok']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '4\n4\nok\n');
    const t = await docker.run(['run', '--rm', '-t', image, 'sh', '-c', 'tty && echo hi > /dev/tty']);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /^\/dev\/pts\/0\r?\nhi\r?\n$/);
  });
});

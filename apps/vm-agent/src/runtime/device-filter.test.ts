// The cgroup v2 device filter (native/src/devices_bpf.c) against the real
// kernel: a container in a v2 cgroup made by Cgroup.create may make any node
// but open only runc's default devices, and what Cgroup.allowDevices adds.
// On a v1 host this runs in the cgroup2 hierarchy mounted beside v1
// (/sys/fs/cgroup/unified): device programs attach to any v2 cgroup,
// whichever controllers are bound there. Also the nodes the runtime makes
// beyond the defaults (native/src/devices.c, --device and --privileged).
// Needs root.
import assert from 'node:assert/strict';
import { readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { Cgroup } from './cgroups.js';
import type { CgroupLayout } from './cgroup-layout.js';
import { execInContainer } from './exec.js';
import { hostDevices } from './devices.js';
import { attachDeviceFilter } from './native.js';
import { spawnContainer } from './spawn.js';
import { collect, makeRootfs, type TestRootfs } from './test-rootfs.js';

const ENV = ['PATH=/bin'];
const PARENT = `berth-test-devices-${process.pid}`;

/** The cgroup2 mount, wherever it is (/sys/fs/cgroup on v2, .../unified on a hybrid host). */
function cgroup2Mount(): string | undefined {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (right?.startsWith('cgroup2 ')) return left!.split(' ')[4];
  }
  return undefined;
}

/** The machine's first disk (vda here and in the VM) as "major minor": the node a container must not read. */
function firstDisk(): string | undefined {
  const line = readFileSync('/proc/partitions', 'utf8')
    .split('\n')
    .slice(2)
    .find((l) => l.trim());
  return line?.trim().split(/\s+/).slice(0, 2).join(' ');
}

const unified = cgroup2Mount();
const layout: CgroupLayout | undefined = unified ? { version: 2, unified, hierarchies: new Map() } : undefined;
const disk = firstDisk();

let fx: TestRootfs;
before(() => {
  fx = makeRootfs();
});
after(() => {
  fx.cleanup();
  try {
    if (unified) rmdirSync(join(unified, PARENT));
  } catch {
    // never made (skipped) or already gone
  }
});

/**
 * Makes nodes in the (not nodev) overlay and reports, per node, "ok" when it
 * opened for reading (or writing, for `>`) or the error text. `head -c 0`
 * opens without reading; only the disk's first block is read.
 */
const PROBE = `
probe() { if (eval "$2") 2>/tmp/err; then echo "$1 ok"; else echo "$1 $(cat /tmp/err)"; fi; }
mknod /tmp/mem c 1 1 && echo "mknod mem ok"
mknod /tmp/vcs c 7 0 && echo "mknod vcs ok"
${disk ? `mknod /tmp/disk b ${disk} && echo "mknod disk ok"` : ''}
mknod /tmp/tun c 10 200 && echo "mknod tun ok"
probe mem 'head -c 0 /tmp/mem'
probe mem-write 'true > /tmp/mem'
probe vcs 'head -c 0 /tmp/vcs'
${disk ? `probe disk 'head -c 512 /tmp/disk | wc -c | grep -q 512'` : ''}
probe null 'echo x > /dev/null'
probe zero 'test "$(head -c 3 /dev/zero | wc -c)" = 3'
probe full 'head -c 0 /dev/full'
probe random 'head -c 1 /dev/random >/dev/null'
probe urandom 'head -c 1 /dev/urandom >/dev/null'
probe ptmx 'head -c 0 /dev/ptmx'
probe tun 'head -c 0 /tmp/tun'
true
`;

function lines(out: string): Map<string, string> {
  return new Map(
    out
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]),
  );
}

async function probe(cgroup?: Cgroup) {
  const p = await spawnContainer({
    rootfs: fx.rootfs,
    args: ['sh', '-c', `mkdir -p /tmp; rm -f /tmp/mem /tmp/vcs /tmp/disk /tmp/tun; ${PROBE}`],
    env: ENV,
    cgroup,
  });
  const [stdout, stderr] = await Promise.all([collect(p.stdout), collect(p.stderr), p.exited]);
  return { seen: lines(stdout), stdout, stderr };
}

const EPERM = /Operation not permitted/;
const FORBIDDEN = ['mem', 'mem-write', 'vcs', ...(disk ? ['disk'] : [])];
const ALLOWED = ['null', 'zero', 'full', 'random', 'urandom', 'ptmx'];

test(
  'a v2 container cgroup lets its processes make any node but open only the default devices',
  { skip: !layout && 'no cgroup2 hierarchy is mounted' },
  async (t) => {
    // The control: with no cgroup (the runner's own device rules, root's) some
    // forbidden node must open, else this test could not tell the filter
    // from the machine (here /dev/vda is closed to root itself; vcs opens).
    const open = await probe();
    const opened = FORBIDDEN.filter((n) => open.seen.get(n) === 'ok');
    assert.ok(opened.length > 0, `no forbidden node opens without the filter:\n${open.stdout}\n${open.stderr}`);

    const cg = Cgroup.create('c1', PARENT, layout);
    t.after(() => cg.remove());
    const { seen, stdout, stderr } = await probe(cg);
    const why = `${stdout}\n${stderr}`;
    for (const n of ['mem', 'vcs', 'tun', ...(disk ? ['disk'] : [])]) assert.ok(stdout.includes(`mknod ${n} ok`), `mknod ${n}: ${why}`);
    for (const n of FORBIDDEN) assert.match(seen.get(n) ?? '', EPERM, `${n}: ${why}`);
    for (const n of ALLOWED) assert.equal(seen.get(n), 'ok', `${n}: ${why}`);
    // tun is allowed: whatever the open says (no tun module: ENODEV), it is not the filter's EPERM.
    assert.doesNotMatch(seen.get('tun') ?? 'missing', EPERM, why);
  },
);

test('exec in the container is filtered too', { skip: !layout && 'no cgroup2 hierarchy is mounted' }, async (t) => {
  const cg = Cgroup.create('c2', PARENT, layout);
  const p = await spawnContainer({ rootfs: fx.rootfs, args: ['sleep', '30'], env: ENV, cgroup: cg });
  t.after(async () => {
    p.kill('SIGKILL');
    await p.exited;
    await cg.remove();
  });
  const script = 'mkdir -p /tmp; rm -f /tmp/v; mknod /tmp/v c 7 0; head -c 0 /tmp/v; echo "vcs=$?"; echo x > /dev/null; echo "null=$?"';
  const e = await execInContainer(p.pid, { args: ['sh', '-c', script], env: ENV, cgroup: cg });
  const [out, err] = await Promise.all([collect(e.stdout), collect(e.stderr), e.exited]);
  assert.match(out, /vcs=1/, out + err);
  assert.match(err, EPERM);
  assert.match(out, /null=0/);
});

test('rules are matched by type, major, minor and access; a wildcard matches any number', { skip: !layout && 'no cgroup2 hierarchy is mounted' }, async (t) => {
  const cg = Cgroup.create('c4', PARENT, layout);
  // Read-only major 1, mknod of character nodes only, the pty devices in full.
  attachDeviceFilter(cg.dirs[0]!, [
    { type: 'c', major: '*', minor: '*', access: 'm' },
    { type: 'c', major: 1, minor: '*', access: 'r' },
    { type: 'c', major: 5, minor: 2, access: 'rwm' },
    { type: 'c', major: 136, minor: '*', access: 'rw' },
  ]);
  const script = [
    'mkdir -p /tmp; rm -f /tmp/b /tmp/c',
    'test "$(head -c 1 /dev/zero | wc -c)" = 1; echo "read-zero=$?"',
    'head -c 0 /dev/urandom; echo "read-urandom=$?"',
    'echo x > /dev/null; echo "write-null=$?"',
    'head -c 0 /dev/ptmx; echo "ptmx=$?"',
    'head -c 0 /dev/tty; echo "tty=$?"',
    'mknod /tmp/c c 4 1; echo "mknod-char=$?"',
    'mknod /tmp/b b 7 0; echo "mknod-block=$?"',
  ].join('; ');
  const p = await spawnContainer({ rootfs: fx.rootfs, args: ['sh', '-c', script], env: ENV, cgroup: cg });
  const [out, err] = await Promise.all([collect(p.stdout), collect(p.stderr), p.exited]);
  t.after(() => cg.remove());
  const why = out + err;
  for (const ok of ['read-zero', 'read-urandom', 'ptmx', 'mknod-char']) assert.match(out, new RegExp(`^${ok}=0$`, 'm'), why);
  for (const denied of ['write-null', 'tty', 'mknod-block']) assert.match(out, new RegExp(`^${denied}=[1-9]`, 'm'), why);
  assert.equal(err.match(/Operation not permitted/g)?.length, 3, why);
});

test('a reused cgroup keeps one device program: attaching replaces the old', { skip: !layout && 'no cgroup2 hierarchy is mounted' }, async (t) => {
  const cg = Cgroup.create('c3', PARENT, layout);
  t.after(() => cg.remove());
  Cgroup.create('c3', PARENT, layout); // reused, as after an agent restart
  assert.equal(attachDeviceFilter(cg.dirs[0]!, [{ type: 'c', major: 1, minor: 3, access: 'rwm' }]), 1);
  assert.equal(attachDeviceFilter(cg.dirs[0]!, [{ type: 'a', major: '*', minor: '*', access: 'rwm' }]), 1);
});

test('attachDeviceFilter errors name the step, the syscall and the cgroup', { skip: !layout && 'no cgroup2 hierarchy is mounted' }, () => {
  assert.throws(() => attachDeviceFilter('/nonexistent-cgroup', []), { code: 'ENOENT', syscall: 'open', message: /open cgroup `\/nonexistent-cgroup`/ });
  assert.throws(() => attachDeviceFilter('/tmp', []), { code: 'ENOTDIR', message: /`\/tmp` is not a cgroup v2 directory/ });
  assert.throws(() => attachDeviceFilter('/tmp', [{ type: 'c', major: 1, minor: 3, access: 'rx' }]), /only r, w and m/);
  assert.throws(() => attachDeviceFilter('/tmp', [{ type: 'c', major: 4096, minor: 3, access: 'r' }]), /rules\[0\] is invalid/);
});

async function run(script: string, extra: Partial<Parameters<typeof spawnContainer>[0]> = {}) {
  const p = await spawnContainer({ rootfs: fx.rootfs, args: ['sh', '-c', script], env: ENV, ...extra });
  const [out, err] = await Promise.all([collect(p.stdout), collect(p.stderr), p.exited]);
  return { out, err };
}

test('nodes are made with the given type, numbers, mode and owner, in new directories, replacing a default node', async () => {
  const { out, err } = await run('stat -c "%n %F %t:%T %a %u:%g" /dev/z /dev/snd/by-id/b /dev/null /zz; ls -ld /dev/snd | cut -c1-10; ls -l /dev/ptmx', {
    devices: [
      { path: '/dev/z', type: 'c', major: 1, minor: 5, mode: 0o640, uid: 1, gid: 2 },
      { path: '/dev/snd/by-id/b', type: 'b', major: 7, minor: 9, mode: 0o600, uid: 0, gid: 0 },
      { path: '/dev/null', type: 'c', major: 1, minor: 3, mode: 0o620, uid: 0, gid: 5 },
      { path: '/zz', type: 'p', major: 0, minor: 0, mode: 0o644, uid: 0, gid: 0 },
      { path: '/dev/ptmx', type: 'c', major: 5, minor: 2, mode: 0o666, uid: 0, gid: 0 },
    ],
  });
  assert.equal(
    out.split('\n').slice(0, 5).join('\n'),
    [
      '/dev/z character special file 1:5 640 1:2',
      '/dev/snd/by-id/b block special file 7:9 600 0:0',
      '/dev/null character special file 1:3 620 0:5',
      '/zz fifo 0:0 644 0:0',
      'drwxr-xr-x',
    ].join('\n'),
    err,
  );
  assert.match(out, /\/dev\/ptmx -> pts\/ptmx/, "ptmx stays the link to the container's devpts");
});

test('a bad node is refused before the child starts', async () => {
  await assert.rejects(
    run('true', { devices: [{ path: 'dev/z', type: 'c', major: 1, minor: 5, mode: 0o666, uid: 0, gid: 0 }] }),
    /spec\.devices\[0\] is invalid/,
  );
  await assert.rejects(
    run('true', { devices: [{ path: '/dev/z', type: 'x' as 'c', major: 1, minor: 5, mode: 0o666, uid: 0, gid: 0 }] }),
    /spec\.devices\[0\] is invalid/,
  );
  await assert.rejects(
    run('true', { devices: [{ path: '/dev/..', type: 'c', major: 1, minor: 5, mode: 0o666, uid: 0, gid: 0 }] }),
    /spec\.devices\[0\] is invalid/,
  );
});

test("--privileged's list: the machine's char and block nodes, none a container mounts itself", () => {
  const nodes = hostDevices();
  assert.ok(nodes.some((n) => n.path === '/dev/null' && n.type === 'c' && n.major === 1 && n.minor === 3 && n.mode === 0o666));
  assert.ok(nodes.every((n) => n.type !== 'p' && !/^\/dev\/(pts|shm|mqueue|fd)\/|^\/dev\/console$/.test(n.path)));
});

test(
  'allowDevices on v2 adds rules to the defaults, and leaves out one no dev_t can match',
  { skip: !layout && 'no cgroup2 hierarchy is mounted' },
  async (t) => {
    // vcs (7:0) opens for root without a filter (device-filter.test.ts's control); fuse (10:229) too
    const script =
      'mkdir -p /tmp; rm -f /tmp/f /tmp/v; mknod /tmp/f c 10 229; mknod /tmp/v c 7 0; ' +
      'head -c 0 /tmp/f; echo "fuse=$?"; head -c 0 /tmp/v; echo "vcs=$?"; echo x > /dev/null; echo "null=$?"';
    const cg = Cgroup.create('a1', PARENT, layout);
    t.after(() => cg.remove());
    cg.allowDevices([
      { type: 'c', major: 10, minor: 229, access: 'r' },
      { type: 'c', major: 5000, minor: 1, access: 'rwm' },
    ]);
    const { out, err } = await run(script, { cgroup: cg });
    assert.match(out, /^fuse=0$/m, out + err);
    assert.match(out, /^vcs=1$/m, 'not in the rules: the filter still denies');
    assert.match(err, /head: \/tmp\/v: Operation not permitted/);
    assert.match(out, /^null=0$/m, 'the defaults stay');

    const all = Cgroup.create('a2', PARENT, layout);
    t.after(() => all.remove());
    all.allowDevices([{ type: 'a', major: '*', minor: '*', access: 'rwm' }]);
    assert.match((await run(script, { cgroup: all })).out, /^fuse=0\nvcs=0\nnull=0$/m);
  },
);

// Device nodes in containers on the real guest (pure cgroup v2, where the
// device rules are a BPF program on each container's cgroup): a container
// keeps CAP_MKNOD, as in Docker, so it can make a node for the VM's data
// disk; opening it must fail with EPERM while root in the guest reads the
// disk. The default devices and a pty still work. --device, --device-cgroup-rule
// and --privileged open the disk as dockerd does: the filter then has more rules.
//
// Boots with `berth start` (tests/helpers/vm.ts; TCG here, about 1 min);
// needs apps/vm-agent/dist built (`npm run build`).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildBusyboxImage } from '../helpers/test-images.js';
import { useVmWithImage } from '../helpers/vm-with-image.js';

/** Sets $d to the guest's first disk and $1 $2 to its major and minor, from /sys (read-only in containers too). */
const FIND_DISK = 'd=$(ls /sys/block | grep -v -e ^loop -e ^ram | head -n 1); set -- $(tr : " " < /sys/block/$d/dev)';

describe('device nodes in containers (VM, cgroup v2)', { timeout: 600_000 }, () => {
  const fx = useVmWithImage('berth-devices-', 'attachDeviceFilter', 'devices/busybox', () => buildBusyboxImage());

  it('the guest runs pure cgroup v2, and root in the guest reads its disk (the control)', async () => {
    const r = await fx.vm.berth([
      'shell',
      '--',
      `cut -d " " -f 3 /proc/mounts | grep ^cgroup | sort -u; ${FIND_DISK}; echo "$d $1 $2"; head -c 512 /dev/$d | wc -c`,
    ]);
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
    const r = await fx.docker.run(['run', '--rm', fx.image, 'sh', '-c', script]);
    const why = `${r.stdout}\n${r.stderr}`;
    assert.match(r.stdout, /^mknod disk ok$/m, why);
    assert.match(r.stdout, /^mknod vc ok$/m, why);
    for (const n of ['disk', 'vc', 'disk-write', 'rootfs']) assert.match(r.stdout, new RegExp(`^${n}=1$`, 'm'), why);
    assert.match(r.stderr, /head: \/dev\/disk: Operation not permitted/, why);
    assert.match(r.stderr, /head: \/dev\/vc: Operation not permitted/, why);
    assert.match(r.stderr, /can't create \/dev\/disk: Operation not permitted/, why);
    assert.match(r.stderr, /head: \/tmp\/disk: Permission denied/, why);
  });

  it("--privileged sees the guest's devices (its virtio disk, /dev/kmsg) with their numbers, and may read the disk", async () => {
    const guest = await fx.vm.berth(['shell', '--', `${FIND_DISK}; stat -c "%n %t:%T %a" /dev/$d /dev/kmsg`]);
    assert.equal(guest.code, 0, guest.stderr);
    const lines = guest.stdout.trim().split('\n');
    assert.match(lines[0]!, /^\/dev\/vd[a-z] /, guest.stdout);
    const r = await fx.docker.run([
      'run',
      '--rm',
      '--privileged',
      fx.image,
      'sh',
      '-c',
      `stat -c "%n %t:%T %a" ${lines.map((l) => l.split(' ')[0]).join(' ')}; head -c 512 ${lines[0]!.split(' ')[0]} | wc -c; grep -E "^(CapBnd|Seccomp):" /proc/self/status`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split('\n').slice(0, 3).join('\n'), `${lines.join('\n')}\n512`);
    assert.match(r.stdout, /^CapBnd:\s+000001ffffffffff$/m, 'every capability of the guest kernel (0-40)');
    assert.match(r.stdout, /^Seccomp:\s+0$/m);
    const plain = await fx.docker.run(['run', '--rm', fx.image, 'ls', lines[0]!.split(' ')[0]!]);
    assert.notEqual(plain.code, 0, 'a default container has no such node');

    // /sys and the cgroup2 mount read-write, no masks; a default container has them read-only and masked
    const mounts = 'grep -E " /sys(/fs/cgroup)? | /proc/(kcore|keys|sys) " /proc/self/mountinfo | cut -d " " -f 5,6';
    const priv = await fx.docker.ok(['run', '--rm', '--privileged', fx.image, 'sh', '-c', mounts]);
    assert.match(priv.stdout, /^\/sys rw,/m);
    assert.match(priv.stdout, /^\/sys\/fs\/cgroup rw,/m);
    assert.doesNotMatch(priv.stdout, /\/proc\//);
    const def = await fx.docker.ok(['run', '--rm', fx.image, 'sh', '-c', mounts]);
    assert.match(def.stdout, /^\/sys ro,/m);
    assert.match(def.stdout, /^\/sys\/fs\/cgroup ro,/m);
    assert.match(def.stdout, /^\/proc\/kcore /m);
    assert.match(def.stdout, /^\/proc\/sys ro,/m);
  });

  it('--device maps the disk read-only (v2 filter: reads, EPERM on a write open); --device-cgroup-rule opens a node made in it', async () => {
    const r = await fx.docker.run([
      'run',
      '--rm',
      '--device',
      '/dev/vda:/dev/disk:r',
      fx.image,
      'sh',
      '-c',
      'stat -c "%t:%T %F" /dev/disk; head -c 512 /dev/disk | wc -c; exec 4>/dev/disk && echo write-open',
    ]);
    const why = `${r.stdout}\n${r.stderr}`;
    assert.match(r.stdout, /^[0-9a-f]+:0 block special file\n512\n$/, why);
    assert.doesNotMatch(r.stdout, /write-open/, why);
    assert.match(r.stderr, /can't create \/dev\/disk: Operation not permitted/, why);

    const script = `${FIND_DISK}; busybox mknod /dev/d2 b $1 $2 && head -c 512 /dev/d2 | wc -c`;
    const made = await fx.docker.run(['run', '--rm', '--device-cgroup-rule', 'b *:* r', fx.image, 'sh', '-c', script]);
    assert.equal(made.stdout, '512\n', `${made.stdout}\n${made.stderr}`);
    const refused = await fx.docker.run(['run', '--rm', '--device-cgroup-rule', 'c *:* r', fx.image, 'sh', '-c', script]);
    assert.match(refused.stderr, /Operation not permitted/, 'a rule for the other type opens nothing (the assertion above can fail)');
  });

  it('the default devices and a pty still work', async () => {
    const r = await fx.docker.run([
      'run',
      '--rm',
      fx.image,
      'sh',
      '-c',
      'echo x > /dev/null && head -c 4 /dev/zero | wc -c && head -c 4 /dev/urandom | wc -c && head -c 0 /dev/full && head -c 0 /dev/ptmx && echo ok',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '4\n4\nok\n');
    const t = await fx.docker.run(['run', '--rm', '-t', fx.image, 'sh', '-c', 'tty && echo hi > /dev/tty']);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /^\/dev\/pts\/0\r?\nhi\r?\n$/);
  });
});

// Device nodes in containers on the real guest (pure cgroup v2, where the
// device rules are a BPF program on each container's cgroup): a container
// keeps CAP_MKNOD, as in Docker, so it can make a node for the VM's data
// disk; opening it must fail with EPERM while root in the guest reads the
// disk. The default devices and a pty still work.
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
    const r = await fx.vm.berth(['shell', '--', `cut -d " " -f 3 /proc/mounts | grep ^cgroup | sort -u; ${FIND_DISK}; echo "$d $1 $2"; head -c 512 /dev/$d | wc -c`]);
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

  it('the default devices and a pty still work', async () => {
    const r = await fx.docker.run(['run', '--rm', fx.image, 'sh', '-c', 'echo x > /dev/null && head -c 4 /dev/zero | wc -c && head -c 4 /dev/urandom | wc -c && head -c 0 /dev/full && head -c 0 /dev/ptmx && echo ok']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '4\n4\nok\n');
    const t = await fx.docker.run(['run', '--rm', '-t', fx.image, 'sh', '-c', 'tty && echo hi > /dev/tty']);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /^\/dev\/pts\/0\r?\nhi\r?\n$/);
  });
});

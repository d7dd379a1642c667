import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildQemuArgs, guestPathFor, kernelCmdline, qemuBinary, type Accelerator, type HostOs, type QemuConfig, type VmArch } from './qemu-args.js';

function config(os: HostOs, arch: VmArch, accel: Accelerator, extra: Partial<QemuConfig> = {}): QemuConfig {
  return {
    os,
    arch,
    accel,
    cpus: 2,
    memoryMiB: 2048,
    kernel: '/res/vmlinuz',
    initrd: '/res/initramfs.cpio.gz',
    rootDisk: '/res/root.erofs',
    dataDisk: { path: '/state/data.disk', format: 'qcow2' },
    sshPort: 52022,
    qmp: os === 'win32' ? { tcpPort: 52023 } : { unix: '/state/qmp.sock' },
    consoleLog: '/state/console.log',
    ...extra,
  };
}

/** The value after each occurrence of `flag`. */
function values(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));
}

const combos: Array<[HostOs, VmArch, Accelerator, string, string, string]> = [
  // os, arch, accel, expected -accel, expected -cpu, expected -machine
  ['linux', 'x86_64', 'kvm', 'kvm', 'host', 'q35'],
  ['linux', 'x86_64', 'tcg', 'tcg,thread=multi', 'max', 'q35'],
  ['linux', 'arm64', 'kvm', 'kvm', 'host', 'virt,gic-version=host'],
  ['linux', 'arm64', 'tcg', 'tcg,thread=multi', 'max,pauth-impdef=on', 'virt,gic-version=3'],
  ['darwin', 'arm64', 'hvf', 'hvf', 'host', 'virt,gic-version=3'],
  ['darwin', 'x86_64', 'hvf', 'hvf', 'host', 'q35'],
  ['darwin', 'arm64', 'tcg', 'tcg,thread=multi', 'max,pauth-impdef=on', 'virt,gic-version=3'],
  ['win32', 'x86_64', 'whpx', 'whpx,kernel-irqchip=off', 'qemu64', 'q35'],
  ['win32', 'x86_64', 'tcg', 'tcg,thread=multi', 'max', 'q35'],
];

describe('buildQemuArgs', () => {
  for (const [os, arch, accel, accelArg, cpu, machine] of combos) {
    it(`${os} ${arch} ${accel}`, () => {
      const args = buildQemuArgs(config(os, arch, accel));
      assert.deepEqual(values(args, '-accel'), [accelArg]);
      assert.deepEqual(values(args, '-cpu'), [cpu]);
      assert.deepEqual(values(args, '-machine'), [machine]);
      assert.deepEqual(values(args, '-smp'), ['2']);
      assert.deepEqual(values(args, '-m'), ['2048']);
      assert.deepEqual(values(args, '-kernel'), ['/res/vmlinuz']);
      assert.deepEqual(values(args, '-initrd'), ['/res/initramfs.cpio.gz']);
      assert.deepEqual(values(args, '-serial'), ['file:/state/console.log']);
      // SSH is forwarded from the host's loopback only
      assert.deepEqual(values(args, '-netdev'), ['user,id=net0,hostfwd=tcp:127.0.0.1:52022-:22']);
      assert.deepEqual(values(args, '-qmp'), [os === 'win32' ? 'tcp:127.0.0.1:52023,server=on,wait=off' : 'unix:/state/qmp.sock,server=on,wait=off']);
      assert.equal(values(args, '-drive')[0], 'if=none,id=data,file=/state/data.disk,format=qcow2,cache=writeback,discard=unmap');
      assert.ok(values(args, '-device').includes('virtio-blk-pci,drive=data'));
      // the root image: read-only, after the data disk (the guest's /dev/vda), found by its serial
      assert.deepEqual(values(args, '-drive'), [
        'if=none,id=data,file=/state/data.disk,format=qcow2,cache=writeback,discard=unmap',
        'if=none,id=root,file=/res/root.erofs,format=raw,readonly=on',
      ]);
      const devices = values(args, '-device');
      assert.ok(devices.indexOf('virtio-blk-pci,drive=root,serial=berth-root') > devices.indexOf('virtio-blk-pci,drive=data'));
      assert.ok(devices.includes('virtio-balloon-pci,free-page-reporting=on'));
      assert.match(values(args, '-append')[0]!, arch === 'x86_64' ? /^console=ttyS0 / : /^console=ttyAMA0 /);
      assert.ok(args.includes('-no-reboot') && args.includes('-nodefaults'));
    });
  }

  it('escapes commas in the root image path', () => {
    const args = buildQemuArgs(config('linux', 'x86_64', 'kvm', { rootDisk: '/Apps/a,b/root.erofs' }));
    assert.equal(values(args, '-drive')[1], 'if=none,id=root,file=/Apps/a,,b/root.erofs,format=raw,readonly=on');
  });

  it('gives an arm64 guest PCI virtio devices (the virt machine has a PCIe host) and the PL011 console', () => {
    const args = buildQemuArgs(config('darwin', 'arm64', 'hvf', { share: { hostPath: '/Users/ann', guestPath: '/Users/ann' } }));
    const devices = values(args, '-device');
    assert.ok(devices.length >= 5 && devices.every((d) => /^virtio-[a-z0-9]+-pci(,|$)/.test(d)), devices.join(' '));
    assert.ok(devices.includes('virtio-9p-pci,fsdev=home,mount_tag=berthhome') && devices.includes('virtio-net-pci,netdev=net0'));
    assert.equal(values(args, '-append')[0]!.split(' ')[0], 'console=ttyAMA0');
    // no firmware: the kernel Image boots directly with a device tree
    assert.ok(!args.includes('-bios') && !args.includes('-pflash'));
  });

  it('refuses an accelerator the host OS does not have', () => {
    assert.throws(() => buildQemuArgs(config('linux', 'x86_64', 'hvf')), /hvf is not available on linux; use kvm or tcg/);
    assert.throws(() => buildQemuArgs(config('darwin', 'arm64', 'kvm')), /kvm is not available on darwin/);
    assert.throws(() => buildQemuArgs(config('win32', 'x86_64', 'kvm')), /kvm is not available on win32/);
  });

  it('shares the home directory over 9p with the tag init mounts', () => {
    const args = buildQemuArgs(config('linux', 'x86_64', 'kvm', { share: { hostPath: '/home/ann', guestPath: '/home/ann' } }));
    assert.deepEqual(values(args, '-fsdev'), ['local,id=home,path=/home/ann,security_model=none']);
    assert.ok(values(args, '-device').includes('virtio-9p-pci,fsdev=home,mount_tag=berthhome'));
    assert.match(values(args, '-append')[0]!, new RegExp(`berth\\.home=${Buffer.from('/home/ann').toString('base64')}`));
  });

  it('shares each extra folder over its own 9p device, its guest path a line of berth.shares', () => {
    const extra = [
      { hostPath: '/srv/data', guestPath: '/srv/data' },
      { hostPath: '/opt/a b', guestPath: '/opt/a b' },
    ];
    const args = buildQemuArgs(config('linux', 'x86_64', 'kvm', { share: { hostPath: '/home/ann', guestPath: '/home/ann' }, extraShares: extra }));
    assert.deepEqual(values(args, '-fsdev'), [
      'local,id=home,path=/home/ann,security_model=none',
      'local,id=share1,path=/srv/data,security_model=none',
      'local,id=share2,path=/opt/a b,security_model=none',
    ]);
    assert.ok(values(args, '-device').includes('virtio-9p-pci,fsdev=share1,mount_tag=berthshare1'));
    assert.ok(values(args, '-device').includes('virtio-9p-pci,fsdev=share2,mount_tag=berthshare2'));
    const param = /berth\.shares=(\S+)/.exec(values(args, '-append')[0]!)?.[1];
    assert.equal(Buffer.from(param!, 'base64').toString(), '/srv/data\n/opt/a b');
  });

  it('cannot share over 9p on Windows', () => {
    assert.throws(
      () => buildQemuArgs(config('win32', 'x86_64', 'whpx', { share: { hostPath: 'C:\\Users\\ann', guestPath: '/c/Users/ann' } })),
      /Windows cannot share folders over 9p/,
    );
  });

  it('escapes commas in paths', () => {
    const args = buildQemuArgs(
      config('linux', 'x86_64', 'tcg', {
        dataDisk: { path: '/a,b/data.disk', format: 'raw' },
        share: { hostPath: '/home/x,y', guestPath: '/home/x,y' },
      }),
    );
    assert.match(values(args, '-drive')[0]!, /file=\/a,,b\/data\.disk,format=raw,/);
    assert.match(values(args, '-fsdev')[0]!, /path=\/home\/x,,y,/);
  });

  it('rejects nonsense sizes and ports', () => {
    assert.throws(() => buildQemuArgs(config('linux', 'x86_64', 'tcg', { cpus: 0 })), /cpus/);
    assert.throws(() => buildQemuArgs(config('linux', 'x86_64', 'tcg', { memoryMiB: 64 })), /256 MiB/);
    assert.throws(() => buildQemuArgs(config('linux', 'x86_64', 'tcg', { sshPort: 70000 })), /not a TCP port/);
  });
});

describe('kernelCmdline', () => {
  it('carries the key and the share path base64-encoded', () => {
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFoo berth@host';
    const line = kernelCmdline({ arch: 'x86_64', authorizedKey: `${key}\n`, share: { hostPath: '/Users/a b', guestPath: '/Users/a b' } });
    const params = Object.fromEntries(line.split(' ').map((p) => p.split(/=(.*)/s).slice(0, 2)));
    assert.equal(Buffer.from(params['berth.key']!, 'base64').toString(), key);
    assert.equal(Buffer.from(params['berth.home']!, 'base64').toString(), '/Users/a b');
    assert.equal(params['berth.hide'], undefined, 'nothing hidden unless asked');
  });

  it('names the paths the guest covers, one a line', () => {
    const line = kernelCmdline({ arch: 'x86_64', hidden: ['/Users/a b/.berth', '/x'] });
    const params = Object.fromEntries(line.split(' ').map((p) => p.split(/=(.*)/s).slice(0, 2)));
    assert.equal(Buffer.from(params['berth.hide']!, 'base64').toString(), '/Users/a b/.berth\n/x');
  });

  it("names the host's control ports the guest must refuse: the SSH forward's, and QMP's when it is TCP", () => {
    const controls = (qmp: { unix: string } | { tcpPort: number }) => {
      const line = kernelCmdline({ arch: 'x86_64', sshPort: 2222, qmp });
      const params = Object.fromEntries(line.split(' ').map((p) => p.split(/=(.*)/s).slice(0, 2)));
      return Buffer.from(params['berth.controls']!, 'base64').toString();
    };
    assert.equal(controls({ unix: '/run/qmp.sock' }), '2222');
    assert.equal(controls({ tcpPort: 4444 }), '2222,4444');
    const args = buildQemuArgs(config('win32', 'x86_64', 'whpx', { sshPort: 2223, qmp: { tcpPort: 4445 } }));
    assert.match(args[args.indexOf('-append') + 1]!, new RegExp(`berth\\.controls=${Buffer.from('2223,4445').toString('base64')}`));
  });
});

describe('guestPathFor', () => {
  it('keeps POSIX paths and maps Windows drives', () => {
    assert.equal(guestPathFor('linux', '/home/ann'), '/home/ann');
    assert.equal(guestPathFor('darwin', '/Users/ann'), '/Users/ann');
    assert.equal(guestPathFor('win32', 'C:\\Users\\ann'), '/c/Users/ann');
    assert.equal(guestPathFor('win32', 'D:\\'), '/d');
    assert.throws(() => guestPathFor('win32', '\\\\server\\share'), /not a drive path/);
  });
});

describe('qemuBinary', () => {
  it('names the emulator for the architecture', () => {
    assert.equal(qemuBinary('x86_64'), 'qemu-system-x86_64');
    assert.equal(qemuBinary('arm64'), 'qemu-system-aarch64');
  });
});

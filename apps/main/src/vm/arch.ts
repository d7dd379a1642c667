// What differs between the guest architectures on the host side: the QEMU
// binary, the machine, the serial console, where the image is built. The
// guest's own facts (kernel package, modules, node) are in
// resources/vm/lib/arch.mjs; the two meet at the image directory.
import type { Accelerator } from './qemu-args.js';

export type VmArch = 'x86_64' | 'arm64';

export interface VmArchSpec {
  qemuBinary: string;
  /** The -machine value under an accelerator. */
  machine(accel: Accelerator): string;
  /** -cpu under TCG (hardware accelerators take the host's CPU). */
  tcgCpu: string;
  /** The serial console the kernel writes to (console=). */
  console: string;
  /** The build's output directory under resources/vm (build.mjs --arch). */
  imageDir: string;
  /** build.mjs --arch. */
  buildArch: string;
}

export const VM_ARCHES: Record<VmArch, VmArchSpec> = {
  x86_64: {
    qemuBinary: 'qemu-system-x86_64',
    machine: () => 'q35',
    tcgCpu: 'max',
    console: 'ttyS0',
    imageDir: 'out',
    buildArch: 'amd64',
  },
  arm64: {
    qemuBinary: 'qemu-system-aarch64',
    // GICv3 (more than 8 CPUs); under KVM whatever the host's is. hvf runs
    // QEMU's own GICv3. No firmware: -kernel boots the Image with a device tree.
    machine: (accel) => `virt,gic-version=${accel === 'kvm' ? 'host' : '3'}`,
    // QARMA pointer authentication is costly to emulate; the implementation-defined algorithm is not
    tcgCpu: 'max,pauth-impdef=on',
    console: 'ttyAMA0',
    imageDir: 'out-arm64',
    buildArch: 'arm64',
  },
};

/** The guest architecture that runs natively on this host (node's process.arch). */
export function hostVmArch(nodeArch: string = process.arch): VmArch {
  return nodeArch === 'arm64' ? 'arm64' : 'x86_64';
}

/** --arch: Debian's, node's, QEMU's or the kernel's spelling. */
export function parseVmArch(value: string): VmArch {
  const v = value.toLowerCase();
  if (v === 'arm64' || v === 'aarch64') return 'arm64';
  if (v === 'amd64' || v === 'x86_64' || v === 'x64') return 'x86_64';
  throw new Error(`--arch must be arm64 or amd64 (x86_64), not "${value}"`);
}

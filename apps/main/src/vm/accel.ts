// Which accelerator to try first on this host. A hardware accelerator that
// is present can still fail to boot a kernel (nested virtualization); that is
// found at boot time by qemu-vm.ts, which falls back to TCG.
import fs from 'node:fs';
import type { Accelerator, HostOs } from './qemu-args.js';

/** True when this process may open /dev/kvm read-write. */
export function kvmUsable(device = '/dev/kvm'): boolean {
  try {
    fs.accessSync(device, fs.constants.R_OK | fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * KVM on Linux when /dev/kvm is usable, Hypervisor.framework on macOS,
 * Hyper-V (WHPX) on Windows, TCG (software) otherwise.
 */
export function defaultAccelerator(os: HostOs, probe: { kvmUsable: () => boolean } = { kvmUsable: () => kvmUsable() }): Accelerator {
  switch (os) {
    case 'linux':
      return probe.kvmUsable() ? 'kvm' : 'tcg';
    case 'darwin':
      return 'hvf';
    case 'win32':
      return 'whpx';
  }
}

export function hostOs(platform: NodeJS.Platform = process.platform): HostOs {
  if (platform === 'linux' || platform === 'darwin' || platform === 'win32') return platform;
  throw new Error(`Berth runs its VM on Linux, macOS and Windows, not on ${platform}`);
}

// The QEMU command line for the Berth VM, per host OS, architecture and
// accelerator. Pure: no file system, no process; qemu-vm.ts runs it.
import path from 'node:path';
import { VM_ARCHES, type VmArch } from './arch.js';

export type { VmArch } from './arch.js';

export type HostOs = 'linux' | 'darwin' | 'win32';
export type Accelerator = 'kvm' | 'hvf' | 'whpx' | 'tcg';

/** Where QEMU's control socket (QMP) listens. Windows builds of QEMU take a loopback TCP port. */
export type QmpEndpoint = { unix: string } | { tcpPort: number };

export interface QemuConfig {
  os: HostOs;
  arch: VmArch;
  accel: Accelerator;
  cpus: number;
  memoryMiB: number;
  kernel: string;
  initrd: string;
  /** The guest's root file system (root.erofs): read-only, found by the initramfs by its serial, ROOT_DISK_SERIAL. */
  rootDisk: string;
  dataDisk: { path: string; format: 'qcow2' | 'raw' };
  /** Host port on 127.0.0.1 forwarded to the guest's SSH port 22. */
  sshPort: number;
  qmp: QmpEndpoint;
  /** The guest's serial console is written to this file. */
  consoleLog: string;
  /** The host's home directory, shared over 9p and mounted in the guest at guestPath. */
  share?: { hostPath: string; guestPath: string };
  /** More host folders (Settings > File sharing), each over its own 9p device, tag `berthshareN` (N from 1), mounted at guestPath. */
  extraShares?: { hostPath: string; guestPath: string }[];
  /**
   * Guest paths the shares must not show: each, where a share makes it exist,
   * is covered with an empty read-only tmpfs ($BERTH_HOME: the VM's SSH key,
   * data disk and dashboard launch pages are not the containers' to read).
   */
  hidden?: string[];
  /** An OpenSSH public key line the agent accepts. */
  authorizedKey?: string;
}

/** The serial the guest's stage 1 (resources/vm/guest/init) looks for to find the root image. */
export const ROOT_DISK_SERIAL = 'berth-root';

/** The 9p mount tag the guest's init mounts. */
export const SHARE_TAG = 'berthhome';
/** The tag of extraShares[i] is this plus i + 1. */
export const EXTRA_SHARE_TAG = 'berthshare';

export function qemuBinary(arch: VmArch): string {
  return VM_ARCHES[arch].qemuBinary;
}

/** QEMU splits option values at ',' and reads ',,' as a literal comma. */
export function escapeOptionValue(value: string): string {
  return value.replace(/,/g, ',,');
}

/**
 * Where the guest mounts a host directory: the same path on Linux and macOS;
 * on Windows C:\Users\ann becomes /c/Users/ann.
 */
export function guestPathFor(os: HostOs, hostPath: string): string {
  if (os !== 'win32') return hostPath;
  const m = /^([A-Za-z]):[\\/]?(.*)$/.exec(hostPath);
  if (!m) throw new Error(`cannot share ${hostPath} with the VM: not a drive path`);
  const rest = (m[2] ?? '').replace(/\\/g, '/').replace(/\/+$/, '');
  return `/${m[1]!.toLowerCase()}${rest ? `/${rest}` : ''}`;
}

function accelArgs(cfg: QemuConfig): string[] {
  const supported: Record<HostOs, Accelerator[]> = {
    linux: ['kvm', 'tcg'],
    darwin: ['hvf', 'tcg'],
    win32: ['whpx', 'tcg'],
  };
  if (!supported[cfg.os].includes(cfg.accel)) {
    throw new Error(`accelerator ${cfg.accel} is not available on ${cfg.os}; use ${supported[cfg.os].join(' or ')}`);
  }
  switch (cfg.accel) {
    case 'kvm':
    case 'hvf':
      return ['-accel', cfg.accel, '-cpu', 'host'];
    case 'whpx':
      // WHPX cannot run QEMU's in-kernel interrupt controller on most Windows builds.
      return ['-accel', 'whpx,kernel-irqchip=off', '-cpu', cfg.arch === 'x86_64' ? 'qemu64' : 'max'];
    case 'tcg':
      return ['-accel', 'tcg,thread=multi', '-cpu', VM_ARCHES[cfg.arch].tcgCpu];
  }
}

/**
 * The host's own listeners that QEMU's user network lets the guest reach as
 * 10.0.2.2:PORT (its view of the host's 127.0.0.1): the SSH forward's port
 * and QMP's when it is TCP. The guest's agent refuses them to everything in
 * the VM (apps/vm-agent/src/network/host-controls.ts).
 */
export function hostControlPorts(cfg: Pick<QemuConfig, 'sshPort' | 'qmp'>): number[] {
  return [cfg.sshPort, ...('tcpPort' in cfg.qmp ? [cfg.qmp.tcpPort] : [])];
}

/** The kernel command line; values init reads are base64 so spaces and '=' survive. */
export function kernelCmdline(
  cfg: Pick<QemuConfig, 'arch' | 'share' | 'extraShares' | 'hidden' | 'authorizedKey'> & Partial<Pick<QemuConfig, 'sshPort' | 'qmp'>>,
): string {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  const parts = [`console=${VM_ARCHES[cfg.arch].console}`, 'panic=-1'];
  if (cfg.share) parts.push(`berth.home=${b64(cfg.share.guestPath)}`);
  // One guest path a line, in tag order (settings.ts refuses paths holding a line break).
  if (cfg.extraShares?.length) parts.push(`berth.shares=${b64(cfg.extraShares.map((s) => s.guestPath).join('\n'))}`);
  if (cfg.hidden?.length) parts.push(`berth.hide=${b64(cfg.hidden.join('\n'))}`);
  if (cfg.authorizedKey) parts.push(`berth.key=${b64(cfg.authorizedKey.trim())}`);
  if (cfg.sshPort && cfg.qmp) parts.push(`berth.controls=${b64(hostControlPorts({ sshPort: cfg.sshPort, qmp: cfg.qmp }).join(','))}`);
  return parts.join(' ');
}

/** The arguments after the binary name. */
export function buildQemuArgs(cfg: QemuConfig): string[] {
  if (!Number.isInteger(cfg.cpus) || cfg.cpus < 1) throw new Error(`cpus must be a whole number of at least 1, not ${cfg.cpus}`);
  if (!Number.isInteger(cfg.memoryMiB) || cfg.memoryMiB < 256) throw new Error(`memory must be at least 256 MiB, not ${cfg.memoryMiB}`);
  if (!Number.isInteger(cfg.sshPort) || cfg.sshPort < 1 || cfg.sshPort > 65535) throw new Error(`SSH port ${cfg.sshPort} is not a TCP port`);
  const e = escapeOptionValue;
  const args = [
    '-name',
    'berth',
    '-machine',
    VM_ARCHES[cfg.arch].machine(cfg.accel),
    ...accelArgs(cfg),
    '-smp',
    String(cfg.cpus),
    '-m',
    String(cfg.memoryMiB),
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    // A guest that panics or reboots ends QEMU, which the host sees and reports.
    '-no-reboot',
    '-serial',
    `file:${cfg.consoleLog}`,
    '-qmp',
    'unix' in cfg.qmp ? `unix:${e(cfg.qmp.unix)},server=on,wait=off` : `tcp:127.0.0.1:${cfg.qmp.tcpPort},server=on,wait=off`,
    '-kernel',
    cfg.kernel,
    '-initrd',
    cfg.initrd,
    '-append',
    kernelCmdline(cfg),
    '-drive',
    `if=none,id=data,file=${e(cfg.dataDisk.path)},format=${cfg.dataDisk.format},cache=writeback,discard=unmap`,
    '-device',
    'virtio-blk-pci,drive=data',
    // After the data disk, which the guest's init takes as /dev/vda.
    '-drive',
    `if=none,id=root,file=${e(cfg.rootDisk)},format=raw,readonly=on`,
    '-device',
    `virtio-blk-pci,drive=root,serial=${ROOT_DISK_SERIAL}`,
    '-netdev',
    `user,id=net0,hostfwd=tcp:127.0.0.1:${cfg.sshPort}-:22`,
    '-device',
    'virtio-net-pci,netdev=net0',
    '-device',
    'virtio-rng-pci',
    // Pages the guest frees go back to the host (its RSS shrinks after a peak).
    '-device',
    'virtio-balloon-pci,free-page-reporting=on',
  ];
  const shares = [
    ...(cfg.share ? [{ ...cfg.share, id: 'home', tag: SHARE_TAG }] : []),
    ...(cfg.extraShares ?? []).map((s, i) => ({ ...s, id: `share${i + 1}`, tag: `${EXTRA_SHARE_TAG}${i + 1}` })),
  ];
  for (const share of shares) {
    if (cfg.os === 'win32') throw new Error('QEMU on Windows cannot share folders over 9p; start the VM without the home share');
    if (!path.isAbsolute(share.hostPath)) throw new Error(`the shared folder must be an absolute path, not ${share.hostPath}`);
    args.push(
      '-fsdev',
      `local,id=${share.id},path=${e(share.hostPath)},security_model=none`,
      '-device',
      `virtio-9p-pci,fsdev=${share.id},mount_tag=${share.tag}`,
    );
  }
  return args;
}

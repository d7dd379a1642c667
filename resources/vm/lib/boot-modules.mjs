// Which kernel modules the guest loads, and when: stage 1 (the initramfs),
// init before it starts the engine, and the rest in the background. How they
// are resolved and packed is lib/kernel-modules.mjs; the architecture's own
// are in lib/arch.mjs.

/**
 * Modules init loads before it starts the agent (and the architecture's own,
 * lib/arch.mjs): the network (the host's SSH link), the data disk, the
 * shares, the power button and the firewall rule for :22. Their dependencies
 * come along.
 */
export const BOOT_MODULES = [
  // devices QEMU gives the guest that the boot uses
  'virtio_pci',
  'virtio_net',
  'virtio_blk',
  // the host's shares
  '9p',
  '9pnet_virtio',
  // the ACPI power button, so `system_powerdown` reaches acpid
  'button',
  'evdev',
  // the data disk (ext4 checksums use crc32c, which ext4 asks for by name)
  'crc32c_generic',
  'ext4',
  // REJECT: SSH only from eth0 (rc.init), the host's controls (agent's host-controls.ts)
  'nf_tables',
  'nft_compat',
  'xt_tcpudp',
  'nf_reject_ipv4',
  'nft_reject',
  'nft_reject_ipv4',
  'ipt_REJECT',
];

/**
 * The rest, for containers, loads in the background while node starts
 * (etc/berth/modules.later); the agent waits for it (--modules-ready) before
 * it sets networks up.
 */
export const LATER_MODULES = [
  'virtio_console',
  'virtio_rng',
  // free page reporting: the host takes back memory the guest has freed
  'virtio_balloon',
  // containers: rootfs, networks, NAT and port publishing
  'overlay',
  'veth',
  'bridge',
  'br_netfilter',
  'tun',
  'nft_chain_nat',
  'nft_nat',
  'nft_masq',
  'nft_ct',
  'nft_fib_inet',
  'nft_fib_ipv4',
  'nf_nat',
  'nf_conntrack',
  'ip_tables',
  'iptable_nat',
  'iptable_filter',
  'ip6_tables',
  'ip6table_nat',
  'ip6table_filter',
  'xt_MASQUERADE',
  'xt_nat',
  'xt_conntrack',
  'xt_addrtype',
  'xt_comment',
  'xt_mark',
  'xt_multiport',
  'nft_reject_inet',
];

/**
 * What stage 1 (the initramfs) loads to reach the root image: the disk, its
 * file system (erofs asks for crc32c by name, as ext4 does), and overlayfs
 * to put a writable tmpfs over it.
 */
export const STAGE1_MODULES = ['virtio_pci', 'virtio_blk', 'crc32c_generic', 'erofs', 'overlay'];

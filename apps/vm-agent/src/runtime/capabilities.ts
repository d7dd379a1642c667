/**
 * Linux capability names (as Docker spells them, without CAP_) and numbers,
 * Docker's default set for containers, and the set the agent itself holds.
 */
import { readFileSync } from 'node:fs';

export const CAPABILITIES = {
  CHOWN: 0,
  DAC_OVERRIDE: 1,
  DAC_READ_SEARCH: 2,
  FOWNER: 3,
  FSETID: 4,
  KILL: 5,
  SETGID: 6,
  SETUID: 7,
  SETPCAP: 8,
  LINUX_IMMUTABLE: 9,
  NET_BIND_SERVICE: 10,
  NET_BROADCAST: 11,
  NET_ADMIN: 12,
  NET_RAW: 13,
  IPC_LOCK: 14,
  IPC_OWNER: 15,
  SYS_MODULE: 16,
  SYS_RAWIO: 17,
  SYS_CHROOT: 18,
  SYS_PTRACE: 19,
  SYS_PACCT: 20,
  SYS_ADMIN: 21,
  SYS_BOOT: 22,
  SYS_NICE: 23,
  SYS_RESOURCE: 24,
  SYS_TIME: 25,
  SYS_TTY_CONFIG: 26,
  MKNOD: 27,
  LEASE: 28,
  AUDIT_WRITE: 29,
  AUDIT_CONTROL: 30,
  SETFCAP: 31,
  MAC_OVERRIDE: 32,
  MAC_ADMIN: 33,
  SYSLOG: 34,
  WAKE_ALARM: 35,
  BLOCK_SUSPEND: 36,
  AUDIT_READ: 37,
  PERFMON: 38,
  BPF: 39,
  CHECKPOINT_RESTORE: 40,
} as const;

export type Capability = keyof typeof CAPABILITIES;

/** moby's oci/caps/defaults.go: CapEff 00000000a80425fb for root. */
export const DEFAULT_CAPABILITIES: readonly Capability[] = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FSETID',
  'FOWNER',
  'MKNOD',
  'NET_RAW',
  'SETGID',
  'SETUID',
  'SETFCAP',
  'SETPCAP',
  'NET_BIND_SERVICE',
  'SYS_CHROOT',
  'KILL',
  'AUDIT_WRITE',
];

/** Docker's spelling of a capability name: "cap_net_admin" and "NET_ADMIN" are both "NET_ADMIN". */
export const capabilityName = (raw: string): string => raw.toUpperCase().replace(/^CAP_/, '');

/** Numbers for names; accepts "CAP_X" or "x" like Docker. Throws on unknown names. */
export function capabilityNumbers(names: readonly string[]): number[] {
  return names.map((raw) => {
    const n = (CAPABILITIES as Record<string, number>)[capabilityName(raw)];
    if (n === undefined) throw new Error(`unknown capability: "${raw}"`);
    return n;
  });
}

let held: Capability[] | undefined;

/**
 * Every capability the agent holds (its bounding set, which the kernel's
 * cap_last_cap bounds too): what moby's GetAllCapabilities gives
 * --privileged and --cap-add ALL. A process cannot be given more: the
 * runtime could not keep a capability outside its own bounding set.
 */
export function heldCapabilities(): Capability[] {
  if (held) return held;
  const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  const bounding = hex === undefined ? 0n : BigInt(`0x${hex}`);
  held = (Object.entries(CAPABILITIES) as [Capability, number][]).filter(([, n]) => (bounding >> BigInt(n)) & 1n).map(([name]) => name);
  return held;
}

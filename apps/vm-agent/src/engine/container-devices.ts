/**
 * HostConfig.Privileged, Devices and DeviceCgroupRules: what a container
 * reaches of the machine's devices and kernel interfaces beyond runc's
 * defaults, built as dockerd builds it (moby daemon/oci_linux.go WithDevices
 * and WithMounts):
 * - Privileged: every node of the machine's /dev (runtime/devices.ts), plus
 *   each Devices mapping to another path, and the device cgroup open to all
 *   (`a *:* rwm`), so the mappings' permissions and DeviceCgroupRules are
 *   moot (dockerd ignores them too); no masked or read-only paths, /sys and
 *   the cgroup2 mount read-write.
 * - Otherwise: each mapping's nodes, each with a device rule of the
 *   mapping's permissions, then the DeviceCgroupRules.
 * Checked at create, so a bad mapping or rule is a 400 in dockerd's words
 * before anything is stored; built again at start from /dev as it is then.
 */
import { posix } from 'node:path';
import { invalidParameter } from '../errors.js';
import { devicesFromPath, hostDevices, type DeviceNode } from '../runtime/devices.js';
import type { DeviceRule } from '../runtime/native.js';
import type { ContainerSpec } from '../runtime/spawn.js';
import type { HostConfig } from './container-types.js';

interface DeviceMapping {
  PathOnHost?: string;
  PathInContainer?: string;
  CgroupPermissions?: string;
}

export interface DeviceAccess {
  /** Added to the cgroup's default device rules (Cgroup.allowDevices) before the process joins. */
  cgroupRules: DeviceRule[];
  /** For spawnContainer. */
  runtime: Pick<ContainerSpec, 'devices' | 'maskedPaths' | 'readonlyPaths' | 'writableSysfs'>;
}

/** moby's deviceCgroupRuleRegex. */
const RULE = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/;
const INT64_MAX = 2n ** 63n - 1n;

/** `--device-cgroup-rule 'c 1:3 rwm'`, validated as dockerd's AppendDevicePermissionsFromCgroupRules does, with its words. */
export function parseDeviceCgroupRule(rule: string): DeviceRule {
  const m = RULE.exec(rule);
  if (!m) throw invalidParameter(`invalid device cgroup rule format: '${rule}'`);
  const number = (text: string, what: string): number | '*' => {
    if (text === '*') return '*';
    if (BigInt(text) > INT64_MAX) throw invalidParameter(`invalid ${what} value in device cgroup rule format: '${rule}'`);
    return Number(text); // one past a dev_t's range matches no node; the cgroup leaves such a rule out
  };
  return { type: m[1] as DeviceRule['type'], major: number(m[2]!, 'major'), minor: number(m[3]!, 'minor'), access: m[4]! };
}

/** The docker CLI's validDeviceMode: r, w and m, each at most once. */
const validMode = (mode: string) => mode.length > 0 && [...mode].every((c, i) => 'rwm'.includes(c) && mode.indexOf(c) === i);

function mappings(hc: Partial<HostConfig>): DeviceMapping[] {
  if (hc.Devices === undefined || hc.Devices === null) return [];
  if (!Array.isArray(hc.Devices)) throw invalidParameter('HostConfig.Devices must be a list of {PathOnHost, PathInContainer, CgroupPermissions}');
  return hc.Devices as DeviceMapping[];
}

/** A mapping's paths and permissions, or a 400 saying what is wrong with it. */
function checkMapping(m: DeviceMapping): { host: string; container: string; perms: string } {
  const host = m?.PathOnHost ?? '';
  if (!host) throw invalidParameter('HostConfig.Devices: a device mapping has no PathOnHost: name the device node (or a directory of them) to add');
  const container = posix.normalize(m.PathInContainer ?? '').replace(/(.)\/+$/, '$1');
  if (!container.startsWith('/') || container === '/') {
    throw invalidParameter(
      `HostConfig.Devices: the device "${host}" has no absolute PathInContainer ("${m.PathInContainer ?? ''}"): give the path it gets in the container, such as /dev/x`,
    );
  }
  const perms = m.CgroupPermissions ?? '';
  if (!validMode(perms))
    throw invalidParameter(`invalid device mode: ${perms} (HostConfig.Devices, device "${host}": use r, w and m, each at most once, such as rwm)`);
  return { host, container, perms };
}

function nodesOf(host: string, container: string): DeviceNode[] {
  try {
    return devicesFromPath(host, container);
  } catch (err) {
    throw invalidParameter((err as Error).message, err);
  }
}

/** As dockerd gives a rule per node; a FIFO is not the device cgroup's business. */
const ruleOf = (n: DeviceNode, access: string): DeviceRule[] => (n.type === 'p' ? [] : [{ type: n.type, major: n.major, minor: n.minor, access }]);

/**
 * The container's devices, rules and kernel paths. `withHostDevices: false`
 * skips reading the machine's /dev for --privileged (what create checks
 * needs only the mappings and rules).
 */
export function deviceAccess(hc: Partial<HostConfig>, withHostDevices = true): DeviceAccess {
  const maps = mappings(hc).map(checkMapping);
  if (hc.Privileged === true) {
    const devices = withHostDevices ? hostDevices() : [];
    // dockerd skips a mapping to the same path: the node is there already
    for (const m of maps) if (m.host !== m.container) devices.push(...nodesOf(m.host, m.container));
    return {
      cgroupRules: [{ type: 'a', major: '*', minor: '*', access: 'rwm' }],
      runtime: { devices, maskedPaths: [], readonlyPaths: [], writableSysfs: true },
    };
  }
  const devices: DeviceNode[] = [];
  const cgroupRules: DeviceRule[] = [];
  for (const m of maps) {
    const nodes = nodesOf(m.host, m.container);
    devices.push(...nodes);
    cgroupRules.push(...nodes.flatMap((n) => ruleOf(n, m.perms)));
  }
  const rules = hc.DeviceCgroupRules;
  if (rules !== undefined && rules !== null && !Array.isArray(rules))
    throw invalidParameter('HostConfig.DeviceCgroupRules must be a list of rules such as "c 1:3 rwm"');
  cgroupRules.push(...((rules as string[] | null | undefined) ?? []).map(parseDeviceCgroupRule));
  return { cgroupRules, runtime: { devices } };
}

/** At create: a 400 for a mapping or rule dockerd would refuse at start. */
export function validateDevices(hc: Partial<HostConfig>): void {
  deviceAccess(hc, false);
}

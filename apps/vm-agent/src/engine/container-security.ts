/**
 * The confinement fields of HostConfig: what the container's processes may
 * do. Each field is either applied as dockerd applies it or refused at
 * create with a 400 that names it: a security option that is stored and
 * then ignored leaves the user believing the container is locked down.
 *
 * Applied: CapAdd, CapDrop (moby oci/caps TweakCapabilities), SecurityOpt
 * no-new-privileges, seccomp (Berth's default profile, unconfined, or a
 * profile's JSON; seccomp-profile.ts), apparmor=unconfined and label=disable
 * (the VM has neither AppArmor nor SELinux), Privileged (every capability
 * the agent holds, seccomp unconfined unless a profile is named; its
 * devices and kernel paths are container-devices.ts's, as are Devices and
 * DeviceCgroupRules). PidMode, IpcMode, UTSMode, Sysctls, OomScoreAdj and
 * GroupAdd are container-namespaces.ts's and container-user.ts's; Init is
 * container-init.ts's. Refused until Berth applies them: the rest. No I/O
 * but container-devices.ts's look at the device paths; compiling a filter
 * calls into libseccomp.
 */
import { EngineError, invalidParameter } from '../errors.js';
import { CAPABILITIES, capabilityName, DEFAULT_CAPABILITIES, heldCapabilities, type Capability } from '../runtime/capabilities.js';
import { compileSeccomp } from '../runtime/native.js';
import { validateDevices } from './container-devices.js';
import { type FieldRefusal, refuseFields } from './field-refusals.js';
import type { HostConfig } from './container-types.js';
import { agentSeccompTarget, builtinSeccompProfile, parseSeccompProfile, resolveSeccomp, type SeccompProfile } from './seccomp-profile.js';

/** "cap_net_admin", "NET_ADMIN" -> "NET_ADMIN"; "ALL" stays; unknown names are a 400 naming the field. */
function normalizeCapabilities(field: 'CapAdd' | 'CapDrop', names: readonly string[]): string[] {
  return names.map((raw) => {
    const name = capabilityName(raw);
    if (name === 'ALL') return name;
    if (!(name in CAPABILITIES)) throw invalidParameter(`invalid ${field}: unknown capability: "CAP_${name}"`);
    return name;
  });
}

const asList = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : typeof v === 'string' && v ? [v] : []);

/**
 * The capabilities a container's processes keep, in dockerd's order of
 * rules: privileged gets all (CapAdd and CapDrop are checked but moot, as
 * in dockerd's TweakCapabilities), "all" being what the agent holds.
 */
export function containerCapabilities(hc: Partial<HostConfig>): Capability[] {
  const add = normalizeCapabilities('CapAdd', asList(hc.CapAdd));
  const drop = normalizeCapabilities('CapDrop', asList(hc.CapDrop));
  if (hc.Privileged === true) return heldCapabilities();
  let caps: string[];
  if (add.includes('ALL')) caps = heldCapabilities().filter((c) => !drop.includes(c));
  else if (drop.includes('ALL')) caps = add;
  else caps = [...DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c)), ...add];
  return [...new Set(caps)] as Capability[];
}

export interface SecurityOptions {
  noNewPrivileges: boolean;
  /** The profile to apply; 'unconfined' for none. */
  seccomp: SeccompProfile | 'unconfined';
}

/** The spellings Go's strconv.ParseBool accepts, which dockerd uses for no-new-privileges:VALUE. */
const GO_BOOL: Record<string, boolean> = Object.fromEntries([
  ...['1', 't', 'T', 'true', 'TRUE', 'True'].map((v) => [v, true]),
  ...['0', 'f', 'F', 'false', 'FALSE', 'False'].map((v) => [v, false]),
]);

/**
 * HostConfig.SecurityOpt, parsed as dockerd's parseSecurityOpt does (`=`, or
 * the deprecated `:`), with its messages for malformed entries.
 */
export function parseSecurityOpt(opts: readonly string[]): SecurityOptions {
  const out: SecurityOptions = { noNewPrivileges: false, seccomp: builtinSeccompProfile() };
  opts.forEach((opt) => {
    if (opt === 'no-new-privileges') {
      out.noNewPrivileges = true;
      return;
    }
    if (opt === 'disable') return; // label=disable's old spelling: no labels, which is what the VM has
    const sep = opt.includes('=') ? '=' : opt.includes(':') ? ':' : '';
    if (!sep) throw invalidParameter(`invalid --security-opt 1: "${opt}"`);
    const key = opt.slice(0, opt.indexOf(sep));
    const value = opt.slice(opt.indexOf(sep) + 1);
    switch (key) {
      case 'no-new-privileges': {
        const flag = GO_BOOL[value];
        if (flag === undefined) throw invalidParameter(`invalid --security-opt 2: "${opt}"`);
        out.noNewPrivileges = flag;
        return;
      }
      case 'seccomp':
        // the CLI reads --security-opt seccomp=FILE and sends the file's text
        out.seccomp = value === 'unconfined' ? 'unconfined' : value === 'builtin' ? builtinSeccompProfile() : parseSeccompProfile(value);
        return;
      case 'apparmor':
        if (value === 'unconfined') return;
        throw invalidParameter(
          `HostConfig.SecurityOpt "${opt}": the Berth VM has no AppArmor, so the profile "${value}" cannot be applied; remove the option or use apparmor=unconfined`,
        );
      case 'label':
        if (value === 'disable') return;
        throw invalidParameter(
          `HostConfig.SecurityOpt "${opt}": the Berth VM has no SELinux, so the label cannot be applied; remove the option or use label=disable`,
        );
      default:
        throw invalidParameter(`invalid --security-opt 2: "${opt}"`);
    }
  });
  return out;
}

/** What each not-yet-applied field does in dockerd, for the refusal. */
const NOT_APPLIED: FieldRefusal[] = [
  { field: 'DeviceRequests', what: 'device requests (--gpus)' },
  { field: 'UsernsMode', what: 'a user namespace mode (--userns)', unset: ['host'] },
  { field: 'CgroupnsMode', what: 'the host cgroup namespace (--cgroupns host)', unset: ['private'] },
  { field: 'MaskedPaths', what: 'changing the masked kernel paths (--security-opt systempaths=unconfined)' },
  { field: 'ReadonlyPaths', what: 'changing the read-only kernel paths (--security-opt systempaths=unconfined)' },
].map(({ field, what, unset }) => ({
  field,
  unset,
  message: () => `HostConfig.${field}: Berth does not support ${what} yet, and refuses the container rather than run it without: remove the option`,
}));

/**
 * Refuses, at create, what Berth does not apply yet and checks what it
 * does, so a bad value is a 400 before anything is stored.
 */
export function validateSecurity(hc: Partial<HostConfig>): void {
  refuseFields(hc, NOT_APPLIED);
  validateDevices(hc);
  try {
    processConfinement(hc); // compiles the seccomp filter too, so a profile libseccomp refuses is a 400 here
  } catch (err) {
    if (err instanceof EngineError) throw err;
    throw invalidParameter(`HostConfig.SecurityOpt seccomp: the profile cannot be compiled: ${(err as Error).message}`);
  }
}

/**
 * The process-level confinement for the runtime spec (spawn.ts ProcessSpec).
 * A privileged container runs without seccomp unless a profile is named, as
 * dockerd's WithSeccomp does. `privilegedExec` (docker exec --privileged)
 * gives the process every capability and keeps the container's filter: runc
 * installs the container's seccomp in every process it execs into it.
 */
export function processConfinement(
  hc: Partial<HostConfig>,
  privilegedExec = false,
): { capabilities: Capability[]; noNewPrivileges: boolean; seccomp?: Buffer } {
  const capabilities = containerCapabilities(hc);
  const secOpts = asList(hc.SecurityOpt);
  const opts = parseSecurityOpt(secOpts);
  const profileNamed = secOpts.some((o) => /^seccomp[=:]/.test(o));
  const unconfined = opts.seccomp === 'unconfined' || (hc.Privileged === true && !profileNamed);
  const seccomp = unconfined ? undefined : compileSeccomp(resolveSeccomp(opts.seccomp as SeccompProfile, capabilities, agentSeccompTarget()));
  return { capabilities: privilegedExec ? heldCapabilities() : capabilities, noNewPrivileges: opts.noNewPrivileges, ...(seccomp ? { seccomp } : {}) };
}

/**
 * seccomp profiles in Docker's JSON format: Berth's default
 * (seccomp-default.json, our own allow list) and the one a client sends as
 * `--security-opt seccomp=<file>` (the CLI puts the file's text in
 * SecurityOpt). A profile is resolved for one container as moby's
 * profiles/seccomp does: its native architecture and sub-architectures,
 * the entries its capabilities, architecture and kernel include, then
 * compiled by libseccomp (runtime/native.ts compileSeccomp).
 *
 * Every field of the format is applied or refused with a 400 naming it:
 * unknown keys, SCMP_ACT_NOTIFY, listenerPath and filter flags, which Berth
 * does not implement, are errors rather than silently dropped.
 */
import { release } from 'node:os';
import { z } from 'zod';
import { invalidParameter } from '../errors.js';
import { capabilityName } from '../runtime/capabilities.js';
import type { NativeSeccompAction, NativeSeccompArg, SeccompFilter } from '../runtime/native.js';
import DEFAULT_PROFILE_JSON from './seccomp-default.json' with { type: 'json' };
import { goArch } from '../util/go-arch.js';

const ACTIONS = {
  SCMP_ACT_ALLOW: 'allow',
  SCMP_ACT_ERRNO: 'errno',
  SCMP_ACT_KILL: 'kill-thread',
  SCMP_ACT_KILL_THREAD: 'kill-thread',
  SCMP_ACT_KILL_PROCESS: 'kill-process',
  SCMP_ACT_TRAP: 'trap',
  SCMP_ACT_TRACE: 'trace',
  SCMP_ACT_LOG: 'log',
} as const satisfies Record<string, NativeSeccompAction['action']>;

const OPS = {
  SCMP_CMP_NE: 'ne',
  SCMP_CMP_LT: 'lt',
  SCMP_CMP_LE: 'le',
  SCMP_CMP_EQ: 'eq',
  SCMP_CMP_GE: 'ge',
  SCMP_CMP_GT: 'gt',
  SCMP_CMP_MASKED_EQ: 'masked-eq',
} as const satisfies Record<string, NativeSeccompArg['op']>;

/** The architectures libseccomp knows, by the profile's SCMP_ARCH_ names. */
const ARCHES = [
  'X86',
  'X86_64',
  'X32',
  'ARM',
  'AARCH64',
  'MIPS',
  'MIPS64',
  'MIPS64N32',
  'MIPSEL',
  'MIPSEL64',
  'MIPSEL64N32',
  'PPC',
  'PPC64',
  'PPC64LE',
  'S390',
  'S390X',
  'PARISC',
  'PARISC64',
  'RISCV64',
].map((a) => `SCMP_ARCH_${a}`);

const action = z.string().refine((a) => a in ACTIONS, {
  error: (i) =>
    i.input === 'SCMP_ACT_NOTIFY'
      ? 'SCMP_ACT_NOTIFY needs a seccomp agent, which Berth does not run'
      : `unknown action ${JSON.stringify(i.input)} (one of ${Object.keys(ACTIONS).join(', ')})`,
});
/** JSON numbers above 2^53 are not exact in JavaScript; such a value is refused rather than rounded. */
const u64 = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const arch = z.string().refine((a) => ARCHES.includes(a), { error: (i) => `unknown architecture ${JSON.stringify(i.input)}` });
const condition = z.strictObject({
  caps: z.array(z.string()).nullish(),
  arches: z.array(z.string()).nullish(),
  minKernel: z
    .string()
    .regex(/^\d+\.\d+/, 'minKernel must read MAJOR.MINOR')
    .nullish(),
});
const syscall = z.strictObject({
  name: z.string().nullish(),
  names: z.array(z.string()).nullish(),
  action,
  errnoRet: z.number().int().min(0).max(4095).nullish(),
  args: z
    .array(
      z.strictObject({
        index: z.number().int().min(0).max(5),
        value: u64,
        valueTwo: u64.nullish(),
        op: z.enum(Object.keys(OPS) as [keyof typeof OPS]),
      }),
    )
    .nullish(),
  comment: z.string().nullish(),
  includes: condition.nullish(),
  excludes: condition.nullish(),
});
const profileSchema = z.strictObject({
  comment: z.string().nullish(),
  defaultAction: action,
  defaultErrnoRet: z.number().int().min(0).max(4095).nullish(),
  architectures: z.array(arch).nullish(),
  archMap: z.array(z.strictObject({ architecture: arch, subArchitectures: z.array(arch).nullish() })).nullish(),
  syscalls: z.array(syscall).nullish(),
  flags: z.array(z.string()).max(0, 'filter flags are not supported by Berth; remove "flags"').nullish(),
  listenerPath: z.string().max(0, 'a seccomp agent (listenerPath) is not supported by Berth').nullish(),
  listenerMetadata: z.string().max(0, 'a seccomp agent (listenerMetadata) is not supported by Berth').nullish(),
});

export type SeccompProfile = z.infer<typeof profileSchema>;

function check(profile: SeccompProfile): SeccompProfile {
  if (profile.architectures?.length && profile.archMap?.length) {
    throw new Error("'architectures' and 'archMap' were specified in the seccomp profile, use either 'architectures' or 'archMap'");
  }
  for (const [i, call] of (profile.syscalls ?? []).entries()) {
    if (call.name && call.names?.length) throw new Error(`syscalls[${i}]: use either 'name' or 'names'`);
    if (call.errnoRet != null && call.action !== 'SCMP_ACT_ERRNO' && call.action !== 'SCMP_ACT_TRACE') {
      throw new Error(`syscalls[${i}]: errnoRet is only meaningful with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not ${call.action}`);
    }
  }
  return profile;
}

/** A profile sent as `seccomp=<JSON>`; a 400 that names what is wrong, in dockerd's words where it has them. */
export function parseSeccompProfile(text: string): SeccompProfile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw invalidParameter(`decoding seccomp profile failed: ${(err as Error).message}`);
  }
  const parsed = profileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    throw invalidParameter(`decoding seccomp profile failed: ${where}${issue?.message ?? 'invalid profile'}`);
  }
  try {
    return check(parsed.data);
  } catch (err) {
    throw invalidParameter(`decoding seccomp profile failed: ${(err as Error).message}`);
  }
}

/** Berth's default profile (seccomp-default.json), checked like any other when first used. */
let defaultProfile: SeccompProfile | undefined;
export function builtinSeccompProfile(): SeccompProfile {
  defaultProfile ??= check(profileSchema.parse(DEFAULT_PROFILE_JSON));
  return defaultProfile;
}

/** Where the container runs: the agent's own architecture and kernel. */
export interface SeccompTarget {
  /** Go's names, as profiles spell them in includes/excludes: "amd64", "arm64". */
  goArch: string;
  /** "6.1" from uname -r. */
  kernel: string;
}

export const agentSeccompTarget = (): SeccompTarget => ({
  goArch: goArch(),
  kernel: release(),
});

const NATIVE_ARCH: Record<string, string> = { amd64: 'SCMP_ARCH_X86_64', arm64: 'SCMP_ARCH_AARCH64' };
const libseccompArch = (a: string) => a.slice('SCMP_ARCH_'.length).toLowerCase();

/** "6.1.0-28-amd64" >= "4.8", compared as MAJOR.MINOR. */
function kernelAtLeast(kernel: string, min: string): boolean {
  const [a = 0, b = 0] = kernel.split(/[.-]/).map(Number);
  const [c = 0, d = 0] = min.split('.').map(Number);
  return a !== c ? a > c : b >= d;
}

const toAction = (name: string, errno: number | null | undefined): NativeSeccompAction => {
  const a = ACTIONS[name as keyof typeof ACTIONS];
  return a === 'errno' || a === 'trace' ? { action: a, errno: errno ?? 1 } : { action: a };
};
const sameAction = (x: NativeSeccompAction, y: NativeSeccompAction) => x.action === y.action && (x.errno ?? 0) === (y.errno ?? 0);

/**
 * The filter for one container: moby's rules for which entries apply (an
 * excludes match or an includes miss drops the entry; includes.caps needs
 * every capability listed, excludes.caps any), runc's rule that several
 * comparisons of the same argument are alternatives (one rule each) while
 * comparisons of different arguments must all hold.
 */
export function resolveSeccomp(profile: SeccompProfile, capabilities: readonly string[], target: SeccompTarget): SeccompFilter {
  const caps = new Set(capabilities.map(capabilityName));
  const hasCap = (c: string) => caps.has(capabilityName(c));
  const defaultAction = toAction(profile.defaultAction, profile.defaultErrnoRet);
  const native = NATIVE_ARCH[target.goArch];
  const arches = profile.archMap?.length
    ? profile.archMap.filter((m) => m.architecture === native).flatMap((m) => [m.architecture, ...(m.subArchitectures ?? [])])
    : (profile.architectures ?? []);
  const rules: SeccompFilter['rules'] = [];
  for (const call of profile.syscalls ?? []) {
    const inc = call.includes;
    const exc = call.excludes;
    if (exc?.arches?.includes(target.goArch) || exc?.caps?.some(hasCap) || (exc?.minKernel && kernelAtLeast(target.kernel, exc.minKernel))) continue;
    if (inc?.arches?.length && !inc.arches.includes(target.goArch)) continue;
    if (inc?.caps?.length && !inc.caps.every(hasCap)) continue;
    if (inc?.minKernel && !kernelAtLeast(target.kernel, inc.minKernel)) continue;
    const act = toAction(call.action, call.errnoRet);
    // libseccomp refuses a rule that repeats the default action; it would change nothing
    if (sameAction(act, defaultAction)) continue;
    const args: NativeSeccompArg[] = (call.args ?? []).map((a) => ({
      index: a.index,
      op: OPS[a.op],
      value: BigInt(a.value),
      valueTwo: BigInt(a.valueTwo ?? 0),
    }));
    const repeated = new Set(args.map((a) => a.index)).size < args.length;
    const argSets = repeated ? args.map((a) => [a]) : [args];
    for (const name of call.names?.length ? call.names : call.name ? [call.name] : []) {
      for (const set of argSets) rules.push({ syscall: name, action: act, args: set });
    }
  }
  return { defaultAction, architectures: arches.map(libseccompArch), rules };
}

/**
 * The VM's settings, persisted in `$BERTH_HOME/settings.json`.
 *
 * Contract:
 * - `loadSettings` gives defaults for a missing file or missing fields
 *   (a hand-edited file may hold only what it changes), ignores fields it
 *   does not know (a newer Berth's), and throws for a value out of range,
 *   naming the file, the field and what is allowed.
 * - `saveSettings` validates first and writes atomically (util/atomic-file.ts).
 * - `berth start` flags (`--cpus` ...) are one-off overrides for that boot
 *   and are not saved, as Docker Desktop keeps settings in its Settings page;
 *   `berth settings KEY VALUE` (and the dashboard, later) saves them.
 * - `acceleratorFallback` is written by the VM when the accelerator chosen
 *   by `auto` stalled and TCG took over; the next `auto` start goes straight
 *   to TCG and says why. An explicit `--accel` still tries it; a boot that
 *   succeeds with it clears the memory.
 * - `fileShares`: host folders the VM mounts at the same path (9p). The
 *   schema checks the list's shape (absolute, no duplicates, none inside
 *   another); `updateSettings` also checks that each newly added folder
 *   exists, while a folder removed since is skipped at boot, not an error
 *   that would make the file unloadable.
 * - `engineMode`: where the engine runs when no `--engine` flag says;
 *   `native` only on Linux as root (`nativeUnavailable` says why not).
 */
import { statSync } from 'node:fs';
import { availableParallelism, homedir, totalmem } from 'node:os';
import { delimiter, isAbsolute, normalize, sep } from 'node:path';
import { z } from 'zod';
import { defaultAccelerator } from '../vm/accel.js';
import { guestPathFor, type Accelerator, type HostOs } from '../vm/qemu-args.js';
import { readJsonIfExists, writeJsonAtomic } from '../util/atomic-file.js';
import { homeLayout } from '../util/berth-home.js';

export const ENGINE_MODES = ['vm', 'native'] as const;
export type EngineModeChoice = (typeof ENGINE_MODES)[number];
/** 9p devices are PCI slots: a handful is plenty, hundreds would not boot. */
export const MAX_SHARES = 16;

export const ACCELERATOR_CHOICES = ['auto', 'kvm', 'hvf', 'whpx', 'tcg'] as const;
export type AcceleratorChoice = (typeof ACCELERATOR_CHOICES)[number];

const fallbackSchema = z.object({
  from: z.enum(['kvm', 'hvf', 'whpx']),
  reason: z.string(),
  /** ISO time of the boot that fell back. */
  at: z.string(),
});

export const settingsSchema = z.object({
  /** Virtual CPUs. */
  cpus: z.int().min(1).max(128),
  /** Guest memory in MiB. */
  memoryMiB: z
    .int()
    .min(512)
    .max(1024 * 1024),
  /** Size of the data disk when it is made (a sparse file: it takes only what the guest writes). */
  diskGiB: z
    .int()
    .min(4)
    .max(16 * 1024),
  accelerator: z.enum(ACCELERATOR_CHOICES),
  acceleratorFallback: fallbackSchema.optional(),
  fileShares: z
    .array(z.string())
    .max(MAX_SHARES)
    .superRefine((list, ctx) => {
      for (const problem of shareListProblems(list)) ctx.addIssue({ code: 'custom', message: problem });
    }),
  engineMode: z.enum(ENGINE_MODES),
});

export type Settings = z.infer<typeof settingsSchema>;
export type AcceleratorFallback = z.infer<typeof fallbackSchema>;

/** The fields a user sets (the rest is Berth's memory). */
export const USER_SETTINGS = ['cpus', 'memoryMiB', 'diskGiB', 'accelerator', 'fileShares', 'engineMode'] as const;
export type UserSetting = (typeof USER_SETTINGS)[number];

export function settingsPath(home: string): string {
  return homeLayout(home).settingsFile;
}

/**
 * Half the host's CPUs (at least 2 where there are 2), a quarter of its memory within 2-8 GiB, a 64 GiB sparse disk,
 * the user's home shared (not on Windows, where QEMU has no 9p), the VM.
 */
export function defaultSettings(
  host: { cpus: number; memoryMiB: number; home?: string; os?: NodeJS.Platform } = {
    cpus: availableParallelism(),
    memoryMiB: Math.floor(totalmem() / 1024 ** 2),
  },
): Settings {
  const cpus = Math.max(Math.min(2, host.cpus), Math.floor(host.cpus / 2));
  const memoryMiB = Math.min(8192, Math.max(2048, Math.floor(host.memoryMiB / 4 / 256) * 256));
  const fileShares = (host.os ?? process.platform) === 'win32' ? [] : [host.home ?? homedir()];
  return { cpus, memoryMiB, diskGiB: 64, accelerator: 'auto', fileShares, engineMode: 'vm' };
}

/** A folder without its trailing separator, for comparing. */
function folderKey(path: string): string {
  const n = normalize(path);
  return n.length > 1 && n.endsWith(sep) ? n.slice(0, -1) : n;
}

/** What is wrong with a share list's shape, one sentence per problem (empty: nothing). */
export function shareListProblems(list: readonly string[]): string[] {
  const problems: string[] = [];
  const seen: string[] = [];
  for (const path of list) {
    if (!isAbsolute(path)) problems.push(`"${path}" is not an absolute folder path`);
    else if (/[\0\n\r]/.test(path)) problems.push(`"${path.replace(/[\0\n\r]/g, '?')}" holds a control character`);
    else {
      const key = folderKey(path);
      const within = (parent: string, child: string) => child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
      const clash = seen.find((s) => s === key || within(s, key) || within(key, s));
      if (clash === key) problems.push(`"${path}" is listed twice`);
      else if (clash) problems.push(`"${path}" and "${clash}" are nested: share only the outer folder`);
      seen.push(key);
    }
  }
  return problems;
}

/** Throws unless each folder exists and is a directory. */
export function checkSharesExist(list: readonly string[]): void {
  for (const path of list) {
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      throw new Error(`fileShares: "${path}" does not exist`);
    }
    if (!isDir) throw new Error(`fileShares: "${path}" is not a folder`);
  }
}

/** Why the engine cannot run natively here, or undefined when it can (Linux, root). */
export function nativeUnavailable(os: NodeJS.Platform = process.platform, uid: number | undefined = process.getuid?.()): string | undefined {
  if (os !== 'linux') return 'the native engine runs on Linux only; on this system the engine runs in the VM';
  if (uid !== 0) return 'the native engine needs root (it creates namespaces, cgroups and network devices); start Berth as root to choose it';
  return undefined;
}

function describeIssues(error: z.ZodError, where: string): string {
  const lines = error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`);
  return `${where}: ${lines.join('; ')}`;
}

/** Validates a whole settings object; throws naming each bad field. */
export function validateSettings(value: unknown, where = 'settings'): Settings {
  const r = settingsSchema.safeParse(value);
  if (!r.success) throw new Error(describeIssues(r.error, where));
  return r.data;
}

export function loadSettings(home: string, defaults: Settings = defaultSettings()): Settings {
  const file = settingsPath(home);
  const raw = readJsonIfExists(file);
  if (raw === undefined) return defaults;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${file} must hold a JSON object; fix it or delete it`);
  try {
    return validateSettings({ ...defaults, ...raw }, file);
  } catch (err) {
    throw new Error(`${(err as Error).message} (fix it, or delete ${file} for the defaults)`);
  }
}

export function saveSettings(home: string, settings: Settings): void {
  writeJsonAtomic(settingsPath(home), validateSettings(settings), 0o644);
}

/** Reads, changes and writes back (a newly shared folder must exist; native must be available if newly chosen). Returns the new settings. */
export function updateSettings(home: string, change: (s: Settings) => Settings): Settings {
  const before = loadSettings(home);
  const next = validateSettings(change(before));
  const known = new Set(before.fileShares.map(folderKey));
  checkSharesExist(next.fileShares.filter((p) => !known.has(folderKey(p))));
  const why = next.engineMode === 'native' && before.engineMode !== 'native' ? nativeUnavailable() : undefined;
  if (why) throw new Error(`engineMode: ${why}`);
  saveSettings(home, next);
  return next;
}

/** A user setting from its command-line text: `cpus 4`, `memoryMiB 4096`, `accelerator tcg`. */
export function parseSettingValue(key: string, text: string): Partial<Settings> {
  if (!(USER_SETTINGS as readonly string[]).includes(key)) {
    throw new Error(`unknown setting "${key}"; settings: ${USER_SETTINGS.join(', ')}`);
  }
  if (key === 'accelerator') {
    if (!(ACCELERATOR_CHOICES as readonly string[]).includes(text))
      throw new Error(`accelerator must be one of ${ACCELERATOR_CHOICES.join(', ')}, not "${text}"`);
    return { accelerator: text as AcceleratorChoice };
  }
  if (key === 'engineMode') {
    if (!(ENGINE_MODES as readonly string[]).includes(text)) throw new Error(`engineMode must be one of ${ENGINE_MODES.join(', ')}, not "${text}"`);
    return { engineMode: text as EngineModeChoice };
  }
  if (key === 'fileShares') {
    // Like PATH: folders separated by the platform's delimiter; an empty value shares nothing.
    const list = text === '' ? [] : text.split(delimiter);
    const problems = shareListProblems(list);
    if (problems.length) throw new Error(`fileShares: ${problems.join('; ')}`);
    return { fileShares: list };
  }
  if (!/^\d+$/.test(text)) throw new Error(`${key} must be a whole number, not "${text}"`);
  const value = Number(text);
  const shape = settingsSchema.shape[key as 'cpus' | 'memoryMiB' | 'diskGiB'];
  const r = shape.safeParse(value);
  if (!r.success) throw new Error(`${key} ${text}: ${r.error.issues[0]?.message ?? 'out of range'}`);
  return { [key]: value };
}

export interface AcceleratorPlan {
  accel: Accelerator;
  /** Set when a remembered stall made the choice: say it. */
  note?: string;
}

/**
 * Which accelerator to boot with. `auto` is the host's hypervisor unless it
 * stalled before (then TCG, with a note); an explicit choice is used as is.
 */
export function planAccelerator(
  choice: AcceleratorChoice,
  fallback: AcceleratorFallback | undefined,
  os: HostOs,
  probe?: { kvmUsable: () => boolean },
): AcceleratorPlan {
  if (choice !== 'auto') return { accel: choice };
  const preferred = defaultAccelerator(os, probe);
  if (preferred !== 'tcg' && fallback?.from === preferred) {
    return {
      accel: 'tcg',
      note: `using TCG (software emulation): ${preferred} did not boot on ${fallback.at.slice(0, 10)} (${fallback.reason}); try it again with --accel ${preferred}`,
    };
  }
  return { accel: preferred };
}

export interface BootShares {
  /** The first folder (9p tag berthhome). */
  share?: { hostPath: string; guestPath: string };
  extraShares: { hostPath: string; guestPath: string }[];
  /** Folders left out: missing now, or Windows (no 9p in its QEMU). */
  skipped: string[];
}

/** What the VM shares at this boot: the configured folders that exist, each at the same path in the guest. */
export function bootShares(list: readonly string[], os: HostOs): BootShares {
  if (os === 'win32') return { extraShares: [], skipped: [...list] };
  const present: string[] = [];
  const skipped: string[] = [];
  for (const p of list) {
    try {
      checkSharesExist([p]);
      present.push(p);
    } catch {
      skipped.push(p);
    }
  }
  const [first, ...rest] = present.map((hostPath) => ({ hostPath, guestPath: guestPathFor(os, hostPath) }));
  return { ...(first ? { share: first } : {}), extraShares: rest, skipped };
}

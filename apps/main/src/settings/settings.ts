/**
 * The VM's settings, persisted in `$BERTH_HOME/settings.json`.
 *
 * Contract:
 * - `loadSettings` gives defaults for a missing file or missing fields
 *   (a hand-edited file may hold only what it changes), ignores fields it
 *   does not know (a newer Berth's), and throws for a value out of range,
 *   naming the file, the field and what is allowed.
 * - `saveSettings` validates first and writes atomically (json-file.ts).
 * - `berth start` flags (`--cpus` ...) are one-off overrides for that boot
 *   and are not saved, as Docker Desktop keeps settings in its Settings page;
 *   `berth settings KEY VALUE` (and the dashboard, later) saves them.
 * - `acceleratorFallback` is written by the VM when the accelerator chosen
 *   by `auto` stalled and TCG took over; the next `auto` start goes straight
 *   to TCG and says why. An explicit `--accel` still tries it; a boot that
 *   succeeds with it clears the memory.
 */
import { availableParallelism, totalmem } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { defaultAccelerator } from '../vm/accel.js';
import type { Accelerator, HostOs } from '../vm/qemu-args.js';
import { readJsonIfExists, writeJsonAtomic } from './json-file.js';

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
  memoryMiB: z.int().min(512).max(1024 * 1024),
  /** Size of the data disk when it is made (a sparse file: it takes only what the guest writes). */
  diskGiB: z.int().min(4).max(16 * 1024),
  accelerator: z.enum(ACCELERATOR_CHOICES),
  acceleratorFallback: fallbackSchema.optional(),
});

export type Settings = z.infer<typeof settingsSchema>;
export type AcceleratorFallback = z.infer<typeof fallbackSchema>;

/** The fields a user sets (the rest is Berth's memory). */
export const USER_SETTINGS = ['cpus', 'memoryMiB', 'diskGiB', 'accelerator'] as const;
export type UserSetting = (typeof USER_SETTINGS)[number];

export function settingsPath(home: string): string {
  return join(home, 'settings.json');
}

/** Half the host's CPUs (at least 2 where there are 2), a quarter of its memory within 2-8 GiB, a 64 GiB sparse disk. */
export function defaultSettings(host = { cpus: availableParallelism(), memoryMiB: Math.floor(totalmem() / 1024 ** 2) }): Settings {
  const cpus = Math.max(Math.min(2, host.cpus), Math.floor(host.cpus / 2));
  const memoryMiB = Math.min(8192, Math.max(2048, Math.floor(host.memoryMiB / 4 / 256) * 256));
  return { cpus, memoryMiB, diskGiB: 64, accelerator: 'auto' };
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

/** Reads, changes and writes back. Returns the new settings. */
export function updateSettings(home: string, change: (s: Settings) => Settings): Settings {
  const next = validateSettings(change(loadSettings(home)));
  saveSettings(home, next);
  return next;
}

/** A user setting from its command-line text: `cpus 4`, `memoryMiB 4096`, `accelerator tcg`. */
export function parseSettingValue(key: string, text: string): Partial<Settings> {
  if (!(USER_SETTINGS as readonly string[]).includes(key)) {
    throw new Error(`unknown setting "${key}"; settings: ${USER_SETTINGS.join(', ')}`);
  }
  if (key === 'accelerator') {
    if (!(ACCELERATOR_CHOICES as readonly string[]).includes(text)) throw new Error(`accelerator must be one of ${ACCELERATOR_CHOICES.join(', ')}, not "${text}"`);
    return { accelerator: text as AcceleratorChoice };
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
export function planAccelerator(choice: AcceleratorChoice, fallback: AcceleratorFallback | undefined, os: HostOs, probe?: { kvmUsable: () => boolean }): AcceleratorPlan {
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

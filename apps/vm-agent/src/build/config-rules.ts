/**
 * What the metadata instructions do to an image's run config, and how
 * dockerd words them in the history (`/bin/sh -c #(nop)  CMD ["sh"]`).
 * Pure functions, unit-tested beside.
 */
import { invalidParameter } from '../errors.js';

/** The image config's `config` (docker's container.Config subset images carry). */
export interface RunConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, unknown>> | null;
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, Record<string, unknown>> | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  Healthcheck?: Healthcheck;
  Shell?: string[];
  OnBuild?: string[] | null;
  ArgsEscaped?: boolean;
  [key: string]: unknown;
}

export interface Healthcheck {
  Test: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** Go's `%q` of a []string: `["a" "b c"]`. */
export function goQuoteList(list: string[]): string {
  return `[${list.map((s) => JSON.stringify(s)).join(' ')}]`;
}

/** History `created_by` of a metadata step: dockerd puts the comment after the shell and `#(nop) `. */
export function nopCreatedBy(shell: string[], comment: string): string {
  return [...shell, '#(nop) ', comment].join(' ');
}

/** Sets (or replaces) `K=V` in an env list, keeping its position. */
export function setEnv(env: string[], key: string, value: string): string[] {
  const i = env.findIndex((e) => e === key || e.startsWith(`${key}=`));
  const out = [...env];
  if (i >= 0) out[i] = `${key}=${value}`;
  else out.push(`${key}=${value}`);
  return out;
}

/** EXPOSE words: `80`, `80/tcp`, `53/udp`, `8000-8002`. */
export function exposedPorts(words: string[]): string[] {
  const out: string[] = [];
  for (const w of words) {
    const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(w);
    if (!m) throw invalidParameter(`invalid containerPort: ${w}`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo < 1 || hi > 65535 || hi < lo) throw invalidParameter(`invalid range of ports: ${w}`);
    for (let p = lo; p <= hi; p++) out.push(`${p}/${(m[3] ?? 'tcp').toLowerCase()}`);
  }
  return out;
}

/** Go durations (`30s`, `1m30s`, `500ms`) in nanoseconds, as HEALTHCHECK stores them. */
export function parseDuration(flag: string, s: string): number {
  const units: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  if (s === '0') return 0;
  let total = 0;
  let rest = s;
  while (rest !== '') {
    const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/.exec(rest);
    if (!m) throw invalidParameter(`invalid value for --${flag}: time: invalid duration "${s}"`);
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return Math.round(total);
}

export function healthcheck(args: string[], json: boolean, flags: Record<string, string>): Healthcheck {
  if (args[0] === 'NONE') return { Test: ['NONE'] };
  const test = json ? ['CMD', ...args.slice(1)] : ['CMD-SHELL', args[1]!];
  const hc: Healthcheck = { Test: test };
  const dur = (name: string, field: 'Interval' | 'Timeout' | 'StartPeriod' | 'StartInterval') => {
    if (flags[name] === undefined) return;
    const v = parseDuration(name, flags[name]!);
    if (v !== 0 && v < 1e6) throw invalidParameter(`Interval "${name}" cannot be less than 1ms`);
    hc[field] = v;
  };
  dur('interval', 'Interval');
  dur('timeout', 'Timeout');
  dur('start-period', 'StartPeriod');
  dur('start-interval', 'StartInterval');
  if (flags.retries !== undefined) {
    const r = Number(flags.retries);
    if (!Number.isInteger(r) || r < 0) throw invalidParameter(`--retries cannot be negative (${flags.retries})`);
    hc.Retries = r;
  }
  return hc;
}

/** `--chown` / USER-style `user[:group]` where both may be numeric; names are looked up by the caller. */
export function splitOwner(spec: string): { user: string; group: string | undefined } {
  const i = spec.indexOf(':');
  return i < 0 ? { user: spec, group: undefined } : { user: spec.slice(0, i), group: spec.slice(i + 1) };
}

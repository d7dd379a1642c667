/**
 * The Run dialog's model: what the user typed, turned into the Engine API's
 * create body and into the equivalent `docker run` line. Pure, unit-tested.
 */
import type { PortBinding } from '@berth/api';

export type RestartPolicy = 'no' | 'always' | 'unless-stopped' | 'on-failure';

export interface RunSpec {
  image: string;
  name: string;
  /** `8080:80`, `127.0.0.1:8080:80/tcp`, `80` (a free host port). */
  ports: string[];
  /** `KEY=value` */
  env: string[];
  /** `/host/path:/in/container[:ro]` or `volume:/path` */
  volumes: string[];
  restart: RestartPolicy;
  /** As typed; split like a shell would (quotes, backslashes). */
  command: string;
}

export interface PortMapping {
  hostIp: string;
  hostPort: string;
  containerPort: string;
  proto: string;
}

/** Parses one `-p` value; throws with a message naming it when it is not one. */
export function parsePort(spec: string): PortMapping {
  const m = /^(?:(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d{0,5}):)?(\d{1,5})(?:\/(tcp|udp|sctp))?$/.exec(spec.trim());
  if (!m) throw new Error(`invalid port mapping "${spec}": use HOST:CONTAINER, like 8080:80`);
  return { hostIp: m[1] ?? '', hostPort: m[2] ?? '', containerPort: m[3]!, proto: m[4] ?? 'tcp' };
}

/** Splits a command line as /bin/sh would (quotes and backslashes, no expansion). */
export function splitCommand(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated ${quote} in the command`);
  if (inWord) out.push(cur);
  return out;
}

/** Quotes a word for a POSIX shell only when it needs it. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

const clean = (xs: string[]) => xs.map((x) => x.trim()).filter(Boolean);

/** The `docker run` line that does the same. */
export function dockerRunLine(spec: RunSpec): string {
  const args = ['docker', 'run', '-d'];
  if (spec.name.trim()) args.push('--name', spec.name.trim());
  for (const p of clean(spec.ports)) args.push('-p', p);
  for (const e of clean(spec.env)) args.push('-e', e);
  for (const v of clean(spec.volumes)) args.push('-v', v);
  if (spec.restart !== 'no') args.push('--restart', spec.restart);
  args.push(spec.image.trim() || 'IMAGE');
  let cmd: string[];
  try {
    cmd = splitCommand(spec.command);
  } catch {
    cmd = [spec.command];
  }
  return [...args.map(shellQuote), ...cmd.map(shellQuote)].join(' ');
}

/** The body of POST /containers/create (the name goes in the query). */
export function createBody(spec: RunSpec): Record<string, unknown> {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, PortBinding[]> = {};
  for (const p of clean(spec.ports).map(parsePort)) {
    const key = `${p.containerPort}/${p.proto}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: p.hostIp, HostPort: p.hostPort });
  }
  for (const e of clean(spec.env)) if (!e.includes('=')) throw new Error(`invalid environment variable "${e}": use KEY=value`);
  const cmd = splitCommand(spec.command);
  return {
    Image: spec.image.trim(),
    ...(cmd.length ? { Cmd: cmd } : {}),
    Env: clean(spec.env),
    ExposedPorts: exposed,
    HostConfig: {
      PortBindings: bindings,
      Binds: clean(spec.volumes),
      RestartPolicy: { Name: spec.restart === 'no' ? '' : spec.restart, MaximumRetryCount: 0 },
    },
  };
}

/**
 * The Dockerfile parser: text to a list of instructions, as dockerd's
 * classic parser reads it.
 *
 * - Parser directives (`# escape=\``, `# syntax=...`) are read only at the
 *   top, before any comment, blank line or instruction; `syntax` is ignored
 *   (we have one frontend), unknown ones are comments.
 * - A line ending in the escape character (trailing blanks allowed) goes on
 *   with the next; comment and blank lines inside such a run are skipped.
 * - Each instruction keeps the line it starts on, so errors name it:
 *   `dockerfile parse error on line 3: unknown instruction: FORM`.
 * - Arguments are kept raw: variables are expanded at build time
 *   (shell-words.ts), because ARG and ENV values change as the build goes.
 * - Leading `--name=value` flags are split off; which flags an instruction
 *   accepts is checked here too.
 * - Heredocs (`RUN <<EOF`) are a BuildKit feature: refused with a message.
 */
import { invalidParameter } from '../errors.js';

export interface Instruction {
  /** The keyword in lower case: `from`, `run`, ... */
  cmd: string;
  /** The instruction as written, continuations joined (the `Step n/m :` line shows it). */
  original: string;
  /** 1-based line the instruction starts on. */
  line: number;
  flags: Record<string, string>;
  /**
   * Arguments, raw. Exec (JSON) form: the array's strings. Shell form of
   * RUN/CMD/ENTRYPOINT/HEALTHCHECK CMD/ONBUILD/WORKDIR/USER/MAINTAINER: one
   * string. ENV/LABEL: key, value, key, value... COPY/ADD/FROM/EXPOSE/
   * VOLUME/ARG/STOPSIGNAL: whitespace-separated words.
   */
  args: string[];
  /** True when the arguments were a JSON array (exec form). */
  json: boolean;
}

export interface Dockerfile {
  escape: string;
  instructions: Instruction[];
  warnings: string[];
}

const FLAGS: Record<string, string[]> = {
  from: ['platform'],
  copy: ['from', 'chown', 'chmod', 'link', 'parents', 'exclude'],
  add: ['chown', 'chmod', 'link', 'checksum', 'keep-git-dir', 'exclude'],
  healthcheck: ['interval', 'timeout', 'start-period', 'start-interval', 'retries'],
  run: [],
};

const INSTRUCTIONS = ['from', 'run', 'cmd', 'entrypoint', 'env', 'arg', 'workdir', 'expose', 'volume', 'user', 'label', 'stopsignal', 'healthcheck', 'shell', 'onbuild', 'maintainer', 'copy', 'add'];

export function parseError(line: number, message: string): Error {
  return invalidParameter(`dockerfile parse error on line ${line}: ${message}`);
}

export function parseDockerfile(text: string): Dockerfile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let escape = '\\';
  const warnings: string[] = [];
  let i = 0;
  // Directives: `# key=value` lines at the very top.
  const seen = new Set<string>();
  for (; i < lines.length; i++) {
    const m = /^\s*#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$/.exec(lines[i]!);
    if (!m) break;
    const key = m[1]!.toLowerCase();
    if (key !== 'escape' && key !== 'syntax' && key !== 'check') break;
    if (seen.has(key)) throw parseError(i + 1, `only one ${key} parser directive can be used`);
    seen.add(key);
    if (key === 'escape') {
      if (m[2] !== '\\' && m[2] !== '`') throw parseError(i + 1, `invalid escape token '${m[2]}' does not match ` + '` or \\');
      escape = m[2]!;
    }
  }

  const instructions: Instruction[] = [];
  const continues = (l: string) => {
    const t = l.replace(/[ \t]+$/, '');
    return t.endsWith(escape) ? t.slice(0, -1) : undefined;
  };
  while (i < lines.length) {
    const raw = lines[i]!;
    const start = i + 1;
    i++;
    if (/^\s*(#.*)?$/.test(raw)) continue;
    let joined = '';
    let part: string | undefined = raw;
    for (;;) {
      const cut = continues(part);
      if (cut === undefined) {
        joined += part;
        break;
      }
      joined += cut;
      // Skip comments and blank lines inside a continued instruction, as dockerd does.
      while (i < lines.length && /^\s*(#.*)?$/.test(lines[i]!)) {
        if (lines[i]!.trim() === '') warnings.push(`[WARNING]: Empty continuation line found in line ${i + 1}: empty continuation lines will become errors in a future release`);
        i++;
      }
      if (i >= lines.length) break;
      part = lines[i]!;
      i++;
    }
    instructions.push(parseInstruction(joined.trim(), start, escape));
  }
  return { escape, instructions, warnings };
}

/** One logical line (continuations joined) to an instruction. Also used for ONBUILD triggers. */
export function parseInstruction(text: string, line: number, escape = '\\'): Instruction {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(text);
  if (!m) throw parseError(line, 'empty instruction');
  const keyword = m[1]!;
  const cmd = keyword.toLowerCase();
  if (!INSTRUCTIONS.includes(cmd)) {
    const hint = suggest(cmd);
    throw parseError(line, `unknown instruction: ${keyword}${hint ? ` (did you mean ${hint}?)` : ''}`);
  }
  let rest = m[2]!.trim();
  const flags: Record<string, string> = {};
  if (cmd !== 'onbuild') {
    for (;;) {
      const f = /^--([a-zA-Z][a-zA-Z0-9-]*)(?:=(\S*))?(?:\s+|$)/.exec(rest);
      if (!f) break;
      const name = f[1]!;
      const allowed = FLAGS[cmd] ?? [];
      if (!allowed.includes(name)) {
        if (cmd === 'run' && (name === 'mount' || name === 'network' || name === 'security')) {
          throw parseError(line, `RUN --${name} needs BuildKit, which this engine does not provide`);
        }
        throw parseError(line, `unknown flag: --${name} (${keyword.toUpperCase()} accepts ${allowed.length ? allowed.map((a) => `--${a}`).join(', ') : 'no flags'})`);
      }
      flags[name] = f[2] ?? 'true';
      rest = rest.slice(f[0].length);
    }
  }
  const base = { cmd, original: text, line, flags };
  const json = parseJsonArray(rest);
  const need = (ok: boolean, what: string) => {
    if (!ok) throw parseError(line, `${keyword.toUpperCase()} ${what}`);
  };
  if (/<<-?\s*["']?[A-Za-z_][A-Za-z0-9_]*["']?\s*$/.test(rest) && (cmd === 'run' || cmd === 'copy' || cmd === 'add')) {
    throw parseError(line, `heredocs (${rest.slice(rest.indexOf('<<')).trim()}) need BuildKit, which this engine does not provide: write the content to a file in the context and COPY it`);
  }
  switch (cmd) {
    case 'run':
    case 'cmd':
    case 'entrypoint':
      if (json) return { ...base, args: json, json: true };
      need(rest !== '' || cmd !== 'run', 'requires at least one argument');
      return { ...base, args: rest === '' ? [] : [rest], json: false };
    case 'shell':
      need(json !== undefined, 'requires the arguments to be in JSON form');
      need(json!.length > 0, 'requires at least one argument');
      return { ...base, args: json!, json: true };
    case 'copy':
    case 'add': {
      const args = json ?? words(rest);
      need(args.length >= 2, 'requires at least two arguments, but only one was provided. Destination could not be determined.');
      return { ...base, args, json: json !== undefined };
    }
    case 'volume': {
      const args = json ?? words(rest);
      need(args.length > 0, 'requires at least one argument');
      return { ...base, args, json: json !== undefined };
    }
    case 'env':
    case 'label':
      return { ...base, args: nameValues(keyword.toUpperCase(), rest, line, escape), json: false };
    case 'arg': {
      const args = quotedWords(rest, escape);
      need(args.length > 0, 'requires at least one argument');
      return { ...base, args, json: false };
    }
    case 'from': {
      const args = words(rest);
      need(args.length === 1 || (args.length === 3 && args[1]!.toLowerCase() === 'as'), 'requires either one or three arguments');
      return { ...base, args, json: false };
    }
    case 'expose': {
      const args = words(rest);
      need(args.length > 0, 'requires at least one argument');
      return { ...base, args, json: false };
    }
    case 'stopsignal':
    case 'workdir':
    case 'user':
      need(rest !== '', 'requires exactly one argument');
      return { ...base, args: cmd === 'stopsignal' ? words(rest) : [rest], json: false };
    case 'maintainer':
      need(rest !== '', 'requires exactly one argument');
      return { ...base, args: [rest], json: false };
    case 'healthcheck': {
      const h = /^(\S+)\s*([\s\S]*)$/.exec(rest);
      need(!!h, 'requires at least one argument');
      const kind = h![1]!.toUpperCase();
      if (kind === 'NONE') {
        need(h![2]!.trim() === '' && Object.keys(flags).length === 0, 'NONE takes no arguments or options');
        return { ...base, args: ['NONE'], json: false };
      }
      need(kind === 'CMD', `has an unknown type: ${h![1]} (use CMD or NONE)`);
      const inner = parseJsonArray(h![2]!.trim());
      if (inner) return { ...base, args: ['CMD', ...inner], json: true };
      need(h![2]!.trim() !== '', 'CMD requires at least one argument');
      return { ...base, args: ['CMD', h![2]!.trim()], json: false };
    }
    case 'onbuild': {
      const trigger = /^(\S+)/.exec(rest)?.[1]?.toLowerCase();
      need(trigger !== undefined, 'requires at least one argument');
      if (trigger === 'onbuild') throw parseError(line, 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      if (trigger === 'from' || trigger === 'maintainer') throw parseError(line, `${trigger.toUpperCase()} isn't allowed as an ONBUILD trigger`);
      parseInstruction(rest, line, escape); // the trigger must itself parse
      return { ...base, args: [rest], json: false };
    }
  }
  throw parseError(line, `unknown instruction: ${keyword}`);
}

/** A JSON array of strings, or undefined (then the shell form applies, as in dockerd). */
function parseJsonArray(s: string): string[] | undefined {
  if (!s.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(s);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    // not JSON: shell form
  }
  return undefined;
}

function words(s: string): string[] {
  return s.split(/\s+/).filter((w) => w !== '');
}

/**
 * Words separated by unquoted blanks; quotes and escapes stay in the words
 * (they are removed when the word is expanded), as dockerd's parseWords.
 */
export function quotedWords(s: string, escape: string): string[] {
  const out: string[] = [];
  let word = '';
  let quote = '';
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (!inWord && /\s/.test(c)) continue;
    inWord = true;
    if (quote === '' && /\s/.test(c)) {
      out.push(word);
      word = '';
      inWord = false;
      continue;
    }
    if (c === escape && quote !== "'" && i + 1 < s.length) {
      word += c + s[++i]!;
      continue;
    }
    if (quote === '' && (c === '"' || c === "'")) quote = c;
    else if (c === quote) quote = '';
    word += c;
  }
  if (inWord) out.push(word);
  return out;
}

/** ENV/LABEL arguments: `k=v k2="v 2"`, or the legacy `ENV key the value`. Returns [k, v, k, v, ...]. */
function nameValues(name: string, rest: string, line: number, escape: string): string[] {
  const ws = quotedWords(rest, escape);
  if (ws.length === 0) throw parseError(line, `${name} requires at least one argument`);
  if (!ws[0]!.includes('=')) {
    // Legacy form: the first word is the key, the rest of the line the value.
    const key = ws[0]!;
    const value = rest.slice(rest.indexOf(key) + key.length).trim();
    if (value === '') throw parseError(line, `${name} must have two arguments`);
    return [key, value];
  }
  const out: string[] = [];
  for (const w of ws) {
    const eq = w.indexOf('=');
    if (eq <= 0) throw parseError(line, `${name} names can not be blank` + (eq < 0 ? `: ${w} has no '=' (use ${name} key=value)` : ''));
    out.push(w.slice(0, eq), w.slice(eq + 1));
  }
  return out;
}

function suggest(word: string): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of INSTRUCTIONS) {
    const d = distance(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best?.toUpperCase();
}

function distance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) dp[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const sub = dp[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      let v = Math.min(dp[i - 1]![j]! + 1, dp[i]![j - 1]! + 1, sub);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, dp[i - 2]![j - 2]! + 1);
      dp[i]![j] = v;
    }
  }
  return dp[a.length]![b.length]!;
}

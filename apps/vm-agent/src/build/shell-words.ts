/**
 * Variable substitution in Dockerfile words, as dockerd's shell lexer does it
 * for ADD, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR
 * and ARG (RUN, CMD and ENTRYPOINT are left to the shell in the container).
 *
 * - `$VAR` and `${VAR}`; `${VAR:-word}` / `${VAR-word}` (default when unset or
 *   empty / unset), `${VAR:+word}` / `${VAR+word}` (alternative when set and
 *   not empty / set), `${VAR:?msg}` / `${VAR?msg}` (error). The inner word is
 *   itself expanded.
 * - Single quotes keep everything literal; in double quotes the escape
 *   character escapes only `"`, `$` and itself; outside quotes it escapes any
 *   character (`\$HOME` is the text `$HOME`). Quotes are removed.
 * - A `$` not followed by a name or `{` stays a `$`.
 */
import { invalidParameter } from '../errors.js';

export type Lookup = (name: string) => string | undefined;

export function expandWord(word: string, lookup: Lookup, escape = '\\'): string {
  const s = new Scanner(word, lookup, escape);
  return s.word(() => false);
}

/** Env list (`K=V`) to a lookup; later entries win. */
export function envLookup(...lists: string[][]): Lookup {
  const m = new Map<string, string>();
  for (const list of lists) {
    for (const e of list) {
      const eq = e.indexOf('=');
      if (eq > 0) m.set(e.slice(0, eq), e.slice(eq + 1));
    }
  }
  return (name) => m.get(name);
}

class Scanner {
  private i = 0;
  constructor(
    private readonly s: string,
    private readonly lookup: Lookup,
    private readonly escape: string,
  ) {}

  /** Reads until `stop` says so (at the current position) or the end. */
  word(stop: (c: string) => boolean): string {
    let out = '';
    while (this.i < this.s.length) {
      const c = this.s[this.i]!;
      if (stop(c)) break;
      if (c === this.escape) {
        this.i++;
        if (this.i >= this.s.length) {
          out += c;
          break;
        }
        out += this.s[this.i++]!;
      } else if (c === "'") {
        out += this.single();
      } else if (c === '"') {
        out += this.double();
      } else if (c === '$') {
        out += this.variable();
      } else {
        out += c;
        this.i++;
      }
    }
    return out;
  }

  private single(): string {
    const end = this.s.indexOf("'", this.i + 1);
    if (end < 0) throw invalidParameter(`unexpected end of statement while looking for matching single-quote in ${JSON.stringify(this.s)}`);
    const out = this.s.slice(this.i + 1, end);
    this.i = end + 1;
    return out;
  }

  private double(): string {
    this.i++;
    let out = '';
    for (;;) {
      if (this.i >= this.s.length) throw invalidParameter(`unexpected end of statement while looking for matching double-quote in ${JSON.stringify(this.s)}`);
      const c = this.s[this.i]!;
      if (c === '"') {
        this.i++;
        return out;
      }
      if (c === '$') {
        out += this.variable();
        continue;
      }
      if (c === this.escape && this.i + 1 < this.s.length) {
        const n = this.s[this.i + 1]!;
        if (n === '"' || n === '$' || n === this.escape) {
          out += n;
          this.i += 2;
          continue;
        }
      }
      out += c;
      this.i++;
    }
  }

  private variable(): string {
    this.i++; // the $
    const c = this.s[this.i];
    if (c === '{') {
      this.i++;
      const name = this.name();
      if (name === '') throw invalidParameter(`bad substitution in ${JSON.stringify(this.s)}: a name is expected after \${`);
      const value = this.lookup(name);
      const next = this.s[this.i];
      if (next === '}') {
        this.i++;
        return value ?? '';
      }
      let colon = false;
      if (next === ':') {
        colon = true;
        this.i++;
      }
      const op = this.s[this.i];
      if (op !== '-' && op !== '+' && op !== '?') throw invalidParameter(`unsupported modifier (${colon ? ':' : ''}${op ?? ''}) in substitution ${JSON.stringify(this.s)}`);
      this.i++;
      const inner = this.word((ch) => ch === '}');
      if (this.s[this.i] !== '}') throw invalidParameter(`missing '}' in substitution ${JSON.stringify(this.s)}`);
      this.i++;
      const set = value !== undefined && (!colon || value !== '');
      if (op === '-') return set ? value! : inner;
      if (op === '+') return set ? inner : '';
      if (!set) throw invalidParameter(`${name}: ${inner || 'is not allowed to be unset'}`);
      return value!;
    }
    const name = this.name();
    if (name === '') return '$';
    return this.lookup(name) ?? '';
  }

  private name(): string {
    const m = /^[A-Za-z0-9_]+/.exec(this.s.slice(this.i));
    if (!m) return '';
    this.i += m[0].length;
    return m[0];
  }
}

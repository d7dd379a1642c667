/**
 * `.dockerignore` patterns, with the rules of Docker's patternmatcher:
 * - one pattern a line; `#` lines and blank lines are ignored; a leading `!`
 *   makes an exception; patterns are cleaned (`./a/` is `a`, a leading `/`
 *   is dropped);
 * - `*` is any run of characters but `/`, `?` one character but `/`,
 *   `[...]` a class, `**` any number of directories (zero included), `\`
 *   escapes the next character;
 * - a path is excluded when the last pattern matching it, or matching one
 *   of its parent directories, is not an exception.
 */
import { posix } from 'node:path';

interface Pattern {
  exclusion: boolean;
  re: RegExp;
}

export class IgnoreMatcher {
  private readonly patterns: Pattern[];

  constructor(lines: string[]) {
    this.patterns = [];
    for (let line of lines) {
      line = line.trim();
      if (line === '' || line.startsWith('#')) continue;
      const exclusion = line.startsWith('!');
      if (exclusion) line = line.slice(1).trim();
      let p = posix.normalize(line).replace(/^\/+/, '');
      if (p.endsWith('/')) p = p.slice(0, -1);
      if (p === '' || p === '.') continue;
      this.patterns.push({ exclusion, re: compile(p) });
    }
  }

  static parse(text: string): IgnoreMatcher {
    return new IgnoreMatcher(text.split(/\r?\n/));
  }

  get hasExceptions(): boolean {
    return this.patterns.some((p) => p.exclusion);
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /** `path` is relative to the context root, `/`-separated. */
  excludes(path: string): boolean {
    const parts = path.split('/');
    let excluded = false;
    for (const p of this.patterns) {
      let hit = p.re.test(path);
      for (let n = parts.length - 1; !hit && n > 0; n--) hit = p.re.test(parts.slice(0, n).join('/'));
      if (hit) excluded = !p.exclusion;
    }
    return excluded;
  }
}

function compile(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        let cls = pattern.slice(i + 1, end).replace(/\\/g, '\\\\');
        if (cls.startsWith('^') || cls.startsWith('!')) cls = '^' + cls.slice(1);
        re += `[${cls}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i]!);
    else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`);
}

const escapeRe = (c: string) => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** Glob matching for COPY sources (no `**` special case beyond `*`), as filepath.Match. */
export function globToRegExp(pattern: string): RegExp {
  return compile(pattern);
}

export const hasWildcard = (s: string) => /[*?[]/.test(s);

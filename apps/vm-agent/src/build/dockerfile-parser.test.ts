import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile } from './dockerfile-parser.js';
import { envLookup, expandWord } from './shell-words.js';

const parse = (s: string) => parseDockerfile(s).instructions;

test('instructions keep their start line; comments and blank lines are skipped', () => {
  const ins = parse('# a comment\n\nFROM busybox AS base\n  # indented comment\nrun echo hi\n');
  assert.deepEqual(ins.map((i) => [i.cmd, i.line, i.args]), [['from', 3, ['busybox', 'AS', 'base']], ['run', 5, ['echo hi']]]);
});

test('continuations join lines and skip comments inside', () => {
  const [from, run] = parse('FROM busybox\nRUN echo a \\\n# inside\n    b \\  \n  c\n');
  assert.equal(from!.line, 1);
  assert.equal(run!.line, 2);
  assert.deepEqual(run!.args, ['echo a     b   c']);
});

test('the escape directive switches to backtick (Windows style)', () => {
  const df = parseDockerfile('# escape=`\nFROM busybox\nRUN echo a `\n  b\nCOPY a\\b c\\\n');
  assert.equal(df.escape, '`');
  assert.deepEqual(df.instructions[1]!.args, ['echo a   b']);
  assert.deepEqual(df.instructions[2]!.args, ['a\\b', 'c\\']);
});

test('syntax directive is ignored; a directive after an instruction is a comment', () => {
  const df = parseDockerfile('# syntax=docker/dockerfile:1\nFROM busybox\n# escape=`\nRUN a \\\n b');
  assert.equal(df.escape, '\\');
  assert.deepEqual(df.instructions[1]!.args, ['a  b']);
});

test('JSON (exec) form vs shell form', () => {
  const ins = parse('FROM x\nCMD ["sh", "-c", "echo hi"]\nCMD echo hi\nENTRYPOINT [not json\nRUN ["a"]\nSHELL ["/bin/ash", "-eo"]');
  assert.deepEqual(ins.slice(1).map((i) => [i.json, i.args]), [
    [true, ['sh', '-c', 'echo hi']],
    [false, ['echo hi']],
    [false, ['[not json']],
    [true, ['a']],
    [true, ['/bin/ash', '-eo']],
  ]);
  assert.throws(() => parse('FROM x\nSHELL /bin/sh -c'), /line 2: SHELL requires the arguments to be in JSON form/);
});

test('ENV and LABEL: key=value pairs with quotes, and the legacy form', () => {
  const ins = parse('FROM x\nENV A=1 B="two words" C=a\\ b\nENV LEGACY the whole value\nLABEL "com.x"="y" z=');
  assert.deepEqual(ins[1]!.args, ['A', '1', 'B', '"two words"', 'C', 'a\\ b']);
  assert.deepEqual(ins[2]!.args, ['LEGACY', 'the whole value']);
  assert.deepEqual(ins[3]!.args, ['"com.x"', '"y"', 'z', '']);
});

test('flags are split off and checked', () => {
  const [, copy] = parse('FROM x\nCOPY --from=build --chown=1:2 /a /b/');
  assert.deepEqual(copy!.flags, { from: 'build', chown: '1:2' });
  assert.deepEqual(copy!.args, ['/a', '/b/']);
  assert.throws(() => parse('FROM x\nCOPY --frm=a b c'), /line 2: unknown flag: --frm/);
  assert.throws(() => parse('FROM x\n\nRUN --mount=type=cache,target=/x true'), /line 3: RUN --mount needs BuildKit/);
});

test('errors name the line', () => {
  assert.throws(() => parse('FROM busybox\nRUN true\nFORM x'), { message: 'dockerfile parse error on line 3: unknown instruction: FORM (did you mean FROM?)' });
  assert.throws(() => parse('FROM\n'), /line 1: FROM requires either one or three arguments/);
  assert.throws(() => parse('FROM x\nCOPY onlyone'), /line 2: COPY requires at least two arguments/);
  assert.throws(() => parse('FROM x\nRUN <<EOF\necho\nEOF'), /line 2: heredocs .* need BuildKit/);
  assert.throws(() => parse('FROM x\nONBUILD ONBUILD RUN x'), /line 2: Chaining ONBUILD/);
  assert.throws(() => parse('# escape=x\nFROM x'), /line 1: invalid escape token/);
});

test('HEALTHCHECK keeps its options and command; ONBUILD keeps its trigger', () => {
  const ins = parse('FROM x\nHEALTHCHECK --interval=5s --retries=3 CMD wget -q localhost\nHEALTHCHECK NONE\nONBUILD RUN echo later');
  assert.deepEqual(ins[1]!.flags, { interval: '5s', retries: '3' });
  assert.deepEqual(ins[1]!.args, ['CMD', 'wget -q localhost']);
  assert.deepEqual(ins[2]!.args, ['NONE']);
  assert.deepEqual(ins[3]!.args, ['RUN echo later']);
});

test('variable substitution', () => {
  const env = envLookup(['A=1', 'EMPTY=', 'P=/usr/bin']);
  const x = (w: string) => expandWord(w, env);
  assert.equal(x('$A'), '1');
  assert.equal(x('${A}x'), '1x');
  assert.equal(x('${NOPE:-dflt}'), 'dflt');
  assert.equal(x('${EMPTY:-dflt}'), 'dflt');
  assert.equal(x('${EMPTY-dflt}'), '');
  assert.equal(x('${A:+alt}'), 'alt');
  assert.equal(x('${NOPE:+alt}'), '');
  assert.equal(x('${NOPE:-$P/x}'), '/usr/bin/x');
  assert.equal(x('\\$A'), '$A');
  assert.equal(x("'$A'"), '$A');
  assert.equal(x('"$A b"'), '1 b');
  assert.equal(x('"\\$A \\q"'), '$A \\q');
  assert.equal(x('cost: $'), 'cost: $');
  assert.equal(expandWord('`$A', env, '`'), '$A');
  assert.throws(() => x('${NOPE:?must be set}'), /NOPE: must be set/);
  assert.throws(() => x('"open'), /matching double-quote/);
});

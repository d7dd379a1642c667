import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IgnoreMatcher } from './dockerignore.js';

test('plain names match the path and everything under it', () => {
  const m = IgnoreMatcher.parse('# comment\n\nnode_modules\n/build/\n');
  assert.equal(m.excludes('node_modules'), true);
  assert.equal(m.excludes('node_modules/a/b.js'), true);
  assert.equal(m.excludes('build/x'), true);
  assert.equal(m.excludes('src/node_modules'), false);
  assert.equal(m.excludes('src/main.ts'), false);
});

test('* ? and ** follow patternmatcher', () => {
  const m = IgnoreMatcher.parse('*.log\n**/*.tmp\ndoc?/x\n');
  assert.equal(m.excludes('a.log'), true);
  assert.equal(m.excludes('dir/a.log'), false);
  assert.equal(m.excludes('a.tmp'), true);
  assert.equal(m.excludes('deep/er/a.tmp'), true);
  assert.equal(m.excludes('doc1/x'), true);
  assert.equal(m.excludes('doc12/x'), false);
});

test('! makes exceptions; the last matching pattern wins', () => {
  const m = IgnoreMatcher.parse('*.md\n!README.md\nsecret\n!secret/keep\n');
  assert.equal(m.excludes('CHANGES.md'), true);
  assert.equal(m.excludes('README.md'), false);
  assert.equal(m.excludes('secret/key'), true);
  assert.equal(m.excludes('secret/keep'), false);
  assert.equal(m.hasExceptions, true);
  const again = IgnoreMatcher.parse('!README.md\n*.md');
  assert.equal(again.excludes('README.md'), true);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { familiarString, parseNormalizedNamed, parseReference, referenceString } from './reference.js';

const D = 'sha256:' + 'a'.repeat(64);

test('normalizes as dockerd does', () => {
  const cases: Array<[string, string, string]> = [
    ['ubuntu', 'docker.io/library/ubuntu:latest', 'ubuntu:latest'],
    ['ubuntu:22.04', 'docker.io/library/ubuntu:22.04', 'ubuntu:22.04'],
    ['user/app', 'docker.io/user/app:latest', 'user/app:latest'],
    ['docker.io/library/busybox:1', 'docker.io/library/busybox:1', 'busybox:1'],
    ['index.docker.io/library/busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['localhost:5000/app', 'localhost:5000/app:latest', 'localhost:5000/app:latest'],
    ['localhost/app', 'localhost/app:latest', 'localhost/app:latest'],
    ['127.0.0.1:5000/a/b/c:v1', '127.0.0.1:5000/a/b/c:v1', '127.0.0.1:5000/a/b/c:v1'],
    ['quay.io/org/img', 'quay.io/org/img:latest', 'quay.io/org/img:latest'],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`, `busybox@${D}`],
    [`busybox:1@${D}`, `docker.io/library/busybox:1@${D}`, `busybox:1@${D}`],
    ['[::1]:5000/app:x', '[::1]:5000/app:x', '[::1]:5000/app:x'],
    ['a__b/c-d.e_f', 'docker.io/a__b/c-d.e_f:latest', 'a__b/c-d.e_f:latest'],
  ];
  for (const [input, full, familiar] of cases) {
    const ref = parseNormalizedNamed(input);
    assert.equal(referenceString(ref), full, input);
    assert.equal(familiarString(ref), familiar, input);
  }
});

test('a digest alone gets no default tag', () => {
  assert.equal(parseNormalizedNamed(`busybox@${D}`).tag, undefined);
});

test('rejects invalid references with dockerd wording', () => {
  assert.throws(() => parseReference('Ubuntu'), /invalid reference format: repository name \(library\/Ubuntu\) must be lowercase/);
  for (const bad of ['', 'a:b:c', 'ubuntu:', ':tag', 'a//b', '-a', 'a-', 'ubuntu:-x', 'a b', 'ubuntu@sha256:abc', 'x@md5:' + 'a'.repeat(32)]) {
    assert.throws(() => parseReference(bad), /invalid reference format/, JSON.stringify(bad));
  }
  assert.throws(() => parseReference('a'.repeat(64)), /cannot specify 64-byte hexadecimal strings/);
  assert.throws(() => parseReference('x/' + 'a'.repeat(260)), /must not be more than 255 characters/);
  assert.throws(() => parseReference('busybox:' + 'a'.repeat(129)), /invalid reference format/);
});

test('errors are invalid-parameter (400)', () => {
  try {
    parseReference('UPPER');
    assert.fail('expected an error');
  } catch (err) {
    assert.equal((err as { kind?: string }).kind, 'invalid-parameter');
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { networkErrorMessage, parseAuthChallenges, pickChallenge, registryErrorMessage } from './registry-auth.js';

test('parses Docker Hub bearer challenges', () => {
  const h = 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"';
  assert.deepEqual(parseAuthChallenges(h), [
    {
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' },
    },
  ]);
});

test('parses several challenges, unquoted values, escapes and odd spacing', () => {
  const h = 'Basic realm="a \\"quoted\\" realm", Bearer realm=https://t/token , error="insufficient_scope",scope="repository:a:pull,push"';
  const got = parseAuthChallenges(h);
  assert.deepEqual(got, [
    { scheme: 'basic', params: { realm: 'a "quoted" realm' } },
    { scheme: 'bearer', params: { realm: 'https://t/token', error: 'insufficient_scope', scope: 'repository:a:pull,push' } },
  ]);
  assert.equal(pickChallenge(got)?.scheme, 'bearer');
  assert.deepEqual(parseAuthChallenges(''), []);
  assert.deepEqual(parseAuthChallenges('Basic'), [{ scheme: 'basic', params: {} }]);
});

test('words registry errors as docker does', () => {
  const body = JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: {} }] });
  assert.equal(registryErrorMessage(404, body, 'x'), 'manifest unknown: manifest unknown');
  assert.equal(registryErrorMessage(401, '{"details":"incorrect username or password"}', 'x'), 'unauthorized: incorrect username or password');
  assert.equal(registryErrorMessage(502, '<html>bad gateway</html>', 'fallback'), 'fallback');
});

test('words connection failures as Go does', () => {
  const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
  assert.equal(networkErrorMessage(refused, new URL('http://127.0.0.1:5999/v2/')), 'dial tcp 127.0.0.1:5999: connect: connection refused');
  assert.equal(networkErrorMessage(refused, new URL('https://[::1]/v2/')), 'dial tcp [::1]:443: connect: connection refused');
  const dns = new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo'), { code: 'ENOTFOUND' }) });
  assert.equal(networkErrorMessage(dns, new URL('https://nope.invalid/v2/')), 'dial tcp: lookup nope.invalid: no such host');
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { enginePlatform } from './manifest.js';
import { parsePlatformSpec, platformMatches } from './platform-spec.js';

test('specifiers normalize as containerd normalizes them', () => {
  assert.deepEqual(parsePlatformSpec('linux/arm64'), { os: 'linux', architecture: 'arm64' });
  assert.deepEqual(parsePlatformSpec('linux/aarch64/v8'), { os: 'linux', architecture: 'arm64' });
  assert.deepEqual(parsePlatformSpec('Linux/x86_64'), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(parsePlatformSpec('linux/arm/7'), { os: 'linux', architecture: 'arm', variant: 'v7' });
  assert.deepEqual(parsePlatformSpec('linux/arm'), { os: 'linux', architecture: 'arm' });
  assert.deepEqual(parsePlatformSpec('linux'), enginePlatform());
  assert.deepEqual(parsePlatformSpec('s390x'), { os: 'linux', architecture: 's390x' });
  assert.ok(platformMatches(parsePlatformSpec('linux/arm64'), { os: 'linux', architecture: 'arm64', variant: 'v8' }));
  assert.ok(platformMatches(parsePlatformSpec('linux/arm'), { os: 'linux', architecture: 'arm', variant: 'v7' }));
  assert.ok(!platformMatches(parsePlatformSpec('linux/arm64'), { os: 'linux', architecture: 'amd64' }));
});

test("bad specifiers fail in containerd's words", () => {
  assert.throws(() => parsePlatformSpec('bogus'), /^EngineError: "bogus": unknown operating system or architecture: invalid argument$/);
  assert.throws(
    () => parsePlatformSpec(''),
    /^EngineError: "" is an invalid component of "": platform specifier component must match "\^\[A-Za-z0-9_-\]\+\$": invalid argument$/,
  );
  assert.throws(() => parsePlatformSpec('linux/amd64/v2/x'), /"linux\/amd64\/v2\/x": cannot parse platform specifier: invalid argument/);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { enginePlatform } from '../../images/manifest.js';
import { familiarString } from '../../images/reference.js';
import { importPlatform, importReference } from './image-import.js';

test("import platform: the engine's own by default, containerd's architecture names, Linux only", () => {
  assert.deepEqual(importPlatform(null), enginePlatform());
  assert.deepEqual(importPlatform('linux'), enginePlatform());
  assert.deepEqual(importPlatform('linux/x86_64'), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(importPlatform('Linux/aarch64/v8'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  assert.throws(() => importPlatform('windows/amd64'), /operating system is not supported: windows/);
  assert.throws(() => importPlatform('linux//v8'), /unknown platform/);
  assert.throws(() => importPlatform('linux/amd64/v1/x'), /unknown platform/);
});

test('import reference: none without a repo, latest by default, the tag parameter wins, a digest refused', () => {
  assert.equal(importReference('', 'v1'), undefined);
  assert.equal(familiarString(importReference('app', '')!), 'app:latest');
  assert.equal(familiarString(importReference('localhost:5000/app', 'v2')!), 'localhost:5000/app:v2');
  assert.equal(familiarString(importReference('app:old', 'new')!), 'app:new');
  assert.equal(familiarString(importReference('app:v3', '')!), 'app:v3');
  assert.throws(() => importReference(`app@sha256:${'a'.repeat(64)}`, ''), /^EngineError: cannot import digest reference$/);
  assert.throws(() => importReference('App', ''), /must be lowercase/);
});

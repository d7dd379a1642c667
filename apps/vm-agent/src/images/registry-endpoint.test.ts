// Unit tests of the registry client's pure parts (where a registry is); tests/engine/registry-client.test.ts runs the client against a real registry.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLoopbackDomain, registryBaseUrl } from './registry-endpoint.js';

test('docker.io is served by registry-1.docker.io', () => {
  assert.equal(registryBaseUrl('docker.io'), 'https://registry-1.docker.io');
  assert.equal(registryBaseUrl('index.docker.io'), 'https://registry-1.docker.io');
});

test('plain HTTP only for loopback registries', () => {
  for (const d of ['localhost', 'localhost:5000', '127.0.0.1:5000', '127.1.2.3', '[::1]:5000', '::1']) {
    assert.equal(isLoopbackDomain(d), true, d);
  }
  for (const d of ['ghcr.io', 'example.com:5000', '10.0.0.1:5000', '128.0.0.1', 'localhost.example.com', '[::2]:5000']) {
    assert.equal(isLoopbackDomain(d), false, d);
  }
  assert.equal(registryBaseUrl('127.0.0.1:5000'), 'http://127.0.0.1:5000');
  assert.equal(registryBaseUrl('[::1]:5000'), 'http://[::1]:5000');
  assert.equal(registryBaseUrl('ghcr.io'), 'https://ghcr.io');
});

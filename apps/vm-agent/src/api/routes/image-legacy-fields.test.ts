import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImageConfig } from '../../images/manifest.js';
import { legacyImageFields } from './image-legacy-fields.js';

const base: ImageConfig = { rootfs: { type: 'layers', diff_ids: [] }, config: { Cmd: ['sh'] } };

test('an image without container_config gets the zero config (docker-compose 1.29 reads ContainerConfig.Volumes)', () => {
  const f = legacyImageFields(base);
  assert.equal(f.Container, '');
  assert.equal(f.ContainerConfig.Volumes, null);
  assert.equal(f.ContainerConfig.Cmd, null);
  assert.equal(f.ContainerConfig.Hostname, '');
  assert.equal(f.ContainerConfig.Tty, false);
  assert.equal(Object.keys(f.ContainerConfig).length, 17);
});

test('a legacy build image shows its container and container_config, zero values filling the rest', () => {
  const legacy = { ...base, container: 'abc123', container_config: { Cmd: ['/bin/sh', '-c', '#(nop) CMD ["sh"]'], Volumes: { '/data': {} } } } as ImageConfig;
  const f = legacyImageFields(legacy);
  assert.equal(f.Container, 'abc123');
  assert.deepEqual(f.ContainerConfig.Cmd, ['/bin/sh', '-c', '#(nop) CMD ["sh"]']);
  assert.deepEqual(f.ContainerConfig.Volumes, { '/data': {} });
  assert.equal(f.ContainerConfig.User, '');
});

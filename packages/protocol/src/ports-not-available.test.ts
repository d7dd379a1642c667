import assert from 'node:assert/strict';
import { test } from 'node:test';
import { portsNotAvailable } from './ports-not-available.js';

test('portsNotAvailable: dockerd wording', () => {
  const err = Object.assign(new Error('x'), { code: 'EADDRINUSE' });
  assert.equal(
    portsNotAvailable({ proto: 'tcp', hostIp: '127.0.0.1', hostPort: 8080 }, err),
    'Ports are not available: exposing port TCP 127.0.0.1:8080 -> 127.0.0.1:0: listen tcp 127.0.0.1:8080: bind: address already in use',
  );
});

test('portsNotAvailable: an IPv6 address in brackets, the other reasons, and an unknown one as its message', () => {
  assert.equal(
    portsNotAvailable({ proto: 'udp', hostIp: '::1', hostPort: 53 }, { code: 'EACCES', message: 'x' }),
    'Ports are not available: exposing port UDP [::1]:53 -> ::1:0: listen udp [::1]:53: bind: permission denied',
  );
  assert.match(
    portsNotAvailable({ proto: 'tcp', hostIp: '10.9.9.9', hostPort: 1 }, { code: 'EADDRNOTAVAIL', message: 'x' }),
    /bind: cannot assign requested address$/,
  );
  assert.match(
    portsNotAvailable({ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 1 }, { code: 'EMFILE', message: 'too many open files' }),
    /bind: too many open files$/,
  );
  assert.match(portsNotAvailable({ proto: 'tcp', hostIp: '0.0.0.0', hostPort: 1 }, { code: 'toString', message: 'odd' }), /bind: odd$/);
});

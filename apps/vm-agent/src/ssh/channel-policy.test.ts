import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowStreamLocal, allowTcpDestination } from './channel-policy.js';

test('streamlocal: only the engine socket, by normalised path', () => {
  assert.equal(allowStreamLocal('/run/berth/engine.sock', '/run/berth/engine.sock'), true);
  assert.equal(allowStreamLocal('/run/berth/../berth/engine.sock', '/run/berth/engine.sock'), true);
  assert.equal(allowStreamLocal('/run/berth/other.sock', '/run/berth/engine.sock'), false);
  assert.equal(allowStreamLocal('run/berth/engine.sock', '/run/berth/engine.sock'), false);
  assert.equal(allowStreamLocal('/var/run/docker.sock', '/run/berth/engine.sock'), false);
});

test("tcpip: loopback and the guest's own addresses only", () => {
  const local = new Set(['10.0.2.15', '172.17.0.1', 'fe80::1']);
  assert.equal(allowTcpDestination('127.0.0.1', 80, local), '127.0.0.1');
  assert.equal(allowTcpDestination('127.0.0.2', 80, local), '127.0.0.2');
  assert.equal(allowTcpDestination('localhost', 8080, local), '127.0.0.1');
  assert.equal(allowTcpDestination('::1', 80, local), '::1');
  assert.equal(allowTcpDestination('[::1]', 80, local), '::1');
  assert.equal(allowTcpDestination('::ffff:127.0.0.1', 80, local), '127.0.0.1');
  assert.equal(allowTcpDestination('10.0.2.15', 22, local), '10.0.2.15');
  assert.equal(allowTcpDestination('172.17.0.1', 80, local), '172.17.0.1');
  // containers, the LAN, the internet, names
  assert.equal(allowTcpDestination('172.17.0.2', 80, local), undefined);
  assert.equal(allowTcpDestination('192.168.1.10', 80, local), undefined);
  assert.equal(allowTcpDestination('8.8.8.8', 53, local), undefined);
  assert.equal(allowTcpDestination('example.com', 80, local), undefined);
  assert.equal(allowTcpDestination('::ffff:8.8.8.8', 80, local), undefined);
  // ports
  assert.equal(allowTcpDestination('127.0.0.1', 0, local), undefined);
  assert.equal(allowTcpDestination('127.0.0.1', 65536, local), undefined);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isEngineError } from '../errors.js';
import { containerExtraHosts } from './container-files.js';
import { controlRule, parsePort, parsePortList, portsInListing } from './host-controls.js';

test('a control port is refused with a TCP reset, to the gateway only', () => {
  assert.deepEqual(controlRule('10.0.2.2', 2222), [
    '-d',
    '10.0.2.2/32',
    '-p',
    'tcp',
    '-m',
    'tcp',
    '--dport',
    '2222',
    '-j',
    'REJECT',
    '--reject-with',
    'tcp-reset',
  ]);
});

test("the chain's ports are read back from iptables -S, other chains ignored", () => {
  const listing = [
    '-N BERTH-CTL-abc',
    '-A BERTH-CTL-abc -d 10.0.2.2/32 -p tcp -m tcp --dport 40123 -j REJECT --reject-with tcp-reset',
    '-A BERTH-CTL-abc -d 10.0.2.2/32 -p tcp -m tcp --dport 2222 -j REJECT --reject-with tcp-reset',
    '-A BERTH-CTL-abcd -d 10.0.2.2/32 -p tcp -m tcp --dport 9 -j REJECT --reject-with tcp-reset',
  ].join('\n');
  assert.deepEqual(portsInListing(listing, 'BERTH-CTL-abc'), [2222, 40123]);
  assert.deepEqual(portsInListing('-N BERTH-CTL-abc\n', 'BERTH-CTL-abc'), []);
});

test('ports are whole numbers 1-65535; anything else is a 400 naming the flag', () => {
  assert.deepEqual(parsePortList('2222,4444'), [2222, 4444]);
  assert.deepEqual(parsePortList(''), []);
  assert.equal(parsePort('65535', 'the port'), 65535);
  for (const bad of ['0', '65536', '-1', '22a', '1e3', ' ', '123456']) {
    assert.throws(
      () => parsePort(bad, 'the port'),
      (e: unknown) => isEngineError(e, 'invalid-parameter') && /the port must be a TCP port \(1-65535\)/.test((e as Error).message),
      bad,
    );
  }
  assert.throws(() => parsePortList('2222,x'), /--host-controls must be a TCP port/);
});

test('in a VM every container gets host.docker.internal, and host-gateway means the host', () => {
  assert.deepEqual(containerExtraHosts([], '172.17.0.1', '10.0.2.2'), [{ address: '10.0.2.2', names: ['host.docker.internal'] }]);
  assert.deepEqual(containerExtraHosts(['db:host-gateway'], '172.17.0.1', '10.0.2.2'), [
    { address: '10.0.2.2', names: ['db'] },
    { address: '10.0.2.2', names: ['host.docker.internal'] },
  ]);
  // The user's own entry wins: ours is not added beside it.
  assert.deepEqual(containerExtraHosts(['host.docker.internal:192.0.2.7'], '172.17.0.1', '10.0.2.2'), [
    { address: '192.0.2.7', names: ['host.docker.internal'] },
  ]);
  // Natively: dockerd's meaning (the bridge's gateway), no extra name.
  assert.deepEqual(containerExtraHosts(['db:host-gateway'], '172.17.0.1'), [{ address: '172.17.0.1', names: ['db'] }]);
});

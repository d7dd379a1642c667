import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bindingKey, desiredBindings, planListeners, requestedBindings, startedContainer, type HostBinding } from './port-bindings.js';

const b = (containerId: string, hostPort: number, hostIp = '127.0.0.1', proto: 'tcp' | 'udp' = 'tcp'): HostBinding => ({
  proto,
  hostIp,
  hostPort,
  containerId,
});
const map = (...list: HostBinding[]) => new Map(list.map((x) => [bindingKey(x), x]));

test('desiredBindings: published ports only; :: beside 0.0.0.0 is one listener', () => {
  const got = desiredBindings([
    {
      Id: 'a',
      Ports: [
        { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
        { IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
        { PrivatePort: 443, Type: 'tcp' },
      ],
    },
    {
      Id: 'b',
      Ports: [
        { IP: '127.0.0.1', PrivatePort: 53, PublicPort: 5353, Type: 'udp' },
        { IP: '::', PrivatePort: 9, PublicPort: 9009, Type: 'tcp' },
      ],
    },
    { Id: 'c' },
  ]);
  assert.deepEqual(got.map(bindingKey).sort(), ['tcp/0.0.0.0/8080', 'tcp/::/9009', 'udp/127.0.0.1/5353']);
  assert.equal(got.find((x) => x.hostPort === 5353)!.containerId, 'b');
});

test('planListeners: adds new, removes gone, replaces a port that moved to another container, keeps reserved', () => {
  const current = map(b('a', 1), b('a', 2), b('old', 3), b('x', 4));
  const plan = planListeners(current, [b('a', 1), b('new', 3), b('a', 5)], new Set([bindingKey(b('x', 4))]));
  assert.deepEqual(plan.remove.sort(), ['tcp/127.0.0.1/2', 'tcp/127.0.0.1/3']);
  assert.deepEqual(plan.add.map(bindingKey).sort(), ['tcp/127.0.0.1/3', 'tcp/127.0.0.1/5']);
  assert.deepEqual(planListeners(current, [...current.values()]), { add: [], remove: [] });
  assert.deepEqual(planListeners(new Map(), []), { add: [], remove: [] });
});

test('requestedBindings: fixed host ports of HostConfig.PortBindings', () => {
  const got = requestedBindings('id', {
    '80/tcp': [
      { HostIp: '', HostPort: '8080' },
      { HostIp: '127.0.0.1', HostPort: '8081' },
    ],
    '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5353' }],
    '443/tcp': [{ HostIp: '', HostPort: '' }],
    '90/tcp': [{ HostPort: '9000-9010' }],
    '1/sctp': [{ HostPort: '7' }],
    '2/tcp': null,
  });
  assert.deepEqual(got.map(bindingKey), ['tcp/0.0.0.0/8080', 'tcp/127.0.0.1/8081', 'udp/127.0.0.1/5353']);
  assert.deepEqual(requestedBindings('id', null), []);
});

test('startedContainer: POST /containers/ID/start, with or without a version', () => {
  assert.equal(startedContainer('POST', '/v1.47/containers/abc/start'), 'abc');
  assert.equal(startedContainer('POST', '/containers/my%20name/start?detachKeys=x'), 'my name');
  assert.equal(startedContainer('POST', '/v1.47/containers/abc/stop'), undefined);
  assert.equal(startedContainer('GET', '/containers/abc/start'), undefined);
  assert.equal(startedContainer('POST', '/containers/abc/start/x'), undefined);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSubnet } from './cidr.js';
import { DEFAULT_POOLS, Ipam } from './ipam.js';

async function withIpam(fn: (ipam: Ipam, file: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-ipam-'));
  try {
    await fn(await Ipam.open(join(dir, 'ipam.json')), join(dir, 'ipam.json'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('repickPool moves an empty network off a subnet taken meanwhile, and the move is saved', () =>
  withIpam(async (ipam, file) => {
    assert.equal((await ipam.requestPool('a', {})).subnet, '172.17.0.0/16');
    const moved = await ipam.repickPool('a', [parseSubnet('172.17.0.0/16'), parseSubnet('172.18.0.0/16')]);
    assert.deepEqual([moved.subnet, moved.gateway], ['172.19.0.0/16', '172.19.0.1']);
    assert.equal((await Ipam.open(file)).pool('a')?.subnet, '172.19.0.0/16');
    // Another network now gets the freed default.
    assert.equal((await ipam.requestPool('b', {})).subnet, '172.17.0.0/16');
  }));

test('repickPool refuses a network with addresses in use, and keeps the old pool when nothing is free', () =>
  withIpam(async (ipam) => {
    await ipam.requestPool('a', {});
    await ipam.requestAddress('a', 'c1');
    await assert.rejects(ipam.repickPool('a', []), /has addresses in use: its subnet cannot change/);
    await ipam.releaseAddress('a', '172.17.0.2');
    await assert.rejects(ipam.repickPool('a', DEFAULT_POOLS), /could not find an available, non-overlapping IPv4 address pool/);
    assert.equal(ipam.pool('a')?.subnet, '172.17.0.0/16');
  }));

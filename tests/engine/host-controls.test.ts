/**
 * The host-controls chain on this machine's real packet filter. The "host
 * gateway" is 127.0.0.9 (loopback, so the OUTPUT jump applies to this test's
 * own dials, as it does to a host-network container's in the VM): a listener
 * there is reached, refused with a reset once its port is added, and reached
 * again once removed. The FORWARD jump is put back in front after another
 * chain takes the first place, as a bridge network's does.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import { isEngineError } from '../../apps/vm-agent/src/errors.js';
import { HostControls } from '../../apps/vm-agent/src/network/host-controls.js';

const GATEWAY = '127.0.0.9';
const tag = randomBytes(4).toString('hex');
const controls = new HostControls(tag, GATEWAY);
const other = `BERTH-TEST-${tag}`;
const servers: Server[] = [];
const ipt = (...args: string[]) => execFileSync('iptables', ['-w', ...args], { encoding: 'utf8' });
const quietly = (...args: string[]) => {
  try {
    ipt(...args);
  } catch {
    // already gone
  }
};

async function listener(): Promise<number> {
  const s = createServer((c) => c.end('hello'));
  servers.push(s);
  await new Promise<void>((resolve) => s.listen(0, GATEWAY, resolve));
  return (s.address() as { port: number }).port;
}

/** 'ok' when the listener answered, else the error code (ECONNREFUSED for the reset). */
function dial(port: number): Promise<string> {
  return new Promise((resolve) => {
    const c = connect(port, GATEWAY);
    c.setTimeout(3000, () => {
      c.destroy();
      resolve('timeout');
    });
    c.once('data', () => {
      c.destroy();
      resolve('ok');
    });
    c.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

let fixed: number;
let dashboard: number;

before(async () => {
  fixed = await listener();
  dashboard = await listener();
});

after(() => {
  for (const s of servers) s.close();
  quietly('-D', 'OUTPUT', '-j', controls.chain);
  quietly('-D', 'FORWARD', '-j', controls.chain);
  quietly('-D', 'FORWARD', '-j', other);
  for (const chain of [controls.chain, other]) {
    quietly('-F', chain);
    quietly('-X', chain);
  }
});

test('the ports given at start are refused from the start and stay refused', async () => {
  assert.equal(await dial(fixed), 'ok');
  await controls.init([fixed]);
  assert.equal(await dial(fixed), 'ECONNREFUSED');
  assert.deepEqual(await controls.ports(), [fixed]);
  await assert.rejects(controls.remove(fixed), (e: unknown) => isEngineError(e, 'forbidden') && /stays refused/.test((e as Error).message));
  assert.equal(await dial(fixed), 'ECONNREFUSED');
  // Init again (an agent restart) changes nothing.
  await controls.init([fixed]);
  assert.equal(
    ipt('-S', controls.chain)
      .split('\n')
      .filter((l) => l.startsWith('-A ')).length,
    1,
  );
});

test("a dashboard's port is refused while it is added, and only that port", async () => {
  assert.equal(await dial(dashboard), 'ok');
  await controls.add(dashboard);
  await controls.add(dashboard);
  assert.equal(await dial(dashboard), 'ECONNREFUSED');
  assert.deepEqual(
    await controls.ports(),
    [fixed, dashboard].sort((a, b) => a - b),
  );
  await controls.remove(dashboard);
  assert.equal(await dial(dashboard), 'ok');
  assert.equal(await dial(fixed), 'ECONNREFUSED');
});

test('the FORWARD jump goes back in front of a chain inserted before it', async () => {
  const firstRule = () =>
    ipt('-S', 'FORWARD')
      .split('\n')
      .find((l) => l.startsWith('-A FORWARD '));
  assert.equal(firstRule(), `-A FORWARD -j ${controls.chain}`);
  ipt('-N', other);
  ipt('-I', 'FORWARD', '1', '-j', other);
  assert.equal(firstRule(), `-A FORWARD -j ${other}`);
  await controls.jumpFirst();
  assert.equal(firstRule(), `-A FORWARD -j ${controls.chain}`);
  assert.equal(
    ipt('-S', 'FORWARD')
      .split('\n')
      .filter((l) => l === `-A FORWARD -j ${controls.chain}`).length,
    1,
  );
});

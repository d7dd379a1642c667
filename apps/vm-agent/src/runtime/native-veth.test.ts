// vethAttach and linkDelete (native/src/veth.c) against the real kernel: a
// bridge of the test's own and a process in a new network namespace stand in
// for a network and a container. Needs root (CAP_NET_ADMIN, setns).
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { test, type TestContext } from 'node:test';

import { isNativeError, linkDelete, vethAttach } from './native.js';

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });

interface Link {
  ifname: string;
  address?: string;
  mtu: number;
  flags: string[];
  master?: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/** The links of a process's network namespace, as `ip -j addr` shows them. */
function linksIn(pid: number): Link[] {
  return JSON.parse(execFileSync('nsenter', ['-t', String(pid), '-n', 'ip', '-j', 'addr'], { encoding: 'utf8' })) as Link[];
}

/** Nothing was made in the namespace of `pid`: it has its loopback only. */
function assertOnlyLoopback(pid: number): void {
  assert.deepEqual(
    linksIn(pid).map((l) => l.ifname),
    ['lo'],
  );
}

function hostLink(name: string): Link | undefined {
  return existsSync(`/sys/class/net/${name}`) ? (JSON.parse(ip('-j', 'link', 'show', 'dev', name)) as Link[])[0] : undefined;
}

/** A bridge, up, removed after the test. */
function bridge(t: TestContext): string {
  const name = `btest${randomBytes(3).toString('hex')}`;
  ip('link', 'add', 'name', name, 'type', 'bridge');
  ip('link', 'set', 'dev', name, 'up');
  t.after(() => ip('link', 'del', 'dev', name));
  return name;
}

/** A process in a network namespace of its own; killed after the test. */
async function namespaced(t: TestContext): Promise<ChildProcess & { pid: number }> {
  const child = spawn('unshare', ['--net', 'sleep', '60'], { stdio: 'ignore' });
  t.after(() => child.kill('SIGKILL'));
  // unshare execs sleep once the namespace is made: wait for that.
  for (let i = 0; i < 200; i++) {
    const ns = (() => {
      try {
        return execFileSync('readlink', [`/proc/${child.pid}/ns/net`, `/proc/self/ns/net`], { encoding: 'utf8' }).split('\n');
      } catch {
        return [];
      }
    })();
    if (ns[0] && ns[0] !== ns[1]) return child as ChildProcess & { pid: number };
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('unshare --net did not make a namespace');
}

const vethName = () => `vtest${randomBytes(3).toString('hex')}`;
const peer = (pid: number) => ({ pid, ifName: 'eth0', mac: '02:42:ac:11:00:07', address: '10.231.0.7', prefix: 24, gateway: '10.231.0.1' });

test('vethAttach plugs a namespace into a bridge; linkDelete unplugs it, and says when there was nothing', async (t) => {
  const br = bridge(t);
  const child = await namespaced(t);
  const hostIf = vethName();
  await vethAttach(hostIf, br, 1400, peer(child.pid));

  const host = hostLink(hostIf);
  assert.equal(host?.master, br);
  assert.equal(host?.mtu, 1400);
  assert.ok(host?.flags.includes('UP'), `host end up: ${host?.flags.join(',')}`);
  const onHost = JSON.parse(ip('-j', 'link', 'show')) as Link[];
  assert.equal(
    onHost.find((l) => l.address === '02:42:ac:11:00:07'),
    undefined,
    'the peer never appears on the host',
  );

  const eth0 = linksIn(child.pid).find((l) => l.ifname === 'eth0');
  assert.equal(eth0?.address, '02:42:ac:11:00:07');
  assert.equal(eth0?.mtu, 1400);
  assert.ok(eth0?.flags.includes('UP'));
  assert.deepEqual(
    eth0?.addr_info?.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
    ['10.231.0.7/24'],
  );
  const routes = execFileSync('nsenter', ['-t', String(child.pid), '-n', 'ip', 'route', 'show', 'default'], { encoding: 'utf8' });
  assert.match(routes, /^default via 10\.231\.0\.1 dev eth0\b/);

  assert.equal(await linkDelete(hostIf), true);
  assert.equal(hostLink(hostIf), undefined);
  assert.equal(
    linksIn(child.pid).find((l) => l.ifname === 'eth0'),
    undefined,
    'the peer went with it',
  );
  assert.equal(await linkDelete(hostIf), false);
});

test('a taken host name fails with "File exists" and makes nothing; the existing link is untouched', async (t) => {
  const br = bridge(t);
  const child = await namespaced(t);
  const taken = vethName();
  ip('link', 'add', 'name', taken, 'type', 'bridge');
  t.after(() => ip('link', 'del', 'dev', taken));
  await assert.rejects(
    vethAttach(taken, br, 1500, peer(child.pid)),
    (err: unknown) => isNativeError(err) && err.code === 'EEXIST' && /File exists$/.test(err.message) && err.message.includes(taken),
  );
  assert.equal(hostLink(taken)?.master, undefined, 'the taken link is not moved onto the bridge');
  assertOnlyLoopback(child.pid);
});

test('a name taken inside the namespace fails with "File exists" and leaves no host end', async (t) => {
  const br = bridge(t);
  const child = await namespaced(t);
  execFileSync('nsenter', ['-t', String(child.pid), '-n', 'ip', 'link', 'add', 'name', 'eth0', 'type', 'bridge']);
  const hostIf = vethName();
  await assert.rejects(vethAttach(hostIf, br, 1500, peer(child.pid)), (err: unknown) => isNativeError(err) && err.code === 'EEXIST');
  assert.equal(hostLink(hostIf), undefined);
});

test('a failure inside the namespace deletes the pair it made', async (t) => {
  const br = bridge(t);
  const child = await namespaced(t);
  const hostIf = vethName();
  // A gateway outside the address's subnet: the route is refused after the pair exists.
  await assert.rejects(
    vethAttach(hostIf, br, 1500, { ...peer(child.pid), gateway: '192.0.2.1' }),
    (err: unknown) => isNativeError(err) && err.code === 'ENETUNREACH' && err.message.includes('default route via 192.0.2.1'),
  );
  assert.equal(hostLink(hostIf), undefined);
  assertOnlyLoopback(child.pid);
});

test('a container whose namespace is gone: ENOENT naming the pid, nothing made', async (t) => {
  const br = bridge(t);
  const child = await namespaced(t);
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  const hostIf = vethName();
  await assert.rejects(
    vethAttach(hostIf, br, 1500, peer(child.pid)),
    (err: unknown) => isNativeError(err) && err.code === 'ENOENT' && err.message.includes(`/proc/${child.pid}/ns/net`),
  );
  assert.equal(hostLink(hostIf), undefined);
});

test('bad input is a TypeError before anything is made', async (t) => {
  const br = bridge(t);
  const p = peer(process.pid);
  assert.throws(() => vethAttach('a-name-far-too-long', br, 1500, p), TypeError);
  assert.throws(() => vethAttach('v/x', br, 1500, p), TypeError);
  assert.throws(() => vethAttach(vethName(), br, 1500, { ...p, mac: '02:42:ac:11:00' }), TypeError);
  assert.throws(() => vethAttach(vethName(), br, 1500, { ...p, address: '10.0.0.300' }), TypeError);
  assert.throws(() => vethAttach(vethName(), br, 1500, { ...p, prefix: 33 }), TypeError);
  assert.throws(() => linkDelete(''), TypeError);
});

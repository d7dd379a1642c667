/**
 * Security options over the docker CLI, as the process in the container
 * sees them (/proc/self/status): --cap-drop/--cap-add in dockerd's rules,
 * --security-opt no-new-privileges (also for docker exec), and a 400 naming
 * the field for what Berth does not apply yet, so nothing is stored and
 * then ignored (the namespace fields: namespaces.test.ts).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();
const run = randomBytes(3).toString('hex');

after(async () => {
  await fx.docker?.run(['rm', '-f', `nnp-${run}`]);
});

/** The status lines of the container's own process: CapBnd, CapEff, NoNewPrivs. */
async function status(args: string[]): Promise<Record<string, string>> {
  const r = await fx.docker.ok(['run', '--rm', ...args, fx.image, 'cat', '/proc/self/status']);
  return Object.fromEntries(
    out(r)
      .split('\n')
      .map((l) => l.split(':\t'))
      .filter((p) => p.length === 2)
      .map(([k, v]) => [k!, v!.trim()]),
  );
}
const bits = (hex: string) => BigInt(`0x${hex}`);
const DEFAULT_SET = 0xa80425fbn; // moby's default capabilities, as CapEff of root in a dockerd container

describe('security options', () => {
  test('the default set, --cap-drop ALL, --cap-drop with --cap-add (with and without CAP_)', async () => {
    const def = await status([]);
    assert.equal(bits(def.CapBnd!), DEFAULT_SET);
    assert.equal(bits(def.CapEff!), DEFAULT_SET);
    assert.equal(def.NoNewPrivs, '0');

    const none = await status(['--cap-drop', 'ALL']);
    assert.equal(bits(none.CapBnd!), 0n);
    assert.equal(bits(none.CapEff!), 0n);

    const some = await status(['--cap-drop', 'all', '--cap-add', 'cap_net_admin', '--cap-add', 'CHOWN']);
    assert.equal(bits(some.CapBnd!), (1n << 12n) | 1n);

    const more = await status(['--cap-add', 'SYS_ADMIN', '--cap-drop', 'NET_RAW']);
    assert.equal(bits(more.CapBnd!), (DEFAULT_SET | (1n << 21n)) & ~(1n << 13n));
  });

  test('--security-opt no-new-privileges reaches the process and its docker exec', async () => {
    assert.equal((await status(['--security-opt', 'no-new-privileges'])).NoNewPrivs, '1');
    assert.equal((await status(['--security-opt', 'no-new-privileges=false'])).NoNewPrivs, '0');
    const d = fx.docker;
    await d.ok(['run', '-d', '--name', `nnp-${run}`, '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges:true', fx.image, 'sleep', '300']);
    const r = out(await d.ok(['exec', `nnp-${run}`, 'grep', '-E', '^(CapBnd|NoNewPrivs)', '/proc/self/status']));
    assert.match(r, /CapBnd:\s+0000000000000000/);
    assert.match(r, /NoNewPrivs:\s+1/);
  });

  test('bad values and what Berth does not apply yet are a 400 that names them, and no container is left', async () => {
    const d = fx.docker;
    const refusals: [string[], RegExp][] = [
      [['--cap-add', 'FLY'], /invalid CapAdd: unknown capability: "CAP_FLY"/],
      [['--security-opt', 'no-new-privileges=maybe'], /invalid --security-opt 2: "no-new-privileges=maybe"/],
      [['--security-opt', 'apparmor=docker-default'], /no AppArmor/],
      // --privileged, --device and --device-cgroup-rule are applied now: devices.test.ts
      [['--device', '/dev/nope'], /error gathering device information while adding custom device "\/dev\/nope"/],
      // --pid, --ipc, --uts, --sysctl, --oom-score-adj, --group-add are applied (namespaces.test.ts); their bad values are refused
      [['--pid', `container:nosuch-${run}`], new RegExp(`No such container: nosuch-${run}`)],
      [['--network', 'host', '--sysctl', 'net.ipv4.ip_forward=1'], /sysctl "net\.ipv4\.ip_forward" not allowed in host network namespace/],
    ];
    const before = out(await d.ok(['ps', '-aq']))
      .split('\n')
      .filter(Boolean).length;
    for (const [args, message] of refusals) {
      const r = await d.run(['run', '--rm', ...args, fx.image, 'true']);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
    }
    assert.equal(
      out(await d.ok(['ps', '-aq']))
        .split('\n')
        .filter(Boolean).length,
      before,
    );
    const exec = await d.run(['run', '-d', '--name', `nnp-${run}-x`, fx.image, 'sleep', '30']);
    assert.equal(exec.code, 0, exec.stderr);
    try {
      // applied now (devices.test.ts): every capability for the process
      const r = await d.run(['exec', '--privileged', `nnp-${run}-x`, 'grep', '^CapEff', '/proc/self/status']);
      assert.equal(r.code, 0, r.stderr);
      assert.notEqual(BigInt(`0x${r.stdout.split(/\s+/)[1]}`) & ~DEFAULT_SET, 0n, r.stdout);
    } finally {
      await d.run(['rm', '-f', `nnp-${run}-x`]);
    }
  });
});

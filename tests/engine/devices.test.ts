/**
 * --device, --device-cgroup-rule and --privileged through the docker CLI,
 * as the process in the container sees them: the node and its numbers, what
 * the device cgroup lets it open (EPERM otherwise), the capabilities and
 * seccomp state in /proc/self/status, the masks in /proc/self/mountinfo,
 * and the 400s for what dockerd refuses. On this machine the agent's
 * cgroups are v1 (devices.allow); the VM suite runs the v2 filter.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { engineRequest } from '../helpers/docker.js';
import { out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();
const run = randomBytes(3).toString('hex');

after(async () => {
  await fx.docker?.run(['rm', '-f', `priv-${run}`]);
});

/** `sh -c script` in a fresh container; stdout and stderr together, and the exit code. */
async function sh(args: string[], script: string): Promise<{ code: number; text: string }> {
  const r = await fx.docker.run(['run', '--rm', ...args, fx.image, 'sh', '-c', script]);
  return { code: r.code ?? -1, text: `${r.stdout}${r.stderr}` };
}

/** This machine's bounding set: all a privileged container can get. */
const agentBounding = () => BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]}`);

describe('devices', () => {
  test('--device /dev/zero:/dev/z is a readable 1:5 node; :r cannot be opened for writing (EPERM from the cgroup)', async () => {
    const z = await sh(['--device', '/dev/zero:/dev/z'], 'stat -c "%t:%T %F %a" /dev/z && head -c 4 /dev/z | wc -c');
    assert.equal(z.code, 0, z.text);
    assert.match(z.text, /^1:5 character special file 666\n4\n$/);

    // Not /dev/null: runc's default rules open 1:3 rwm to every container, whatever --device says. /dev/fuse
    // is outside them, and opening it for writing does nothing by itself.
    const open = 'exec 3</dev/f && echo read-open; exec 4>/dev/f && echo write-open';
    const f = await sh(['--device', '/dev/fuse:/dev/f:r'], open);
    assert.match(f.text, /read-open/, f.text);
    assert.doesNotMatch(f.text, /write-open/);
    assert.match(f.text, /Operation not permitted/);
    assert.match((await sh(['--device', '/dev/fuse:/dev/f:rw'], open)).text, /read-open\nwrite-open/, 'rw opens it (the assertion above can fail)');
    assert.doesNotMatch((await sh([], 'busybox mknod /dev/f c 10 229 && ' + open)).text, /read-open/, 'without --device it cannot be opened');
  });

  test('mknod c 10:229 then opening it: EPERM without a rule, works with --device-cgroup-rule', async () => {
    // Not c 1:3 (/dev/null): runc's default rules open it to every container. /dev/fuse's numbers are outside
    // them, and opening it does nothing by itself. In the /dev tmpfs: the rootfs is mounted nodev.
    const inDev = 'busybox mknod /dev/myfuse c 10 229 && echo made && exec 3<>/dev/myfuse && echo opened';
    const without = await sh([], inDev);
    assert.match(without.text, /made/, 'mknod of any node is allowed by default, as in Docker');
    assert.doesNotMatch(without.text, /opened/);
    assert.match(without.text, /Operation not permitted/);
    const withRule = await sh(['--device-cgroup-rule', 'c 10:229 rwm'], inDev);
    assert.equal(withRule.code, 0, withRule.text);
    assert.match(withRule.text, /made\nopened/);
    // a rule for another node, or for reading only, does not open it for reading and writing
    for (const rule of ['c 10:228 rwm', 'c 10:229 r', 'b 10:229 rwm'])
      assert.doesNotMatch((await sh(['--device-cgroup-rule', rule], inDev)).text, /opened/, rule);
    // the `a` type with numbers is that node of either type, not everything (v1 reads a bare `a` as all)
    const vcs = `${inDev} && busybox mknod /dev/v c 7 0 && exec 5</dev/v && echo vcs-opened`;
    const typeA = await sh(['--device-cgroup-rule', 'a 10:229 rw'], vcs);
    assert.match(typeA.text, /opened\n.*can't open \/dev\/v: Operation not permitted/s);
    assert.doesNotMatch(typeA.text, /vcs-opened/);
    assert.match((await sh(['--device-cgroup-rule', 'a 10:229 rw', '--device-cgroup-rule', 'c 7:0 r'], vcs)).text, /vcs-opened/, 'the control');
  });

  test("--privileged: every capability, no seccomp, no masks, writable /sys, the machine's devices", async () => {
    const status = await sh(['--privileged', '--cap-drop', 'NET_ADMIN'], 'grep -E "^(CapBnd|CapEff|Seccomp):" /proc/self/status');
    const caps = Object.fromEntries(
      status.text
        .trim()
        .split('\n')
        .map((l) => l.split(/:\s+/)),
    );
    assert.equal(BigInt(`0x${caps.CapBnd}`), agentBounding(), 'all the agent holds, --cap-drop moot as in dockerd');
    assert.equal(BigInt(`0x${caps.CapEff}`), agentBounding());
    assert.equal(caps.Seccomp, '0');

    // masked: a tmpfs or /dev/null over /proc/kcore (where the kernel has it), /proc/keys, /sys/firmware; read-only: /proc/sys
    const masks = / \/(proc\/kcore|proc\/keys|proc\/interrupts|sys\/firmware|proc\/sys) /g;
    const mounts = await sh(['--privileged'], 'cat /proc/self/mountinfo');
    assert.deepEqual(mounts.text.match(masks), null, mounts.text);
    assert.match(mounts.text, / \/sys rw,.* - sysfs /);
    const plain = await sh([], 'cat /proc/self/mountinfo');
    assert.ok((plain.text.match(masks) ?? []).length >= 4, 'a default container has them (the assertion above can fail)');
    assert.match(plain.text, / \/sys ro,.* - sysfs /);

    // every char and block node of this machine's /dev, with its numbers and mode
    const list = await sh(['--privileged'], 'cd /dev && for f in $(find . -type c -o -type b); do stat -c "%n %t:%T %a %u:%g" $f; done');
    const seen = new Set(list.text.trim().split('\n'));
    const want = execFileSync(
      'sh',
      [
        '-c',
        'cd /dev && for f in $(find . -path ./pts -prune -o -path ./shm -prune -o -path ./mqueue -prune -o \\( -type c -o -type b \\) -print); do stat -c "%n %t:%T %a %u:%g" $f; done',
      ],
      { encoding: 'utf8' },
    )
      .trim()
      .split('\n')
      .filter((l) => !/^\.\/(console|ptmx) /.test(l));
    assert.ok(want.length > 5);
    for (const line of want) assert.ok(seen.has(line), `${line} in the privileged container's /dev`);
    const defaults = await sh([], 'ls /dev');
    assert.ok(
      want.some((l) => !defaults.text.includes(l.split(' ')[0]!.slice(2))),
      'the default /dev lacks some of them',
    );

    // with a terminal: /dev/console is the container's pty (the machine's console is never copied)
    const tty = await fx.docker.run(['run', '--rm', '-t', '--privileged', fx.image, 'sh', '-c', 'tty; stat -c "%t:%T" /dev/console /dev/pts/0']);
    assert.equal(tty.code, 0, tty.stderr);
    const [ttyName, consoleNums, ptsNums] = tty.stdout.trim().split(/\r?\n/);
    assert.equal(ttyName, '/dev/pts/0');
    assert.equal(consoleNums, ptsNums);

    // the device cgroup is open: a node made for a device outside runc's list opens
    const open = await sh(['--privileged'], 'busybox mknod /dev/k2 c 1 11 && exec 3</dev/k2 && echo opened');
    assert.match(open.text, /opened/, open.text);
    // and /sys is writable: its value written back, so the machine is left as it was
    const rewrite = 'v=$(cat /sys/kernel/mm/ksm/run) && echo "$v" > /sys/kernel/mm/ksm/run && echo rewrote';
    assert.match((await sh(['--privileged'], rewrite)).text, /rewrote/);
    assert.match((await sh(['--cap-add', 'ALL'], rewrite)).text, /Read-only file system/, 'not without --privileged, whatever the capabilities');
  });

  test('docker exec --privileged: every capability; the container keeps its seccomp filter, as runc does', async () => {
    const d = fx.docker;
    await d.ok(['run', '-d', '--name', `priv-${run}`, '--cap-drop', 'ALL', fx.image, 'sleep', '300']);
    const plain = out(await d.ok(['exec', `priv-${run}`, 'grep', '-E', '^(CapEff|Seccomp):', '/proc/self/status']));
    assert.match(plain, /CapEff:\s+0000000000000000/);
    const priv = out(await d.ok(['exec', '--privileged', `priv-${run}`, 'grep', '-E', '^(CapEff|Seccomp):', '/proc/self/status']));
    assert.equal(BigInt(`0x${/CapEff:\s+([0-9a-f]+)/.exec(priv)![1]}`), agentBounding());
    assert.match(priv, /Seccomp:\s+2/);
    const inspect = await d.ok(['inspect', '--format', '{{json .ExecIDs}}', `priv-${run}`]);
    assert.equal((JSON.parse(inspect.stdout) as string[]).length, 2);
  });

  test('what dockerd refuses is a 400 in its words, and no container is left', async () => {
    const d = fx.docker;
    const before = out(await d.ok(['ps', '-aq']))
      .split('\n')
      .filter(Boolean).length;
    const refusals: [string[], RegExp][] = [
      [['--device', '/dev/nope'], /error gathering device information while adding custom device "\/dev\/nope": no such file or directory/],
      [['--device', '/etc/hostname:/dev/h'], /adding custom device "\/etc\/hostname": not a device node/],
      [['--device-cgroup-rule', 'c 99999999999999999999:1 rwm'], /invalid major value in device cgroup rule format: 'c 99999999999999999999:1 rwm'/],
    ];
    for (const [args, message] of refusals) {
      const r = await d.run(['create', ...args, fx.image, 'true']);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
    }
    // the CLI checks modes and the rule format itself; the API answers a 400 too
    const api: [object, RegExp][] = [
      [{ Devices: [{ PathOnHost: '/dev/zero', PathInContainer: '/dev/z', CgroupPermissions: 'rwx' }] }, /^invalid device mode: rwx/],
      [{ DeviceCgroupRules: ['c 1:3'] }, /^invalid device cgroup rule format: 'c 1:3'$/],
    ];
    for (const [hostConfig, message] of api) {
      const res = await engineRequest(fx.agent.current.socket, 'POST', '/containers/create', {
        body: { Image: fx.image, Cmd: ['true'], HostConfig: hostConfig },
      });
      assert.equal(res.status, 400);
      assert.match(res.json<{ message: string }>().message, message);
    }
    assert.equal(
      out(await d.ok(['ps', '-aq']))
        .split('\n')
        .filter(Boolean).length,
      before,
    );
  });
});

// Boots the real guest image under QEMU (TCG where no usable accelerator:
// the whole boot takes about 10 s here) and reads what init reports on the
// serial console. Uses the real agent bundle when it is built, else a
// stand-in written into this test's temp dir.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ssh2 from 'ssh2';
import { promisify } from 'node:util';
import { defaultAccelerator, hostOs } from '../../apps/main/src/vm/accel.js';
import { QemuVm, type QemuVmOptions, type VmStarted } from '../../apps/main/src/vm/qemu-vm.js';

const execFileP = promisify(execFile);
const repo = path.resolve(fileURLToPath(import.meta.url), '../../..');
const buildScript = path.join(repo, 'resources/vm/build.mjs');
const realAgent = fs.existsSync(path.join(repo, 'apps/vm-agent/dist/main.cjs'));
// init passes --ssh-listen/--ssh-authorized-key only when it was given a key;
// an agent bundle from before the SSH server would refuse them, so such a
// bundle boots without a key (the stand-in takes any flags).
const agentTakesSsh = !realAgent || fs.readFileSync(path.join(repo, 'apps/vm-agent/dist/agent.cjs'), 'utf8').includes('ssh-listen');
const TEST_KEY = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'test@berth' }).public;

/** Answers on the engine socket and exits on SIGTERM: enough for init to supervise. */
const STAND_IN_AGENT = `
const net = require('node:net');
const args = process.argv.slice(2);
const sock = args[args.indexOf('--host') + 1].replace('unix://', '');
const server = net.createServer((c) => c.end('stand-in\\n')).listen(sock, () => console.log('stand-in agent: up, ' + args.join(' ')));
process.on('SIGTERM', () => { console.log('stand-in agent: SIGTERM'); server.close(); process.exit(0); });
`;

/**
 * The agent the image gets: the real bundle when built, else a stand-in.
 * Copied into the test's dir first, so both builds of the reproducibility
 * check see the same bytes even if someone rebuilds dist/ meanwhile.
 */
function stageAgent(work: string): string {
  const dir = path.join(work, 'agent');
  fs.mkdirSync(dir, { recursive: true });
  if (realAgent) {
    for (const f of ['main.cjs', 'agent.cjs', 'berth_native.node', 'berth-shim']) {
      const src = path.join(repo, 'apps/vm-agent/dist', f);
      if (fs.existsSync(src)) fs.copyFileSync(src, path.join(dir, f));
    }
  } else {
    fs.writeFileSync(path.join(dir, 'main.cjs'), STAND_IN_AGENT);
  }
  return dir;
}

async function build(agentDir: string, out: string): Promise<string> {
  await execFileP(process.execPath, [buildScript, '--out', out, '--agent', agentDir], { cwd: repo, maxBuffer: 16 << 20 });
  const hash = createHash('sha256');
  for (const f of ['vmlinuz', 'initramfs.cpio.gz', 'root.erofs']) hash.update(fs.readFileSync(path.join(out, f)));
  return hash.digest('hex');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Seconds since the guest booted, as init prints it: "berth-init: [5.51] ...". */
function uptimeOf(lines: string[], pattern: RegExp): number {
  const line = lines.find((l) => pattern.test(l));
  assert.ok(line, `no console line matching ${pattern}`);
  const m = /^(?:berth-init: )?\[\s*([\d.]+)\]/.exec(line);
  assert.ok(m, `no uptime in ${line}`);
  return Number(m[1]);
}

describe('VM boot', { timeout: 600_000 }, () => {
  let work: string;
  let agentDir: string;
  let out: string;
  let hash: string;
  let home: string;
  let remembered: VmStarted['accel'];
  let firstDiskId: string;

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-vm-'));
    out = path.join(work, 'out');
    agentDir = stageAgent(work);
    hash = await build(agentDir, out);
    home = path.join(work, 'home dir');
    fs.mkdirSync(home);
  });
  // VMs a failed assertion left running
  const running: QemuVm[] = [];
  after(async () => {
    for (const vm of running) if (vm.running) await vm.stop(10_000);
    fs.rmSync(work, { recursive: true, force: true });
  });

  const boot = async (accel: VmStarted['accel'], extra: Partial<QemuVmOptions> = {}) => {
    const lines: string[] = [];
    const vm = new QemuVm({
      stateDir: path.join(work, 'state'),
      kernel: path.join(out, 'vmlinuz'),
      // what TCG boots (the kernel unpacked, through its PVH entry), as the daemon gives it
      tcgKernel: path.join(out, 'vmlinux'),
      initrd: path.join(out, 'initramfs.cpio.gz'),
      rootDisk: path.join(out, 'root.erofs'),
      accel,
      cpus: 2,
      memoryMiB: 2048,
      diskSizeGiB: 8,
      sshPort: await freePort(),
      share: { hostPath: home, guestPath: home },
      ...(agentTakesSsh ? { authorizedKey: TEST_KEY } : {}),
      onConsoleLine: (l) => lines.push(l),
      ...extra,
    });
    const launched = Date.now();
    const started = await vm.start();
    running.push(vm);
    const firstOutput = (Date.now() - launched) / 1000;
    await vm.waitForConsole(/berth-init: .*agent is listening on \/run\/berth\/engine\.sock/, 180_000);
    const listening = (Date.now() - launched) / 1000;
    return { vm, started, lines, firstOutput, listening };
  };

  it('boots, mounts, formats the data disk, loads modules, starts the agent, and stops cleanly', async (t) => {
    const { vm, started, lines, firstOutput, listening } = await boot(defaultAccelerator(hostOs()));
    remembered = started.accel;
    if (started.fellBack) t.diagnostic(`fell back to TCG: ${started.fellBack.reason}`);
    t.diagnostic(
      `accel ${started.accel}: first console output ${firstOutput.toFixed(1)} s after launch; guest uptime at /init ${uptimeOf(lines, /Run \/init as init process/)} s, ` +
        `agent started ${uptimeOf(lines, /agent started/)} s, agent listening ${uptimeOf(lines, /agent is listening/)} s; host wall time to listening ${listening.toFixed(1)} s`,
    );
    assert.equal(started.disk.created, true);
    const has = (re: RegExp) =>
      assert.ok(
        lines.some((l) => re.test(l)),
        `console has no line matching ${re}:\n${lines.filter((l) => l.startsWith('berth-init')).join('\n')}`,
      );
    has(/berth-init: .*stage 1: root is \/dev\/vd[a-z] \(erofs, read-only\) under a tmpfs overlay/);
    has(/berth-init: .*cgroup2 at \/sys\/fs\/cgroup \(controllers: .*memory.*pids/);
    // the boot's own modules, then container networking's, which load in the background while the agent starts
    await vm.waitForConsole(/berth-init: .*loaded later modules:/, 120_000);
    const modules = lines.filter((l) => /berth-init: .*loaded (later )?modules:/.test(l)).join(' ');
    for (const m of ['overlay', 'veth', 'bridge', 'br_netfilter', 'ext4', 'nf_tables', 'xt_MASQUERADE', '9pnet_virtio']) {
      assert.match(modules, new RegExp(` ${m}( |$)`), `module ${m} not loaded: ${modules}`);
    }
    has(/berth-init: .*network: eth0 10\.0\.2\.15\/24/);
    // The second wall around the agent's SSH server (the REJECT modules are loaded and work).
    has(/berth-init: .*firewall: tcp :22 only from eth0$/);
    has(/berth-init: .*formatted \/dev\/vda/);
    has(new RegExp(`berth-init: .*mounted host share berthhome at ${home.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    if (agentTakesSsh) has(/berth-init: .*authorized key written to \/run\/berth\/authorized_key/);
    else t.diagnostic('the built agent has no --ssh-listen yet: booted without an SSH key');
    t.diagnostic(`agent: ${realAgent ? 'apps/vm-agent/dist' : 'stand-in'}`);
    has(/berth-init: .*agent started \(pid \d+\)/);
    const mounted = lines.find((l) => /mounted \/dev\/vda at \/var\/lib\/berth \(disk id [0-9a-f-]{36}\)/.test(l));
    assert.ok(mounted, 'the data disk was not mounted');
    firstDiskId = /disk id ([0-9a-f-]{36})/.exec(mounted)![1]!;

    assert.ok(!lines.some((l) => /agent exited/.test(l)), `the agent died:\n${lines.filter((l) => /agent/.test(l)).join('\n')}`);
    const exitSeen = new Promise((r) => vm.once('exit', r));
    const stopped = await vm.stop(60_000);
    assert.equal(stopped.clean, true, `the guest did not power off by itself; last lines:\n${vm.lastConsoleLines(15).join('\n')}`);
    assert.deepEqual(await exitSeen, { code: 0, signal: null, expected: true, message: 'QEMU exited (status 0)' });
    has(/berth-init: .*shutting down/);
    has(/berth-init: .*agent stopped/);
    has(/berth-init: .*unmounted \/var\/lib\/berth/);
  });

  it('boots again on the same disk without reformatting it', async () => {
    assert.ok(remembered, 'the first boot did not run');
    const { vm, started, lines } = await boot(remembered);
    try {
      assert.equal(started.disk.created, false);
      assert.equal(started.fellBack, undefined);
      assert.ok(!lines.some((l) => /formatting|formatted/.test(l)), 'the data disk was formatted again');
      const mounted = lines.find((l) => /mounted \/dev\/vda at \/var\/lib\/berth/.test(l)) ?? '';
      assert.match(mounted, new RegExp(`disk id ${firstDiskId}\\)`), 'the marker written on the first boot is gone');
    } finally {
      assert.equal((await vm.stop(60_000)).clean, true);
    }
  });

  it('takes a silent accelerator for stalled and boots with TCG', async (t) => {
    // The real QEMU, with the CPUs held (-S) whenever a hardware accelerator
    // is asked for: the guest prints nothing, as on a nested KVM that hangs.
    // (-cpu host is dropped: some nested KVMs make QEMU abort on it instead;
    // and kvm runs as tcg, held all the same: without /dev/kvm QEMU would exit
    // at once rather than stall.)
    const wrapper = path.join(work, 'qemu-stalls-unless-tcg');
    fs.writeFileSync(
      wrapper,
      [
        '#!/bin/sh',
        'case " $* " in *" tcg,"*) exec qemu-system-x86_64 "$@" ;; esac',
        'for a in "$@"; do shift; [ "$a" = -cpu ] && { skip=1; continue; }; [ -n "$skip" ] && { skip=; continue; }; [ "$a" = kvm ] && a=tcg; set -- "$@" "$a"; done',
        'exec qemu-system-x86_64 -S "$@"',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const { vm, started } = await boot('kvm', { qemuBinary: wrapper, stallTimeoutMs: 4000 });
    try {
      assert.equal(started.accel, 'tcg');
      assert.equal(started.fellBack?.from, 'kvm');
      assert.match(started.fellBack?.reason ?? '', /kvm printed nothing on the console within 4 s/);
      t.diagnostic(started.fellBack!.reason);
    } finally {
      assert.equal((await vm.stop(60_000)).clean, true);
    }
  });

  it('rebuilds the kernel, initramfs and root image byte for byte', async () => {
    const again = await build(agentDir, path.join(work, 'out2'));
    assert.equal(again, hash);
  });
});

// Starts Debian's dockerd (package docker.io) in its own directories, for
// side-by-side benchmarks. No bridge and no iptables rules: the host's network
// is left as it was. Loopback registries need no --insecure-registry.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engineRequest } from '../tests/helpers/docker.ts';
import { unmountUnder } from '../tests/helpers/agent.ts';
import { reap } from '../tests/helpers/reaper.ts';

export const DOCKERD_BIN = process.env.BERTH_DOCKERD_BIN ?? ['/usr/bin/dockerd', '/usr/sbin/dockerd'].find(existsSync);

/**
 * Returns { socket, host, dataRoot, logs(), dispose() } once /_ping answers.
 * `bridge`: an address ("10.199.0.1/24") for a default bridge, so -p works
 * through docker-proxy (still no iptables rules); the bridge is deleted
 * again by dispose(). It is docker0 unless `bridge.name` is given: then that
 * bridge is made here and passed with -b, so two benchmarks running at once
 * do not delete each other's docker0.
 */
export async function startDockerd({ bridge } = {}) {
  if (!DOCKERD_BIN) throw new Error('dockerd not found: apt-get install -y --no-install-recommends docker.io');
  const dir = await mkdtemp(join(tmpdir(), 'berth-bench-dockerd-'));
  const socket = join(dir, 'docker.sock');
  const dataRoot = join(dir, 'data');
  const bridgeName = bridge?.name ?? 'docker0';
  if (bridge?.name) {
    for (const args of [
      ['link', 'add', 'name', bridge.name, 'type', 'bridge'],
      ['addr', 'add', bridge.address, 'dev', bridge.name],
      ['link', 'set', bridge.name, 'up'],
    ]) {
      const code = await new Promise((resolve) => spawn('ip', args, { stdio: 'ignore' }).once('exit', resolve));
      if (code !== 0) throw new Error(`ip ${args.join(' ')} failed: is ${bridge.name} in use by another benchmark?`);
    }
  }
  const child = spawn(
    DOCKERD_BIN,
    [
      '--data-root',
      dataRoot,
      '--exec-root',
      join(dir, 'exec'),
      '--pidfile',
      join(dir, 'dockerd.pid'),
      '-H',
      `unix://${socket}`,
      ...(bridge?.name ? ['--bridge', bridge.name] : bridge ? ['--bip', bridge.address] : ['--bridge=none']),
      '--iptables=false',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  const append = (b) => {
    log = (log + b.toString()).slice(-128 * 1024);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  reap(child);

  const dispose = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM'); // dockerd stops the containerd it started
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    await unmountUnder(dir);
    await rm(dir, { recursive: true, force: true });
    if (bridge) await new Promise((resolve) => spawn('ip', ['link', 'del', bridgeName], { stdio: 'ignore' }).once('exit', resolve));
  };

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      await dispose();
      throw new Error(`dockerd exited during start:\n${log}`);
    }
    try {
      if ((await engineRequest(socket, 'GET', '/_ping', { timeoutMs: 2000 })).status === 200) break;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) {
      await dispose();
      throw new Error(`dockerd did not answer /_ping within 60 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { socket, host: `unix://${socket}`, dataRoot, logs: () => log, pid: () => child.pid, dispose };
}

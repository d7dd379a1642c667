#!/usr/bin/env node
// The VM's figures: cold start to engine ready (first `docker version` that
// answers; fresh BERTH_HOME, so the data disk is made and formatted), warm
// start (disk kept), idle memory of QEMU (RSS), of the guest (used, as the
// guest sees it) and of the host daemon (RSS), and HTTP through a port
// forwarded from the VM vs the same container on the native agent.
//
//   sudo node --import tsx bench/vm.mjs [--accel auto|kvm|tcg] [--memory MiB] [--requests 2000] [--concurrency 8] [--mb 16] [--runs 3] [--idle 20]
//
// Uses the image in $BERTH_VM_IMAGE, else builds one from this checkout's
// agent (apps/vm-agent/dist) into a temp dir. `berth start` is the built CLI
// (apps/main/dist/cli.js, what `npx berth` and the app run), so the time is
// not tsx compiling the host's sources. After each start it prints the boot's
// phase table (`berth status` shows the same). Targets are for real
// accelerators (ready under 1 s, guest idle under 150 MB); under TCG expect
// tens of seconds. A measurement, not a test.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { formatBootPhases } from '../apps/main/src/vm/boot-phases.ts';
import { startAgent } from '../tests/helpers/agent.ts';
import { DockerCli } from '../tests/helpers/docker.ts';
import { freePort } from '../tests/helpers/net.ts';
import { startRegistry } from '../tests/helpers/registry.ts';
import { buildBusyboxImage, pushImage } from '../tests/helpers/test-images.ts';
import { median } from './stats.mjs';

const sh = promisify(execFile);
const repo = new URL('..', import.meta.url).pathname;
const { values: opts } = parseArgs({
  options: {
    accel: { type: 'string', default: 'auto' },
    memory: { type: 'string' },
    requests: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '8' },
    mb: { type: 'string', default: '16' },
    runs: { type: 'string', default: '3' },
    idle: { type: 'string', default: '20' },
  },
});
if (process.getuid?.() !== 0) throw new Error('run as root: the native agent needs it');

const work = mkdtempSync(join(tmpdir(), 'berth-bench-vm-'));
const home = join(work, 'berth-home');
let image = process.env.BERTH_VM_IMAGE;
if (!image) {
  image = join(work, 'image');
  await sh(process.execPath, [join(repo, 'resources/vm/build.mjs'), '--out', image, '--agent', join(repo, 'apps/vm-agent/dist')], { maxBuffer: 16 << 20 });
}
const env = { ...process.env, BERTH_HOME: home, HOME: work, DOCKER_CONFIG: join(work, 'docker-config'), BERTH_VM_IMAGE: image };
const berth = (...args) => sh(process.execPath, ['--import', 'tsx', join(repo, 'apps/main/src/cli.ts'), ...args], { env, cwd: repo, maxBuffer: 16 << 20 });
const builtCli = join(repo, 'apps/main/dist/cli.js');
if (!existsSync(builtCli)) throw new Error('apps/main/dist/cli.js is missing: run `npm run build` (or `node scripts/build.mjs`) first');
const socket = join(home, 'run/docker.sock');
const vmDocker = new DockerCli(socket);
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
/** The resident part of QEMU's guest RAM mapping (the one anonymous mapping of memoryMiB), from smaps. */
function guestRamRssMiB(pid, memoryMiB) {
  let size = 0;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (range) size = Number((BigInt(`0x${range[2]}`) - BigInt(`0x${range[1]}`)) >> 20n);
    else if (size === memoryMiB && line.startsWith('Rss:')) return Number(line.split(/\s+/)[1]) / 1024;
  }
  return NaN;
}
const rssMiB = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
/** The boot's phases as the daemon published them, as `berth status` prints them. */
const printPhases = (run) => formatBootPhases(run.bootPhases ?? []).forEach((l) => console.log(`  ${l}`));
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/** From launching `berth start` to the first `docker version` that answers. */
async function timedStart() {
  const t0 = Date.now();
  const child = spawn(process.execPath, [builtCli, 'start', '--accel', opts.accel, ...(opts.memory ? ['--memory', opts.memory] : [])], {
    env,
    cwd: repo,
    stdio: 'ignore',
  });
  const exited = new Promise((r) => child.once('exit', r));
  for (;;) {
    const r = await vmDocker.run(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 5000 });
    if (r.code === 0) break;
    if (Date.now() - t0 > 600_000) throw new Error('the VM was not ready within 10 minutes');
    await new Promise((res) => setTimeout(res, 100));
  }
  const ms = Date.now() - t0;
  if ((await exited) !== 0) throw new Error('berth start failed');
  return ms;
}

async function ab(args) {
  const { stdout } = await sh('ab', ['-q', '-r', ...args], { maxBuffer: 16 << 20 });
  if (Number(/Failed requests:\s+(\d+)/.exec(stdout)?.[1]) !== 0) throw new Error(`ab reported failed requests:\n${stdout}`);
  return { rps: Number(/Requests per second:\s+([\d.]+)/.exec(stdout)[1]), kbps: Number(/Transfer rate:\s+([\d.]+)/.exec(stdout)[1]) };
}

async function serveHttp(docker, ref) {
  const port = await freePort();
  await docker.ok([
    'run',
    '-d',
    '--name',
    `bench-vm-${process.pid}`,
    '-p',
    `127.0.0.1:${port}:80`,
    ref,
    'sh',
    '-c',
    `mkdir -p /w && echo hello > /w/small.txt && dd if=/dev/zero of=/w/big.bin bs=1M count=${opts.mb} 2>/dev/null && httpd -f -p 80 -h /w`,
  ]);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      await ab(['-n', '1', `${url}/big.bin`]);
      return url;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`${url} did not serve`);
}

const reg = await startRegistry();
let native;
try {
  const cold = await timedStart();
  const { stdout: statusJson } = await berth('status', '--json');
  const st = JSON.parse(statusJson);
  console.log(`accelerator: ${st.run.accel} (${st.run.cpus} CPUs, ${st.run.memoryMiB} MiB)${st.run.accelNote ? `; ${st.run.accelNote}` : ''}`);
  console.log(`cold start (new disk) to first docker version: ${seconds(cold)} (load average ${loadAverage()})`);
  printPhases(st.run);
  await berth('stop');
  const warm = await timedStart();
  console.log(`warm start (disk kept) to first docker version: ${seconds(warm)} (load average ${loadAverage()})`);
  printPhases(JSON.parse((await berth('status', '--json')).stdout).run);

  await new Promise((r) => setTimeout(r, Number(opts.idle) * 1000));
  const run = JSON.parse((await berth('status', '--json')).stdout).run;
  // As free(1) counts: used = MemTotal - MemFree - Buffers - Cached - SReclaimable (page cache and
  // reclaimable slab are given back on demand). MemTotal - MemAvailable is shown too: it also holds the
  // kernel's free-page watermarks, which grow with the guest's RAM, not with what it runs.
  const guest = (
    await berth(
      'shell',
      '--',
      'awk \'{m[$1]=$2}END{printf "%d MiB (MemTotal - MemAvailable %d MiB, tmpfs %d MiB, page cache %d MiB)", (m["MemTotal:"]-m["MemFree:"]-m["Buffers:"]-m["Cached:"]-m["SReclaimable:"])/1024, (m["MemTotal:"]-m["MemAvailable:"])/1024, m["Shmem:"]/1024, m["Cached:"]/1024}\' /proc/meminfo',
    )
  ).stdout.trim();
  const ram = guestRamRssMiB(run.qemuPid, run.memoryMiB);
  console.log(
    `idle after ${opts.idle} s: QEMU RSS ${rssMiB(run.qemuPid).toFixed(0)} MiB (guest RAM ${ram.toFixed(0)} MiB of it; the rest is QEMU itself and, under TCG, its translated code), guest used ${guest}, host daemon RSS ${rssMiB(run.daemonPid).toFixed(0)} MiB`,
  );

  await pushImage({ url: reg.url }, 'bench/busybox', 'latest', await buildBusyboxImage({}));
  const ref = `${reg.domain}/bench/busybox:latest`;
  native = await startAgent();
  const nativeDocker = new DockerCli(native.socket);
  const urls = {};
  for (const [name, docker] of [
    ['vm', vmDocker],
    ['native', nativeDocker],
  ]) {
    await docker.ok(['pull', '-q', ref], { timeoutMs: 300_000 });
    urls[name] = await serveHttp(docker, ref);
  }
  const samples = { vm: { rps: [], mbps: [] }, native: { rps: [], mbps: [] } };
  for (let r = 0; r < Number(opts.runs); r++) {
    for (const name of r % 2 ? ['native', 'vm'] : ['vm', 'native']) {
      const { rps } = await ab(['-n', opts.requests, '-c', opts.concurrency, `${urls[name]}/small.txt`]);
      const { kbps } = await ab(['-n', '10', '-c', '2', `${urls[name]}/big.bin`]);
      samples[name].rps.push(rps);
      samples[name].mbps.push(kbps / 1024);
      console.log(`run ${r + 1} ${name}: ${rps.toFixed(0)} req/s, ${(kbps / 1024).toFixed(1)} MB/s`);
    }
  }
  for (const name of ['vm', 'native'])
    console.log(`${name}: median ${median(samples[name].rps).toFixed(0)} req/s, ${median(samples[name].mbps).toFixed(1)} MB/s`);
  console.log(
    `vm/native (medians): requests ${(median(samples.vm.rps) / median(samples.native.rps)).toFixed(2)}x, throughput ${(median(samples.vm.mbps) / median(samples.native.mbps)).toFixed(2)}x`,
  );
  nativeDocker.dispose();
} finally {
  await berth('stop').catch(() => {});
  await native?.dispose();
  await reg.stop();
  vmDocker.dispose();
  rmSync(work, { recursive: true, force: true });
}

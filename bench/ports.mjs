#!/usr/bin/env node
// Published-port benchmark: HTTP requests per second (small file, keep-alive
// off, as busybox httpd closes each connection) and MB/s (a large file)
// through a port published on the host's loopback, berth-agent's userland
// proxy vs dockerd's docker-proxy, the same busybox httpd container behind both.
//
//   sudo node --import tsx bench/ports.mjs [--requests 5000] [--concurrency 16] [--mb 64] [--runs 5]
//
// Both engines run at once, each with its container, and every run measures
// both in turn (the order flips each run); the summary gives medians with
// min/max per engine and the two ratios berth/dockerd. The machine's load
// average is printed before and after: on a busy machine, compare ratios,
// not absolute figures. It also reports the CPU time the proxy spends (the
// agent process for berth, docker-proxy for dockerd) per 1000 requests and
// per GB: a figure a busy machine disturbs far less than a rate.
//
// Uses ab (apache2-utils). A measurement, not a test: it checks only that
// every request succeeded.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { startRegistry } from '../tests/helpers/registry.ts';
import { startAgent } from '../tests/helpers/agent.ts';
import { DockerCli } from '../tests/helpers/docker.ts';
import { freePort } from '../tests/helpers/net.ts';
import { buildBusyboxImage, pushImage } from '../tests/helpers/test-images.ts';
import { startDockerd } from './dockerd.mjs';
import { median } from './stats.mjs';

const sh = promisify(execFile);
const { values: opts } = parseArgs({
  options: {
    requests: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '16' },
    mb: { type: 'string', default: '64' },
    runs: { type: 'string', default: '5' },
    engines: { type: 'string', default: 'berth,dockerd' },
  },
});
if (process.getuid?.() !== 0) throw new Error('run as root: both engines need it');

async function ab(args) {
  const { stdout } = await sh('ab', ['-q', '-r', ...args], { maxBuffer: 16 * 1024 * 1024 });
  const failed = Number(/Failed requests:\s+(\d+)/.exec(stdout)?.[1] ?? NaN);
  if (failed !== 0) throw new Error(`ab reported failed requests:\n${stdout}`);
  return {
    rps: Number(/Requests per second:\s+([\d.]+)/.exec(stdout)[1]),
    kbps: Number(/Transfer rate:\s+([\d.]+)/.exec(stdout)[1]),
  };
}

const CLK_TCK = 100; // USER_HZ: /proc/PID/stat counts CPU time in 1/100 s on Linux

/** Pids of processes whose command line contains every string of `parts`. */
function pidsWith(...parts) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ');
      if (parts.every((p) => cmd.includes(p))) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

/** User+system CPU seconds `pid` has used (0 once it is gone). */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime, stime
  } catch {
    return 0;
  }
}

/** The process doing the proxying: the agent itself, or dockerd's docker-proxy for the port. */
function proxyPid(engine, eng, port) {
  const pid = engine === 'berth' ? pidsWith('main.cjs', `unix://${eng.socket}`)[0] : pidsWith('docker-proxy', `-host-port ${port} `)[0];
  if (!pid) throw new Error(`cannot find the ${engine} proxy process for port ${port}`);
  return pid;
}

/** Starts the benchmark container on `docker`, publishing a loopback port; waits until it serves. */
async function serve(docker, image) {
  const port = await freePort();
  const name = `bench-ports-${process.pid}`;
  await docker.ok([
    'run',
    '-d',
    '--name',
    name,
    '-p',
    `127.0.0.1:${port}:80`,
    image,
    'sh',
    '-c',
    `mkdir -p /w && echo hello > /w/small.txt && dd if=/dev/zero of=/w/big.bin bs=1M count=${opts.mb} 2>/dev/null && httpd -f -p 80 -h /w`,
  ]);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      await ab(['-n', '1', `${url}/big.bin`]);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { url, port, remove: () => docker.run(['rm', '-f', name]) };
}

/** One run: rates, and the proxy's CPU time per 1000 requests and per GB (less disturbed by the machine's load than rates). */
async function once(url, pid) {
  const c0 = cpuSeconds(pid);
  const { rps } = await ab(['-n', opts.requests, '-c', opts.concurrency, `${url}/small.txt`]);
  const c1 = cpuSeconds(pid);
  const { kbps } = await ab(['-n', '20', '-c', '2', `${url}/big.bin`]);
  const c2 = cpuSeconds(pid);
  return { rps, mbps: kbps / 1024, cpuPerK: ((c1 - c0) * 1000 * 1000) / Number(opts.requests), cpuPerGb: ((c2 - c1) * 1000 * 1024) / (20 * Number(opts.mb)) };
}

const stats = (xs) => `median ${median(xs).toFixed(0)} (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`;

// Both engines run side by side and are measured alternately (the order
// flips every run), so a change in the machine's load hits both alike.
const engines = opts.engines.split(',');
const reg = await startRegistry();
const running = [];
const samples = Object.fromEntries(engines.map((e) => [e, { rps: [], mbps: [], cpuPerK: [], cpuPerGb: [] }]));
try {
  await pushImage({ url: reg.url }, 'bench/busybox', 'latest', await buildBusyboxImage({}));
  const image = `${reg.domain}/bench/busybox:latest`;
  for (const engine of engines) {
    const eng = engine === 'berth' ? await startAgent() : await startDockerd({ bridge: { name: 'brbench-ports', address: '10.199.0.1/24' } });
    const docker = new DockerCli(eng.socket);
    const entry = { engine, eng, docker };
    running.push(entry);
    await docker.ok(['pull', '-q', image]);
    entry.ctr = await serve(docker, image);
    entry.pid = proxyPid(engine, eng, entry.ctr.port);
  }
  console.log(`load before: ${(await sh('uptime')).stdout.trim()}`);
  for (let r = 0; r < Number(opts.runs); r++) {
    const order = r % 2 ? [...running].reverse() : running;
    for (const { engine, ctr, pid } of order) {
      const s = await once(ctr.url, pid);
      for (const k of Object.keys(s)) samples[engine][k].push(s[k]);
      console.log(
        `run ${r + 1} ${engine}: ${s.rps.toFixed(0)} req/s, ${s.mbps.toFixed(0)} MB/s; proxy CPU ${s.cpuPerK.toFixed(0)} ms/1000 req, ${s.cpuPerGb.toFixed(0)} ms/GB`,
      );
    }
  }
  console.log(`load after: ${(await sh('uptime')).stdout.trim()}`);
} finally {
  for (const { ctr, docker, eng } of running.reverse()) {
    await ctr?.remove();
    docker.dispose();
    await eng.dispose();
  }
  await reg.stop();
}
for (const engine of engines) {
  const x = samples[engine];
  console.log(`${engine}: req/s ${stats(x.rps)}; MB/s ${stats(x.mbps)}; proxy CPU ms/1000 req ${stats(x.cpuPerK)}, ms/GB ${stats(x.cpuPerGb)}`);
}
if (samples.berth && samples.dockerd) {
  const ratio = (k) => (median(samples.berth[k]) / median(samples.dockerd[k])).toFixed(2);
  // Each run measures both engines back to back, so the ratio within a run
  // is the least disturbed by the load drifting between runs.
  const paired = (k) => median(samples.berth[k].map((b, i) => b / samples.dockerd[k][i])).toFixed(2);
  console.log(`berth/dockerd (medians): requests ${ratio('rps')}x, throughput ${ratio('mbps')}x`);
  console.log(`berth/dockerd (median of per-run ratios): requests ${paired('rps')}x, throughput ${paired('mbps')}x`);
  console.log(`proxy CPU, berth/dockerd (medians, lower is better): per request ${ratio('cpuPerK')}x, per GB ${ratio('cpuPerGb')}x`);
}

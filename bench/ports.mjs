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
// not absolute figures.
//
// Uses ab (apache2-utils). A measurement, not a test: it checks only that
// every request succeeded.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { startRegistry } from '../tests/helpers/registry.ts';
import { startAgent } from '../tests/helpers/agent.ts';
import { DockerCli } from '../tests/helpers/docker.ts';
import { freePort } from '../tests/helpers/net.ts';
import { buildBusyboxImage, pushImage } from '../tests/helpers/test-images.ts';
import { startDockerd } from './dockerd.mjs';

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

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function ab(args) {
  const { stdout } = await sh('ab', ['-q', '-r', ...args], { maxBuffer: 16 * 1024 * 1024 });
  const failed = Number(/Failed requests:\s+(\d+)/.exec(stdout)?.[1] ?? NaN);
  if (failed !== 0) throw new Error(`ab reported failed requests:\n${stdout}`);
  return {
    rps: Number(/Requests per second:\s+([\d.]+)/.exec(stdout)[1]),
    kbps: Number(/Transfer rate:\s+([\d.]+)/.exec(stdout)[1]),
  };
}

/** Starts the benchmark container on `docker`, publishing a loopback port; waits until it serves. */
async function serve(docker, image) {
  const port = await freePort();
  const name = `bench-ports-${process.pid}`;
  await docker.ok(['run', '-d', '--name', name, '-p', `127.0.0.1:${port}:80`, image, 'sh', '-c',
    `mkdir -p /w && echo hello > /w/small.txt && dd if=/dev/zero of=/w/big.bin bs=1M count=${opts.mb} 2>/dev/null && httpd -f -p 80 -h /w`]);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      await ab(['-n', '1', `${url}/big.bin`]);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { url, remove: () => docker.run(['rm', '-f', name]) };
}

async function once(url) {
  const { rps } = await ab(['-n', opts.requests, '-c', opts.concurrency, `${url}/small.txt`]);
  const { kbps } = await ab(['-n', '20', '-c', '2', `${url}/big.bin`]);
  return { rps, mbps: kbps / 1024 };
}

const stats = (xs) => `median ${median(xs).toFixed(0)} (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`;

// Both engines run side by side and are measured alternately (the order
// flips every run), so a change in the machine's load hits both alike.
const engines = opts.engines.split(',');
const reg = await startRegistry();
const running = [];
const samples = Object.fromEntries(engines.map((e) => [e, { rps: [], mbps: [] }]));
try {
  await pushImage({ url: reg.url }, 'bench/busybox', 'latest', await buildBusyboxImage({}));
  const image = `${reg.domain}/bench/busybox:latest`;
  for (const engine of engines) {
    const eng = engine === 'berth' ? await startAgent() : await startDockerd({ bridge: { address: '10.199.0.1/24' } });
    const docker = new DockerCli(eng.socket);
    const entry = { engine, eng, docker };
    running.push(entry);
    await docker.ok(['pull', '-q', image]);
    entry.ctr = await serve(docker, image);
  }
  console.log(`load before: ${(await sh('uptime')).stdout.trim()}`);
  for (let r = 0; r < Number(opts.runs); r++) {
    const order = r % 2 ? [...running].reverse() : running;
    for (const { engine, ctr } of order) {
      const s = await once(ctr.url);
      samples[engine].rps.push(s.rps);
      samples[engine].mbps.push(s.mbps);
      console.log(`run ${r + 1} ${engine}: ${s.rps.toFixed(0)} req/s, ${s.mbps.toFixed(0)} MB/s`);
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
  console.log(`${engine}: req/s ${stats(samples[engine].rps)}; MB/s ${stats(samples[engine].mbps)}`);
}
if (samples.berth && samples.dockerd) {
  const ratio = (k) => (median(samples.berth[k]) / median(samples.dockerd[k])).toFixed(2);
  console.log(`berth/dockerd (medians): requests ${ratio('rps')}x, throughput ${ratio('mbps')}x`);
}

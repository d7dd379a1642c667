#!/usr/bin/env node
// Published-port benchmark: HTTP requests per second (small file, keep-alive
// off, as busybox httpd closes each connection) and MB/s (a large file)
// through a port published on the host's loopback, berth-agent's userland
// proxy vs dockerd's docker-proxy, the same busybox httpd container behind both.
//
//   sudo node --import tsx bench/ports.mjs [--requests 5000] [--concurrency 16] [--mb 64] [--runs 3]
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
    runs: { type: 'string', default: '3' },
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

async function measure(docker, image) {
  const port = await freePort();
  const name = `bench-ports-${process.pid}`;
  await docker.ok(['run', '-d', '--name', name, '-p', `127.0.0.1:${port}:80`, image, 'sh', '-c',
    `mkdir -p /w && echo hello > /w/small.txt && dd if=/dev/zero of=/w/big.bin bs=1M count=${opts.mb} 2>/dev/null && httpd -f -p 80 -h /w`]);
  try {
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      try {
        await ab(['-n', '1', `${url}/big.bin`]);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const rps = [];
    const mbps = [];
    for (let r = 0; r < Number(opts.runs); r++) {
      rps.push((await ab(['-n', opts.requests, '-c', opts.concurrency, `${url}/small.txt`])).rps);
      mbps.push((await ab(['-n', '20', '-c', '2', `${url}/big.bin`])).kbps / 1024);
    }
    return { rps: median(rps), mbps: median(mbps) };
  } finally {
    await docker.run(['rm', '-f', name]);
  }
}

const reg = await startRegistry();
const results = {};
try {
  await pushImage({ url: reg.url }, 'bench/busybox', 'latest', await buildBusyboxImage({}));
  const image = `${reg.domain}/bench/busybox:latest`;
  for (const engine of opts.engines.split(',')) {
    const eng = engine === 'berth' ? await startAgent() : await startDockerd({ bridge: { address: '10.199.0.1/24' } });
    const docker = new DockerCli(eng.socket);
    try {
      await docker.ok(['pull', '-q', image]);
      results[engine] = await measure(docker, image);
      console.log(`${engine}: ${results[engine].rps.toFixed(0)} req/s, ${results[engine].mbps.toFixed(0)} MB/s`);
    } finally {
      docker.dispose();
      await eng.dispose();
    }
  }
} finally {
  await reg.stop();
}
if (results.berth && results.dockerd) {
  console.log(`berth/dockerd: requests ${(results.berth.rps / results.dockerd.rps).toFixed(2)}x, throughput ${(results.berth.mbps / results.dockerd.mbps).toFixed(2)}x`);
}

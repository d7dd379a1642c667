#!/usr/bin/env node
// Pull benchmark: the same 3-layer image (~100 MB to download) from the same
// loopback registry, pulled by berth-agent and by dockerd through the docker
// CLI, several runs each with the image removed in between. Prints the
// medians side by side and berth/dockerd.
//
//   sudo node --import tsx bench/pull.mjs [--runs 5] [--mb 100] [--engines berth,dockerd] [--trace]
//
// --trace starts the agent with BERTH_TRACE=1 and prints, after the runs,
// where the agent's time went in the last pull: per layer the download
// (response, first and last byte), the compressed blob (written, fsync,
// renamed), the unpack (hashing, file writes, metadata) and its commit.
//
// See bench/README.md. This is a measurement, not a test: it asserts only
// that each pull succeeded and produced the expected image id.
import { createCipheriv, createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startRegistry } from '../tests/helpers/registry.ts';
import { startAgent } from '../tests/helpers/agent.ts';
import { DockerCli, DOCKER_BIN } from '../tests/helpers/docker.ts';
import { assembleImage, makeLayer, pushImage } from '../tests/helpers/test-images.ts';
import { startDockerd } from './dockerd.mjs';
import { printTrace } from './agent-trace.mjs';
import { median } from './stats.mjs';

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    mb: { type: 'string', default: '100' },
    engines: { type: 'string', default: 'berth,dockerd' },
    trace: { type: 'boolean', default: false },
  },
});
const runs = Number(opts.runs);
const totalMb = Number(opts.mb);
const engines = opts.engines
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const e of engines) if (e !== 'berth' && e !== 'dockerd') throw new Error(`unknown engine ${e}: use berth and/or dockerd`);
if (process.getuid?.() !== 0) throw new Error('run as root: both engines need it');

/** Deterministic incompressible bytes: an AES-CTR keystream from a fixed key. */
function noise(seed, size) {
  const key = createHash('sha256').update(`berth-bench-${seed}`).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

/** Deterministic compressible text (gzip gets it to about a fifth): log-like lines over a small vocabulary. */
function text(seed, size) {
  const words = ['container', 'layer', 'image', 'pull', 'digest', 'registry', 'overlay', 'namespace', 'cgroup', 'socket', 'mount', 'network'];
  const rnd = noise(`text-${seed}`, Math.ceil(size / 8) + 16);
  const out = Buffer.alloc(size);
  let off = 0;
  for (let i = 0; off < size; i++) {
    const line = `${String(i).padStart(8, '0')} ${words[rnd[i % rnd.length] % 12]} ${words[rnd[(i + 1) % rnd.length] % 12]} level=${rnd[(i + 2) % rnd.length] % 4} id=${rnd.readUInt32LE(i % (rnd.length - 4)).toString(16)}\n`;
    off += out.write(line, off);
  }
  return out;
}

async function buildBenchImage(mb) {
  // Each layer: 80% of its download incompressible, plus text that gzips to about the other 20%.
  const perLayer = Math.round((mb * 1024 * 1024) / 3);
  const layers = [];
  for (let i = 0; i < 3; i++) {
    layers.push(
      await makeLayer([
        { path: `data/layer${i}/blob.bin`, content: noise(i, Math.round(perLayer * 0.8)) },
        { path: `data/layer${i}/log.txt`, content: text(i, perLayer) },
      ]),
    );
  }
  return assembleImage(layers, { cmd: ['sh'] });
}

const load = () =>
  execFileSync('uptime', { encoding: 'utf8' })
    .trim()
    .replace(/.*load/, 'load');
/** CPU seconds (user + system, all threads) a process has used so far. */
const cpuSeconds = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /, '')
    .split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
};
const duBytes = (dir) => {
  try {
    return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
  } catch {
    return NaN;
  }
};

const cleanups = [];
const cleanup = async () => {
  while (cleanups.length)
    await cleanups
      .pop()()
      .catch((e) => console.error(`cleanup: ${e.message}`));
};
process.on('SIGINT', () => cleanup().finally(() => process.exit(130)));

try {
  const t0 = Date.now();
  const image = await buildBenchImage(totalMb);
  const download = image.layers.reduce((n, l) => n + l.size, 0);
  const unpacked = image.layers.reduce((n, l) => n + l.tar.length, 0);
  console.log(
    `image: 3 layers, ${(download / 1e6).toFixed(1)} MB compressed, ${(unpacked / 1e6).toFixed(1)} MB unpacked (built in ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
  );

  const registry = await startRegistry();
  cleanups.push(() => registry.stop());
  const { ref } = await pushImage(registry, 'bench/pull', 'latest', image);
  console.log(`registry: ${registry.url}; image ${ref}; client ${DOCKER_BIN}`);

  const targets = [];
  for (const name of engines) {
    const engine = name === 'berth' ? await startAgent(opts.trace ? { env: { BERTH_TRACE: '1' } } : {}) : await startDockerd();
    cleanups.push(() => engine.dispose());
    const cli = new DockerCli(engine.socket);
    cleanups.push(async () => cli.dispose());
    const version = await cli.run(['version', '--format', '{{.Server.Version}}']);
    targets.push({ name, engine, cli, times: [], cpu: [], version: version.stdout.trim() });
  }

  console.log(`${load()} (before)`);
  // Interleave engines run by run, so drift in the machine's load hits both alike.
  // The order turns every run: a pull slows the next one (the kernel writing back its pages, the rmi's unlinks).
  for (let run = 1; run <= runs; run++) {
    for (const t of [...targets.slice((run - 1) % targets.length), ...targets.slice(0, (run - 1) % targets.length)]) {
      await t.cli.run(['rmi', '-f', ref], { timeoutMs: 120_000 });
      const cpuBefore = cpuSeconds(t.engine.pid());
      const start = process.hrtime.bigint();
      const r = await t.cli.run(['pull', '-q', ref], { timeoutMs: 600_000 });
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const cpu = cpuSeconds(t.engine.pid()) - cpuBefore;
      if (r.code !== 0)
        throw new Error(`${t.name}: docker pull failed (${r.code}):\n${r.stdout}\n${r.stderr}\n--- engine log ---\n${t.engine.logs().slice(-4000)}`);
      const id = (await t.cli.ok(['image', 'inspect', '--format', '{{.Id}}', ref])).stdout.trim();
      if (id !== image.config.digest) throw new Error(`${t.name}: pulled image id ${id}, expected ${image.config.digest}`);
      t.times.push(seconds);
      t.cpu.push(cpu);
      console.log(`run ${run} ${t.name.padEnd(8)} ${seconds.toFixed(2)} s  (${(download / 1e6 / seconds).toFixed(0)} MB/s), engine CPU ${cpu.toFixed(2)} s`);
    }
  }
  console.log(`${load()} (after)`);
  const traced = targets.find((t) => t.name === 'berth');
  if (opts.trace && traced) {
    // From the last pull's first line: the agent's log is kept to its last 256 KiB, so offsets into it move.
    const log = traced.engine.logs();
    printTrace(log.slice(log.lastIndexOf('berth-trace', log.lastIndexOf(' pull start '))), 'last berth pull, as the agent saw it');
  }
  for (const t of targets) {
    await t.cli.run(['rmi', '-f', ref], { timeoutMs: 120_000 });
    t.leftAfterRmi = duBytes(t.engine.dataRoot);
  }

  console.log('\nengine    version                 median s   min s   max s   CPU s (median)   data root after rmi');
  for (const t of targets) {
    console.log(
      `${t.name.padEnd(9)} ${t.version.slice(0, 22).padEnd(23)} ${median(t.times).toFixed(2).padStart(8)} ${Math.min(...t.times)
        .toFixed(2)
        .padStart(7)} ${Math.max(...t.times)
        .toFixed(2)
        .padStart(7)}   ${median(t.cpu).toFixed(2).padStart(14)}   ${(t.leftAfterRmi / 1e6).toFixed(1)} MB`,
    );
  }
  const b = targets.find((t) => t.name === 'berth');
  const d = targets.find((t) => t.name === 'dockerd');
  if (b && d) console.log(`\nberth/dockerd (median): ${(median(b.times) / median(d.times)).toFixed(2)}  (below 1: berth is faster)`);
} finally {
  await cleanup();
}

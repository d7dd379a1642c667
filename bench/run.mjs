#!/usr/bin/env node
// Container-start benchmark: `docker run --rm IMAGE true` through the docker
// CLI, several runs, against berth-agent and dockerd on the same machine and
// the same image (pushed to a loopback registry, pulled by both); then N
// `docker create` + `docker start` in a row. Prints the medians side by side
// and berth/dockerd.
//
//   sudo node --import tsx bench/run.mjs [--runs 20] [--series 50] [--engines berth,dockerd] [--network default] [--trace]
//
// --trace starts the agent with BERTH_TRACE=1 and prints, after the runs,
// where the agent's time went in the last `run --rm` and each phase's median
// over all of them (see util/trace.ts).
//
// Both engines attach their default bridge network (dockerd: a bridge of its
// own, brbench-run, not docker0, so bench/ports.mjs may run meanwhile; no
// iptables rules, see bench/dockerd.mjs); `--network none` measures
// without networking on both. A measurement, not a test: it checks only that
// every command succeeded.
import { execFile } from 'node:child_process';
import { promisify, parseArgs } from 'node:util';
import { startRegistry } from '../tests/helpers/registry.ts';
import { startAgent } from '../tests/helpers/agent.ts';
import { DockerCli, DOCKER_BIN } from '../tests/helpers/docker.ts';
import { buildBusyboxImage, pushImage } from '../tests/helpers/test-images.ts';
import { startDockerd } from './dockerd.mjs';
import { printPhaseMedians, printTrace } from './agent-trace.mjs';
import { median } from './stats.mjs';

const sh = promisify(execFile);
const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    series: { type: 'string', default: '50' },
    engines: { type: 'string', default: 'berth,dockerd' },
    network: { type: 'string', default: 'default' },
    trace: { type: 'boolean', default: false },
  },
});
const runs = Number(opts.runs);
const series = Number(opts.series);
const engines = opts.engines
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const e of engines) if (e !== 'berth' && e !== 'dockerd') throw new Error(`unknown engine ${e}: use berth and/or dockerd`);
if (process.getuid?.() !== 0) throw new Error('run as root: both engines need it');
const netArgs = opts.network === 'default' ? [] : ['--network', opts.network];

const ms = (x) => `${x.toFixed(0)} ms`;
const load = async () => (await sh('uptime')).stdout.trim().replace(/.*load/, 'load');

/** Times `fn` in milliseconds. */
async function timed(fn) {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const cleanups = [];
const cleanup = async () => {
  while (cleanups.length)
    await cleanups
      .pop()()
      .catch((e) => console.error(`cleanup: ${e.message}`));
};
process.on('SIGINT', () => cleanup().finally(() => process.exit(130)));

try {
  const registry = await startRegistry();
  cleanups.push(() => registry.stop());
  const { ref: image } = await pushImage(registry, 'bench/run', 'latest', await buildBusyboxImage({}));
  console.log(`image ${image}; client ${DOCKER_BIN}; network ${opts.network}`);

  const targets = [];
  for (const name of engines) {
    const engine =
      name === 'berth'
        ? await startAgent(opts.trace ? { env: { BERTH_TRACE: '1' } } : {})
        : await startDockerd({ bridge: { name: 'brbench-run', address: '10.198.0.1/24' } });
    cleanups.push(() => engine.dispose());
    const cli = new DockerCli(engine.socket);
    cleanups.push(async () => cli.dispose());
    await cli.ok(['pull', '-q', image], { timeoutMs: 120_000 });
    // One unmeasured run: first-use work (the bridge, caches) is not start-up cost.
    await cli.ok(['run', '--rm', ...netArgs, image, 'true']);
    const version = (await cli.ok(['version', '--format', '{{.Server.Version}}'])).stdout.trim();
    targets.push({ name, engine, cli, version, run: [], create: [], start: [], series: 0, logAt: 0, traces: [] });
  }
  console.log(`${await load()} (before)`);

  // Interleaved run by run, the order flipping, so drift in the machine's load hits both alike.
  for (let r = 0; r < runs; r++) {
    for (const t of r % 2 ? [...targets].reverse() : targets) {
      t.logAt = t.engine.logs().length;
      const took = await timed(() => t.cli.ok(['run', '--rm', ...netArgs, image, 'true']));
      t.run.push(took);
      if (opts.trace && t.name === 'berth') t.traces.push(t.engine.logs().slice(t.logAt));
      console.log(`run ${String(r + 1).padStart(2)} ${t.name.padEnd(8)} ${ms(took)}`);
    }
  }

  const traced = targets.find((t) => t.name === 'berth');
  if (opts.trace && traced) {
    printTrace(traced.engine.logs().slice(traced.logAt), 'last berth run, as the agent saw it');
    printPhaseMedians(traced.traces, 'berth run --rm');
  }

  for (const t of targets) {
    const ids = [];
    t.series = await timed(async () => {
      for (let i = 0; i < series; i++) {
        let id = '';
        t.create.push(await timed(async () => (id = (await t.cli.ok(['create', ...netArgs, image, 'true'])).stdout.trim())));
        t.start.push(await timed(() => t.cli.ok(['start', id])));
        ids.push(id);
      }
    });
    console.log(`${series} create+start ${t.name.padEnd(8)} ${ms(t.series)}`);
    for (let i = 0; i < ids.length; i += 25) await t.cli.ok(['rm', '-f', ...ids.slice(i, i + 25)], { timeoutMs: 120_000 });
  }
  console.log(`${await load()} (after)`);

  console.log('\nengine    version       run --rm median (min-max)   create median   start median   ' + `${series} create+start`);
  for (const t of targets) {
    console.log(
      `${t.name.padEnd(9)} ${t.version.slice(0, 12).padEnd(13)} ${ms(median(t.run)).padStart(8)} (${ms(Math.min(...t.run))}-${ms(Math.max(...t.run))})`.padEnd(
        56,
      ) + `${ms(median(t.create)).padStart(8)}   ${ms(median(t.start)).padStart(12)}   ${ms(t.series).padStart(10)}`,
    );
  }
  const b = targets.find((t) => t.name === 'berth');
  const d = targets.find((t) => t.name === 'dockerd');
  if (b && d) {
    const ratio = (x, y) => (x / y).toFixed(2);
    console.log(
      `\nberth/dockerd: run --rm (medians) ${ratio(median(b.run), median(d.run))}x (target at most 0.25x); ` +
        `${series} create+start ${ratio(b.series, d.series)}x`,
    );
  }
} finally {
  await cleanup();
}

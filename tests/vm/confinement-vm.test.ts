// Confinement on the real guest: the agent in the VM loads libseccomp from
// the image and puts the default seccomp filter on containers (and their
// docker exec); seccomp=unconfined lifts it. The probe makes each call with
// harmless arguments (tests/helpers/syscall-probe.c). The runtime's exec
// shim is in the guest: an image script naming #!/proc/self/exe reaches only
// the shim, which refuses (CVE-2019-5736; tests/engine/runtime-binary.test.ts
// has the whole attack), and --init runs it from the read-only root as
// /sbin/docker-init.
//
// Boots with `berth start` (tests/helpers/vm.ts; TCG here, about 1 min);
// needs apps/vm-agent/dist built (`npm run build`).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { probeResults, syscallProbeBinary } from '../helpers/syscall-probe.js';
import { buildBusyboxImage } from '../helpers/test-images.js';
import { useVmWithImage } from '../helpers/vm-with-image.js';

const PROBES = ['getpid', 'mkdirat', 'unshare', 'unshare-user', 'setns', 'keyctl', 'io_uring_setup', 'clone3'];

describe('confinement in the VM', { timeout: 600_000 }, () => {
  const fx = useVmWithImage('berth-confinement-', 'seccompCompile', 'confinement/probe', () =>
    buildBusyboxImage({
      extraFiles: {
        'bin/syscall-probe': { content: syscallProbeBinary(), mode: 0o755 },
        attack: { content: Buffer.from('#!/proc/self/exe\nconsole.log("NODE RAN")\n'), mode: 0o755 },
      },
    }),
  );

  it('the default seccomp profile: Seccomp 2, namespaces, keyrings and io_uring blocked, the rest reaches the kernel', async () => {
    const r = await fx.docker.ok(['run', '--rm', fx.image, 'sh', '-c', 'grep ^Seccomp: /proc/self/status; syscall-probe ' + PROBES.join(' ')]);
    assert.match(r.stdout, /^Seccomp:\s+2$/m);
    const p = probeResults(r.stdout.split('\n').slice(1).join('\n'));
    assert.deepEqual(p, {
      getpid: 'ok',
      mkdirat: 'EFAULT',
      unshare: 'EPERM',
      'unshare-user': 'EPERM',
      setns: 'EPERM',
      keyctl: 'EPERM',
      io_uring_setup: 'EPERM',
      clone3: 'ENOSYS',
    });
  });

  it('seccomp=unconfined: no filter', async () => {
    const r = await fx.docker.ok([
      'run',
      '--rm',
      '--security-opt',
      'seccomp=unconfined',
      fx.image,
      'sh',
      '-c',
      'grep ^Seccomp: /proc/self/status; syscall-probe unshare setns keyctl',
    ]);
    assert.match(r.stdout, /^Seccomp:\s+0$/m);
    assert.deepEqual(probeResults(r.stdout.split('\n').slice(1).join('\n')), { unshare: 'ok', setns: 'EBADF', keyctl: 'EINVAL' });
  });

  it('#!/proc/self/exe reaches the sealed exec shim, which refuses (126), for run and exec; --init runs docker-init', async () => {
    const run = await fx.docker.run(['run', '--rm', fx.image, '/attack']);
    assert.equal(run.code, 126, run.stderr);
    assert.match(run.stderr, /berth-shim: refusing to run as "\/proc\/self\/exe"/);
    const init = await fx.docker.ok(['run', '-d', '--init', fx.image, 'sleep', '300']);
    const id = init.stdout.trim();
    try {
      const exec = await fx.docker.run(['exec', id, '/attack']);
      assert.equal(exec.code, 126, exec.stderr);
      assert.match(exec.stderr, /berth-shim: refusing/);
      assert.equal((await fx.docker.ok(['exec', id, 'cat', '/proc/1/comm'])).stdout.trim(), 'docker-init');
      const t = Date.now();
      await fx.docker.ok(['stop', '-t', '20', id]);
      assert.ok(Date.now() - t < 15_000, 'the init forwards SIGTERM to sleep');
    } finally {
      await fx.docker.run(['rm', '-f', id]);
    }
  });

  it('docker info in the VM reports the builtin profile', async () => {
    assert.match((await fx.docker.ok(['info', '--format', '{{json .SecurityOptions}}'])).stdout, /name=seccomp,profile=builtin/);
  });
});

/**
 * The runtime's own binary is out of a container's reach (#14, the runc
 * CVE-2019-5736 class). A container's process is cloned from the agent, so
 * until its last exec /proc/self/exe is the agent's node. The attack, as an
 * image would carry it: a script whose interpreter is `#!/proc/self/exe`,
 * run as the entrypoint, through docker exec and as a health check; and a
 * second process in the container reaching for /proc/PID/exe of a process
 * still in set-up. The image carries node's shared libraries, so before the
 * fix the kernel really started the agent's node on the script.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { engineRequest } from '../helpers/docker.js';
import { staticTestBinary } from '../helpers/syscall-probe.js';
import { eventually, inspect, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();
let image = '';
const node = realpathSync(process.execPath); // the agent runs on the test's node
const nodeSha = () => createHash('sha256').update(readFileSync(node)).digest('hex');
let shaBefore = '';

/** Node's loader and shared libraries, at the paths ldd names, so a node started in the container would run. */
function nodeLibraries(): Record<string, { content: Buffer; mode: number }> {
  const files: Record<string, { content: Buffer; mode: number }> = {};
  for (const m of execFileSync('ldd', [node], { encoding: 'utf8' }).matchAll(/(\/\S+) \(0x/g)) {
    files[m[1]!.slice(1)] = { content: readFileSync(realpathSync(m[1]!)), mode: 0o755 };
  }
  return files;
}

const ATTACK = '#!/proc/self/exe\nconsole.log("NODE RAN " + process.version);\n';
const REFUSED = /berth-shim: refusing to run as "\/proc\/self\/exe"/;

after(async () => {
  await fx.docker?.run(['rm', '-f', 'cve-exec', 'cve-health', 'cve-watch']);
});

describe('the agent binary out of reach (CVE-2019-5736)', () => {
  before(async () => {
    shaBefore = nodeSha();
    image = await fx.extraImage('cve-2019-5736', {
      extraFiles: {
        'attack.js': { content: Buffer.from(ATTACK), mode: 0o755 },
        'bin/exe-watcher': { content: staticTestBinary('exe-watcher'), mode: 0o755 },
        ...nodeLibraries(),
      },
    });
  });

  test('an entrypoint with #!/proc/self/exe runs the exec shim, which refuses (126), not node', async () => {
    const r = await fx.docker.run(['run', '--rm', '--entrypoint', '/attack.js', image]);
    assert.doesNotMatch(r.stdout, /NODE RAN/);
    assert.match(r.stderr, REFUSED);
    assert.equal(r.code, 126, r.stderr);
  });

  test('docker exec of the same script is refused the same way', async () => {
    await fx.docker.ok(['run', '-d', '--name', 'cve-exec', image, 'sleep', '300']);
    const r = await fx.docker.run(['exec', 'cve-exec', '/attack.js']);
    assert.doesNotMatch(r.stdout, /NODE RAN/);
    assert.match(r.stderr, REFUSED);
    assert.equal(r.code, 126, r.stderr);
  });

  test('a health check (exec form) of the script is refused the same way', async () => {
    const create = await engineRequest(fx.agent.current.socket, 'POST', '/containers/create?name=cve-health', {
      body: { Image: image, Cmd: ['sleep', '300'], Healthcheck: { Test: ['CMD', '/attack.js'], Interval: 200e6, Timeout: 5e9, Retries: 1 } },
    });
    assert.equal(create.status, 201, create.text());
    await fx.docker.ok(['start', 'cve-health']);
    type Health = { Log: { ExitCode: number; Output: string }[] } | null;
    let health: Health = null;
    await eventually('a health check ran', async () => {
      health = await inspect<Health>(fx.docker, 'cve-health', '{{json .State.Health}}');
      return (health?.Log.length ?? 0) > 0;
    });
    const first = (health as unknown as NonNullable<Health>).Log[0]!;
    assert.doesNotMatch(first.Output, /NODE RAN/);
    assert.match(first.Output, REFUSED);
    assert.equal(first.ExitCode, 126);
  });

  test('a process in set-up cannot be reached through /proc/PID/exe, and the shim it becomes cannot be written', async () => {
    await fx.docker.ok(['run', '-d', '--name', 'cve-watch', image, 'exe-watcher', '240', '2']);
    await eventually('the watcher runs', async () => (await fx.docker.run(['logs', 'cve-watch'])).stdout.includes('watching'));
    // A large environment: the exec copies it while still node (and, for the
    // command, while still the shim), which widens the windows to catch.
    const env = Array.from({ length: 8 }, (_, i) => ['-e', `PAD${i}=${'x'.repeat(120_000)}`]).flat();
    let logs = '';
    // Until the watcher has caught both (it says done, or gives up after its 240 s): the shim runs for
    // an instant per exec, and 300 execs once caught none on a loaded machine.
    const until = Date.now() + 235_000;
    while (!logs.includes('done') && Date.now() < until) {
      await fx.docker.run(['exec', ...env, 'cve-watch', 'true']);
      logs = (await fx.docker.ok(['logs', 'cve-watch'])).stdout;
    }
    const seen = logs.split('\n').filter((l) => / path=/.test(l));
    // The watcher must have caught a process past its capability drop, or this test checked nothing.
    assert.ok(
      seen.some((l) => / dropped /.test(l)),
      `the watcher saw no process in set-up past its capability drop:\n${logs}`,
    );
    for (const line of seen) {
      assert.match(line, /path=EACCES/, `O_PATH of /proc/PID/exe of a process in set-up: ${line}`);
      assert.doesNotMatch(line, /write=opened/, line);
    }
    // The shim's memfd, reached while it ran and reopened once idle: sealed.
    assert.match(logs, /^shim reopen=opened write=EPERM$/m, logs);
  });

  test("the shim still reports a failed exec in runc's words, for run and exec (126, 127)", async () => {
    const denied = await fx.docker.run(['run', '--rm', image, '/etc/passwd']);
    assert.equal(denied.code, 126, denied.stderr);
    assert.match(denied.stderr, /unable to start container process: exec: "\/etc\/passwd": permission denied/);
    const missing = await fx.docker.run(['exec', 'cve-exec', 'nosuch']);
    assert.equal(missing.code, 127, missing.stderr);
    assert.match(missing.stdout + missing.stderr, /exec: "nosuch": executable file not found in \$PATH/);
    const gone = await fx.docker.run(['exec', 'cve-exec', '/no/such']);
    assert.equal(gone.code, 127, gone.stderr);
    assert.match(gone.stdout + gone.stderr, /exec: "\/no\/such": stat \/no\/such: no such file or directory/);
  });

  test("the agent's node binary is unchanged", async () => {
    await sleep(100);
    assert.equal(nodeSha(), shaBefore);
  });
});

/**
 * `docker exec -it` detaches with the keys of the client's config
 * (config.json "detachKeys"), as with dockerd: the CLI sends them in the
 * exec's DetachKeys; the container and the exec'd shell keep running.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DOCKER_BIN, runCommand } from '../helpers/docker.js';
import { inspect, out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();
const config = mkdtempSync(join(tmpdir(), 'berth-detach-config-'));
writeFileSync(join(config, 'config.json'), JSON.stringify({ detachKeys: 'ctrl-x,x' }));
after(async () => {
  await fx.docker?.run(['rm', '-f', 'detach-keys']);
  rmSync(config, { recursive: true, force: true });
});

/** A docker command under `script` (a pty) with the config above, typing `input` after a delay. */
function inTerminal(args: string[], input: string) {
  const quoted = [DOCKER_BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const feeder = `sleep 1.5; printf '${input}'; sleep 5`;
  return runCommand('sh', ['-c', `(${feeder}) | script -qfec "${quoted.replace(/["$`\\]/g, '\\$&')}" /dev/null`], {
    env: { DOCKER_HOST: fx.docker.host, DOCKER_CONFIG: config, DOCKER_CLI_HINTS: 'false' },
    timeoutMs: 30_000,
  });
}

test("exec -it detaches on the config's detach keys and leaves the exec'd shell running", async () => {
  await fx.docker.ok(['run', '-d', '--name', 'detach-keys', fx.image, 'sleep', '1000']);
  const r = await inTerminal(['exec', '-it', 'detach-keys', 'sh', '-c', 'echo marker-$$ > /tmp/pid; exec sleep 300'], '\\030x');
  // without the keys the CLI would wait on `sleep 300` until the 30 s limit
  assert.equal(r.timedOut, false, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /read escape sequence/);
  assert.equal(await inspect<boolean>(fx.docker, 'detach-keys', '{{json .State.Running}}'), true);
  // the exec'd process lives on after the client detached
  const ps = out(await fx.docker.ok(['exec', 'detach-keys', 'sh', '-c', 'ps -o args | grep -c "^sleep 300"']));
  assert.equal(ps, '1');
});

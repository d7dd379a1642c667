/**
 * Interactive use through a real terminal (`script` gives the docker CLI a
 * pty): `docker run -it`, `docker exec -it`, and detaching with Ctrl-P
 * Ctrl-Q leaves the container running.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCommand } from '../helpers/docker.js';
import { DOCKER_BIN } from '../helpers/docker.js';
import { inspect, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();

/** Runs a docker command under `script` (a pty), typing `input` after a short delay. */
function inTerminal(args: string[], input: string, delayMs = 1500) {
  const quoted = [DOCKER_BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  // sleep feeds the input once the container is up, then keeps stdin open a moment.
  const feeder = `sleep ${delayMs / 1000}; printf '${input}'; sleep 2`;
  return runCommand('sh', ['-c', `(${feeder}) | script -qfec "${quoted.replace(/["$`\\]/g, '\\$&')}" /dev/null`], {
    env: { DOCKER_HOST: fx.docker.host, DOCKER_CONFIG: fx.docker.configDir, DOCKER_CLI_HINTS: 'false' },
    timeoutMs: 30_000,
  });
}

test('run -it: the process has a terminal, reads typed input, exits with its code', async () => {
  const r = await inTerminal(['run', '--rm', '-it', fx.image, 'sh', '-c', 'test -t 0 && echo tty-yes; read line; echo "got:$line"; exit 3'], 'hello\\r');
  assert.equal(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stdout, /tty-yes/);
  assert.match(r.stdout, /got:hello/);
});

test('Ctrl-P Ctrl-Q detaches and leaves the container running', async () => {
  await fx.docker.ok(['create', '-it', '--name', 'detachable', fx.image, 'sh']);
  const r = await inTerminal(['start', '-ai', 'detachable'], '\\020\\021');
  assert.equal(r.timedOut, false);
  assert.equal(await inspect<boolean>(fx.docker, 'detachable', '{{json .State.Running}}'), true);
  const ex = await inTerminal(['exec', '-it', 'detachable', 'sh', '-c', 'test -t 1 && echo exec-tty; read x; echo "x=$x"; sleep 0.3'], 'typed\\r');
  assert.equal(ex.code, 0, ex.stdout + ex.stderr);
  assert.match(ex.stdout, /exec-tty/);
  assert.match(ex.stdout, /x=typed/);
  await fx.docker.ok(['rm', '-f', 'detachable']);
});

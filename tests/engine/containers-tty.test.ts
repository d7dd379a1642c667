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
  const ex = await inTerminal(['exec', '-it', 'detachable', 'sh', '-c', 'test -t 1 && echo exec-tty; read x; echo "x=$x"'], 'typed\\r');
  assert.equal(ex.code, 0, ex.stdout + ex.stderr);
  assert.match(ex.stdout, /exec-tty/);
  assert.match(ex.stdout, /x=typed/);
  await fx.docker.ok(['rm', '-f', 'detachable']);
});

test('exec -t and run -t: the output arrives to the last byte the process wrote before it exited', async () => {
  // A process that writes a burst and exits at once: the pty's slave closes while the end of the
  // burst is still on its way into the master. The agent used to stop reading there (about 1 in 5 lost
  // up to 15 KB through the docker CLI); it now reads the master to the end.
  const burst = 'yes abcdefghij | head -c 200000; echo END-MARK';
  // 200000 bytes and END-MARK, with the terminal's \n -> \r\n on each of the 18182 line ends
  const expected = 200000 + 'END-MARK'.length + 1 + 18182;
  await fx.docker.ok(['run', '-d', '--name', 'bursts', fx.image, 'sleep', '600']);
  const short: number[] = [];
  for (let i = 0; i < 30; i++) {
    const r = await fx.docker.ok(['exec', '-t', 'bursts', 'sh', '-c', burst]);
    if (r.stdout.length !== expected || !r.stdout.endsWith('END-MARK\r\n')) short.push(r.stdout.length);
  }
  assert.deepEqual(short, [], `exec -t outputs shorter than ${expected} bytes`);
  await fx.docker.ok(['rm', '-f', 'bursts']);
  const run = await fx.docker.ok(['run', '--rm', '-t', fx.image, 'sh', '-c', burst]);
  assert.equal(run.stdout.length, expected);
});

/**
 * Piped stdin through `docker run -i` and `docker exec -i` arrives whole
 * (#16): `head -c 300000 /dev/urandom | docker run -i --rm IMAGE md5sum`
 * never completed. Binary input holds Ctrl-P Ctrl-Q here and there, which
 * the engine took for the detach keys without a terminal (dockerd reads them
 * only on a TTY); each input here carries that pair on purpose. md5sum
 * answers only after its stdin ends, so the output also proves the
 * half-close: the CLI shuts down its write side and still reads the answer.
 * Both CLIs: 28.x and the 20.10 one from Debian's docker.io.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { DOCKER_BIN, DockerCli } from '../helpers/docker.js';
import { useContainersFixture } from './containers-fixture.js';

const OLD_CLI = '/usr/bin/docker';
const SIZES: [string, number][] = [
  ['1 KB', 1024],
  ['300 KB', 300_000],
  ['10 MB', 10 * 1024 * 1024],
];

/** Random bytes with the default detach sequence (0x10 0x11) planted near the start. */
function input(size: number): Buffer {
  const b = randomBytes(size);
  b[10] = 0x10;
  b[11] = 0x11;
  return b;
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

describe('piped stdin into run -i and exec -i', () => {
  const fx = useContainersFixture();

  for (const [cliName, bin] of [
    ['28.x', DOCKER_BIN],
    ['20.10', OLD_CLI],
  ] as const) {
    describe(`with the ${cliName} CLI`, { skip: !existsSync(bin) && `${bin} is not installed` }, () => {
      let cli: DockerCli;
      const box = `stdin-${cliName.replace('.', '')}`;
      before(async () => {
        cli = new DockerCli(fx.agent.current.socket, bin);
        await cli.ok(['run', '-d', '--name', box, fx.image, 'sleep', '3600']);
      });
      after(async () => {
        await cli?.run(['rm', '-f', box]);
        cli?.dispose();
      });

      for (const [label, size] of SIZES) {
        test(`${label} through docker run -i --rm md5sum`, async () => {
          const data = input(size);
          const r = await cli.run(['run', '-i', '--rm', fx.image, 'md5sum'], { input: data, timeoutMs: 120_000 });
          assert.equal(r.timedOut, false, `docker run -i did not finish in 120 s; stderr: ${r.stderr}`);
          assert.equal(r.code, 0, r.stderr);
          assert.equal(r.stdout.trim(), `${md5(data)}  -`);
        });

        test(`${label} through docker exec -i md5sum`, async () => {
          const data = input(size);
          const r = await cli.run(['exec', '-i', box, 'md5sum'], { input: data, timeoutMs: 120_000 });
          assert.equal(r.timedOut, false, `docker exec -i did not finish in 120 s; stderr: ${r.stderr}`);
          assert.equal(r.code, 0, r.stderr);
          assert.equal(r.stdout.trim(), `${md5(data)}  -`);
        });
      }
    });
  }
});

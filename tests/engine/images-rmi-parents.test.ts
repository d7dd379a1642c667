/**
 * `docker rmi` of a built image and its parents, as dockerd 20.10 does it
 * (seen there: `rmi` of the image of FROM, ENV, RUN, COPY, CMD deleted four
 * images, the three intermediate ones included): without --no-prune the untagged
 * parents go up the chain until one is tagged, has another child or is used
 * by a container; --no-prune keeps them all.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();

describe('docker rmi and the parents of an image', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-rmi-parents-'));
  });
  after(async () => {
    await fx.docker?.run(['rmi', 'rmiparents/a', 'rmiparents/b', 'rmiparents/mid']);
    await rm(dir, { recursive: true, force: true });
  });

  /** Builds FROM the fixture's image with these steps; returns the image's chain, newest first, without the base. */
  async function build(tag: string, steps: string[]): Promise<string[]> {
    await writeFile(join(dir, 'Dockerfile'), [`FROM ${fx.image}`, ...steps].join('\n') + '\n');
    const r = await fx.docker.run(['build', '-t', tag, dir], { env: { DOCKER_BUILDKIT: '0' }, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const base = out(await fx.docker.ok(['inspect', '-f', '{{.Id}}', fx.image])).slice(7, 19);
    return out(await fx.docker.ok(['history', '-q', tag]))
      .split('\n')
      .filter((id) => id && id !== '<missing>' && id !== base);
  }
  const present = async () => out(await fx.docker.ok(['images', '-aq'])).split('\n');

  test('rmi takes the untagged parents with it; --no-prune keeps them', async () => {
    const chain = await build('rmiparents/a', ['ENV STEP=a1', 'RUN echo a > /a', 'LABEL step=a3']);
    assert.equal(chain.length, 3);
    await fx.docker.ok(['rmi', '--no-prune', 'rmiparents/a']);
    let left = await present();
    assert.ok(!left.includes(chain[0]!));
    assert.ok(
      chain.slice(1).every((id) => left.includes(id)),
      'the parents were kept',
    );
    await fx.docker.ok(['rmi', chain[1]!]);
    left = await present();
    assert.ok(!chain.some((id) => left.includes(id)), 'the rest of the chain went with it');
  });

  test('the pruning stops at a tagged parent and at one with another child', async () => {
    const chain = await build('rmiparents/b', ['ENV STEP=b1', 'RUN echo b > /b', 'LABEL step=b3', 'LABEL step=b4']);
    await fx.docker.ok(['tag', chain[2]!, 'rmiparents/mid']); // the RUN step's image
    await build('rmiparents/b-sibling', ['ENV STEP=b1', 'RUN echo b > /b', 'LABEL other=1']); // a second child of the RUN step's image
    await fx.docker.ok(['rmi', 'rmiparents/b']);
    const left = await present();
    assert.ok(!left.includes(chain[0]!) && !left.includes(chain[1]!), 'the untagged parent went');
    assert.ok(left.includes(chain[2]!) && left.includes(chain[3]!), 'the tagged one and what is below it stayed');
    await fx.docker.ok(['rmi', 'rmiparents/b-sibling']);
    await fx.docker.ok(['rmi', 'rmiparents/mid']);
    const after = await present();
    assert.ok(!after.includes(chain[2]!) && !after.includes(chain[3]!), 'with its last child and tag gone, the chain went too');
  });
});

/**
 * Bind mounts and the mounts under their source, as Docker 25+ does them: a
 * read-only bind is read-only all the way down (before, a tmpfs mounted
 * under the source stayed writable), `bind-recursive=writable` keeps the old
 * top-only behaviour, `disabled` binds the source alone; shared and slave
 * propagation, which Berth does not set up, are refused by name.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { engineRequest } from '../helpers/docker.js';
import { out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();
const dir = mkdtempSync(join(tmpdir(), 'berth-rbind-'));
const sub = join(dir, 'sub');

before(() => {
  mkdirSync(sub);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', sub]);
  writeFileSync(join(sub, 'on-the-submount'), 'x');
});

after(() => {
  execFileSync('umount', ['-l', sub]);
  rmSync(dir, { recursive: true, force: true });
});

/** Tries a write at the top of /m and one on the submount; prints "top=0|1 sub=0|1" (0: written). */
const PROBE = 'touch /m/top 2>/dev/null; t=$?; touch /m/sub/x 2>/dev/null; s=$?; echo "top=$t sub=$s"; ls /m/sub';

async function probe(mountArgs: string[]): Promise<string> {
  return out(await fx.docker.ok(['run', '--rm', ...mountArgs, fx.image, 'sh', '-c', PROBE]));
}

describe('bind mounts and their submounts', () => {
  test(':ro and --mount readonly are read-only on the mounts under the source too', async () => {
    for (const args of [
      ['-v', `${dir}:/m:ro`],
      ['--mount', `type=bind,src=${dir},dst=/m,readonly`],
      ['--mount', `type=bind,src=${dir},dst=/m,readonly,bind-recursive=readonly,bind-propagation=rprivate`],
    ]) {
      assert.match(await probe(args), /^top=1 sub=1\n/, args.join(' '));
    }
    const info = out(await fx.docker.ok(['run', '--rm', '-v', `${dir}:/m:ro`, fx.image, 'grep', ' /m/sub ', '/proc/self/mountinfo']));
    assert.match(info, / \/m\/sub ro,/, 'the submount itself is ro in the container');
  });

  test('bind-recursive=writable: the top read-only, the submount writable (before Docker 25)', async () => {
    assert.match(await probe(['--mount', `type=bind,src=${dir},dst=/m,readonly,bind-recursive=writable`]), /^top=1 sub=0\n/);
  });

  test('bind-recursive=disabled: the source alone, the submount is not there', async () => {
    const r = await probe(['--mount', `type=bind,src=${dir},dst=/m,bind-recursive=disabled`]);
    assert.match(r, /^top=0 sub=0\n/);
    assert.doesNotMatch(r, /on-the-submount/, 'the directory under the tmpfs shows, not the tmpfs');
    assert.match(await probe(['-v', `${dir}:/m`]), /on-the-submount/, 'the control: a default bind carries the submount');
    rmSync(join(dir, 'top'), { force: true });
  });

  test('shared and slave propagation and contradictory options are a 400 naming them', async () => {
    const d = fx.docker;
    for (const [args, message] of [
      [['-v', `${dir}:/m:rshared`], /propagation "rshared": Berth does not support shared or slave mount propagation/],
      [['--mount', `type=bind,src=${dir},dst=/m,bind-propagation=rslave`], /propagation "rslave": Berth does not support/],
    ] as [string[], RegExp][]) {
      const r = await d.run(['run', '--rm', ...args, fx.image, 'true']);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, message, args.join(' '));
    }
    const bad = async (BindOptions: object, ReadOnly: boolean, message: RegExp) => {
      const r = await engineRequest(fx.agent.current.socket, 'POST', '/containers/create', {
        body: { Image: fx.image, HostConfig: { Mounts: [{ Type: 'bind', Source: dir, Target: '/m', ReadOnly, BindOptions }] } },
      });
      assert.equal(r.status, 400, JSON.stringify(BindOptions));
      assert.match(r.json<{ message: string }>().message, message);
    };
    await bad({ ReadOnlyNonRecursive: true }, false, /must not set ReadOnlyNonRecursive when ReadOnly is false/);
    await bad({ ReadOnlyNonRecursive: true, ReadOnlyForceRecursive: true }, true, /must not set both ReadOnlyNonRecursive and ReadOnlyForceRecursive/);
    await bad({ ReadOnlyForceRecursive: true, NonRecursive: true }, true, /must not set ReadOnlyForceRecursive when NonRecursive is true/);
  });
});

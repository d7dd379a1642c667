/**
 * Create fields that were stored and ignored, now applied or refused as
 * dockerd 20.10 on this machine answers them: ShmSize (the size of
 * /dev/shm), VolumesFrom, Config.NetworkDisabled, Config.MacAddress (API
 * before 1.44, the 20.10 CLI) and the endpoint's MacAddress (the 28.x CLI),
 * Isolation, StorageOpt, VolumeDriver, CgroupParent.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { engineRequest, runCommand } from '../helpers/docker.js';
import { out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();
const run = randomBytes(3).toString('hex');
const names = ['vf-src', 'vf-ro', 'vf-rw', 'nonet', 'mac20', 'mac28'].map((n) => `${n}-${run}`);
after(async () => {
  await fx.docker?.run(['rm', '-f', '-v', ...names]);
  await fx.docker?.run(['volume', 'rm', '-f', `vf-named-${run}`]);
});

async function create(body: Record<string, unknown>): Promise<{ status: number; text: string }> {
  const r = await engineRequest(fx.agent.current.socket, 'POST', '/containers/create', { body: { Image: fx.image, Cmd: ['true'], ...body } });
  const answer = r.json<{ Id?: string; message?: string }>();
  if (answer.Id) await fx.docker.run(['rm', '-f', answer.Id]);
  return { status: r.status, text: answer.message ?? '' };
}

test('--shm-size sets /dev/shm, 64 MiB by default as dockerd', async () => {
  const df = async (args: string[]) => out(await fx.docker.ok(['run', '--rm', ...args, fx.image, 'sh', '-c', "df -k /dev/shm | tail -1 | awk '{print $2}'"]));
  assert.equal(await df([]), '65536');
  assert.equal(await df(['--shm-size', '16m']), '16384');
  const c = out(await fx.docker.ok(['create', fx.image, 'true']));
  assert.equal(out(await fx.docker.ok(['inspect', '--format', '{{.HostConfig.ShmSize}}', c])), '67108864');
  await fx.docker.ok(['rm', c]);
  const neg = await create({ HostConfig: { ShmSize: -5 } });
  assert.equal(neg.status, 400);
  assert.match(neg.text, /SHM size can not be less than 0/);
});

test("--volumes-from shares the other container's volumes and binds, read-only when asked", async () => {
  const [src, ro, rw] = names;
  await fx.docker.ok(['run', '--name', src!, '-v', `vf-named-${run}:/data`, '-v', '/anon', fx.image, 'sh', '-c', 'echo shared > /data/f; echo anon > /anon/g']);
  assert.equal(
    out(
      await fx.docker.ok([
        'run',
        '--name',
        ro!,
        '--volumes-from',
        `${src}:ro`,
        fx.image,
        'sh',
        '-c',
        'cat /data/f /anon/g; touch /data/x 2>/dev/null && echo wrote || echo refused',
      ]),
    ),
    'shared\nanon\nrefused',
  );
  assert.equal(
    out(await fx.docker.ok(['run', '--name', rw!, '--volumes-from', src!, fx.image, 'sh', '-c', 'echo more >> /data/f && cat /data/f'])),
    'shared\nmore',
  );
  // rm -v of a container that only borrowed the anonymous volume leaves it to its owner
  await fx.docker.ok(['rm', '-v', rw!]);
  assert.equal(out(await fx.docker.ok(['start', '-a', ro!])), 'shared\nmore\nanon\nrefused');
  const missing = await create({ HostConfig: { VolumesFrom: ['nope-nope'] } });
  assert.equal(missing.status, 400);
  assert.match(missing.text, /No such container: nope-nope/);
});

test('NetworkDisabled leaves the loopback only; a MAC address reaches eth0 from both CLIs', async () => {
  const [, , , nonet, mac20, mac28] = names;
  const r = await engineRequest(fx.agent.current.socket, 'POST', `/containers/create?name=${nonet}`, {
    body: { Image: fx.image, Cmd: ['ls', '/sys/class/net'], NetworkDisabled: true },
  });
  assert.equal(r.status, 201, r.text());
  assert.equal(out(await fx.docker.ok(['start', '-a', nonet!])), 'lo');

  // the 20.10 CLI sends Config.MacAddress
  const old = await runCommand(
    '/usr/bin/docker',
    ['run', '--name', mac20!, '--mac-address', '02:42:ac:11:00:99', fx.image, 'cat', '/sys/class/net/eth0/address'],
    { env: { DOCKER_HOST: fx.docker.host, DOCKER_CONFIG: fx.docker.configDir } },
  );
  assert.equal(old.code, 0, old.stderr);
  assert.equal(old.stdout.trim(), '02:42:ac:11:00:99');
  assert.equal(
    out(await fx.docker.ok(['run', '--name', mac28!, '--mac-address', '02:42:ac:11:00:98', fx.image, 'cat', '/sys/class/net/eth0/address'])),
    '02:42:ac:11:00:98',
  );
  const bad = await create({ MacAddress: 'zz' });
  assert.equal(bad.status, 400);
  assert.match(bad.text, /zz is not a valid mac address/);
  const host = await create({ MacAddress: '02:42:ac:11:00:97', HostConfig: { NetworkMode: 'host' } });
  assert.equal(host.status, 400);
  assert.match(host.text, /conflicting options: mac-address and the network mode/);
});

test("Isolation, StorageOpt, VolumeDriver, CgroupParent: dockerd's answers, or refused by name", async () => {
  const cases: [Record<string, unknown>, number, RegExp][] = [
    [{ Isolation: 'hyperv' }, 500, /Invalid isolation: "hyperv" - linux only supports 'default'/],
    [{ StorageOpt: { size: '1G' } }, 500, /--storage-opt is supported only for overlay over xfs with 'pquota' mount option/],
    [{ VolumeDriver: 'foo' }, 400, /error looking up volume plugin foo: plugin "foo" not found/],
    [{ CgroupParent: '/mine' }, 400, /HostConfig\.CgroupParent: .*--cgroup-parent/],
  ];
  for (const [hc, status, message] of cases) {
    const r = await create({ HostConfig: hc });
    assert.equal(r.status, status, JSON.stringify(hc));
    assert.match(r.text, message);
  }
  for (const hc of [{ Isolation: 'default' }, { VolumeDriver: 'local' }, { StorageOpt: {} }])
    assert.equal((await create({ HostConfig: hc })).status, 201, JSON.stringify(hc));
});

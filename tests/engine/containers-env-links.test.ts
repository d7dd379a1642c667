/**
 * The environment of a container's processes as dockerd and runc give it
 * (checked against dockerd 20.10 on this machine: PATH, HOSTNAME, TERM with
 * -t, HOME from the user's passwd entry), in docker exec too; the legacy
 * link variables of `--link NAME:ALIAS`; and `docker rm --link`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();
const run = randomBytes(3).toString('hex');
const target = `lnk-db-${run}`;
const box = `env-box-${run}`;
const web = `lnk-web-${run}`;
after(async () => {
  await fx.docker?.run(['rm', '-f', target, box, web]);
});

const envOf = async (args: string[], cmd: string[] = ['env']) => out(await fx.docker.ok(['run', '--rm', ...args, fx.image, ...cmd])).split('\n');

test('PATH, HOSTNAME, TERM with a terminal, HOME from /etc/passwd, as dockerd', async () => {
  const plain = await envOf(['--hostname', 'envhost']);
  assert.deepEqual(plain, ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=envhost', 'HOME=/root']);
  assert.ok((await envOf(['-t'])).map((l) => l.replace(/\r$/, '')).includes('TERM=xterm'));
  assert.ok((await envOf(['-u', 'nobody'])).includes('HOME=/nonexistent'));
  assert.ok((await envOf(['-u', '4242'])).includes('HOME=/'));
  assert.ok((await envOf(['-e', 'HOME=/mine', '-e', 'HOSTNAME=given'])).includes('HOME=/mine'));
  await fx.docker.ok(['run', '-d', '--name', box, '--hostname', 'boxhost', '-e', 'A=1', fx.image, 'sleep', '1000']);
  const exec = out(await fx.docker.ok(['exec', '-e', 'B=2', box, 'env'])).split('\n');
  for (const line of ['HOSTNAME=boxhost', 'HOME=/root', 'A=1', 'B=2']) assert.ok(exec.includes(line), `${line} in ${exec.join(' ')}`);
  assert.ok(!exec.includes('TERM=xterm'), 'no terminal, no TERM');
});

test('--link sets the legacy link variables; docker rm --link removes the link', async () => {
  await fx.docker.ok(['run', '-d', '--name', target, '--expose', '5432', '--expose', '80', '-e', 'SECRET=s3', fx.image, 'sleep', '1000']);
  const ip = out(await fx.docker.ok(['inspect', '--format', '{{.NetworkSettings.IPAddress}}', target]));
  await fx.docker.ok(['create', '--name', web, '--link', `${target}:my-db`, fx.image, 'env']);
  const env = out(await fx.docker.ok(['start', '-a', web])).split('\n');
  for (const line of [
    `MY_DB_PORT=tcp://${ip}:80`,
    `MY_DB_PORT_80_TCP=tcp://${ip}:80`,
    `MY_DB_PORT_80_TCP_ADDR=${ip}`,
    'MY_DB_PORT_80_TCP_PORT=80',
    'MY_DB_PORT_80_TCP_PROTO=tcp',
    `MY_DB_PORT_5432_TCP=tcp://${ip}:5432`,
    `MY_DB_PORT_5432_TCP_ADDR=${ip}`,
    `MY_DB_NAME=/${web}/my-db`,
    'MY_DB_ENV_SECRET=s3',
  ])
    assert.ok(env.includes(line), `${line} missing from:\n${env.join('\n')}`);
  assert.ok(!env.some((l) => l.startsWith('MY_DB_ENV_PATH=') || l.startsWith('MY_DB_ENV_HOME=')));

  await fx.docker.ok(['rm', '--link', `/${web}/my-db`]);
  assert.equal(out(await fx.docker.ok(['inspect', '--format', '{{json .HostConfig.Links}}', web])), 'null');
  const again = out(await fx.docker.ok(['start', '-a', web])).split('\n');
  assert.ok(!again.some((l) => l.startsWith('MY_DB_')), 'the link is gone');
  const missing = await fx.docker.run(['rm', '--link', `/${web}/nope`]);
  assert.notEqual(missing.code, 0);
});

/**
 * Swarm and plugin endpoints answer as a dockerd in no swarm and with no
 * plugin does (#16): 503 with dockerd's words for every swarm, service,
 * node, task, secret and config path (clients read it as "not a swarm"; a
 * 404 "page not found" read as a broken engine), `GET /plugins` an empty
 * list, a named plugin not found, and installing one refused with what is
 * built in. Raw HTTP for every path, then the docker CLI as a user meets it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { useAgent } from '../helpers/agent.js';
import { DockerCli, engineRequest } from '../helpers/docker.js';

const NOT_A_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';

/** The routes of moby's swarm router, with a body where the route reads one. */
const MANAGER_ONLY: [string, string, object?][] = [
  ['GET', '/swarm'],
  ['GET', '/swarm/unlockkey'],
  ['POST', '/swarm/update?version=1', {}],
  ['POST', '/swarm/unlock', { UnlockKey: 'SWMKEY-1-x' }],
  ['GET', '/services'],
  ['GET', '/services?filters=%7B%22label%22%3A%5B%22com.docker.stack.namespace%22%5D%7D'],
  ['POST', '/services/create', { Name: 'web', TaskTemplate: { ContainerSpec: { Image: 'busybox' } } }],
  ['GET', '/services/web'],
  ['POST', '/services/web/update?version=1', {}],
  ['DELETE', '/services/web'],
  ['GET', '/services/web/logs?stdout=1'],
  ['GET', '/nodes'],
  ['GET', '/nodes/self'],
  ['DELETE', '/nodes/abc'],
  ['POST', '/nodes/abc/update?version=1', {}],
  ['GET', '/tasks'],
  ['GET', '/tasks/abc'],
  ['GET', '/tasks/abc/logs?stdout=1'],
  ['GET', '/secrets'],
  ['POST', '/secrets/create', { Name: 's', Data: 'eA==' }],
  ['GET', '/secrets/s'],
  ['POST', '/secrets/s/update?version=1', {}],
  ['DELETE', '/secrets/s'],
  ['GET', '/configs'],
  ['POST', '/configs/create', { Name: 'c', Data: 'eA==' }],
  ['GET', '/configs/c'],
  ['POST', '/configs/c/update?version=1', {}],
  ['DELETE', '/configs/c'],
];

describe('swarm and plugin endpoints on an engine in no swarm', () => {
  const agent = useAgent();
  let docker: DockerCli;
  let sock: string;
  before(async () => {
    await agent.ready;
    sock = agent.current.socket;
    docker = new DockerCli(sock);
  });
  after(() => docker?.dispose());

  test("every swarm, service, node, task, secret and config path: 503 with dockerd's words, with or without the version prefix", async () => {
    for (const [method, path, body] of MANAGER_ONLY) {
      for (const prefix of ['', '/v1.41', '/v1.47']) {
        const r = await engineRequest(sock, method, prefix + path, body ? { body } : {});
        assert.equal(r.status, 503, `${method} ${prefix}${path}: ${r.text()}`);
        assert.deepEqual(r.json(), { message: NOT_A_MANAGER }, `${method} ${prefix}${path}`);
      }
    }
  });

  test('leave says the node is in no swarm; init and join are refused, saying what to use', async () => {
    const leave = await engineRequest(sock, 'POST', '/swarm/leave?force=1');
    assert.equal(leave.status, 503);
    assert.deepEqual(leave.json(), { message: 'This node is not part of a swarm' });
    for (const path of ['/swarm/init', '/swarm/join']) {
      const r = await engineRequest(sock, 'POST', path, { body: { ListenAddr: '0.0.0.0:2377' } });
      assert.equal(r.status, 501, `${path}: ${r.text()}`);
      assert.match(r.json<{ message: string }>().message, /^Berth does not run swarm mode: .*docker compose/);
    }
  });

  test('GET /info: Swarm is inactive, as dockerd reports it', async () => {
    const info = (await engineRequest(sock, 'GET', '/info')).json<{ Swarm: unknown }>();
    assert.deepEqual(info.Swarm, { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null });
  });

  test('plugins: an empty list, filters checked, a named one not found, install and create refused', async () => {
    const list = await engineRequest(sock, 'GET', '/plugins');
    assert.equal(list.status, 200);
    assert.deepEqual(list.json(), []);
    const enabled = await engineRequest(sock, 'GET', `/plugins?filters=${encodeURIComponent('{"enabled":["true"],"capability":["volumedriver"]}')}`);
    assert.deepEqual(enabled.json(), []);
    const badKey = await engineRequest(sock, 'GET', `/plugins?filters=${encodeURIComponent('{"name":["x"]}')}`);
    assert.equal(badKey.status, 400);
    assert.deepEqual(badKey.json(), { message: "invalid filter 'name'" });
    const badValue = await engineRequest(sock, 'GET', `/plugins?filters=${encodeURIComponent('{"enabled":["maybe"]}')}`);
    assert.equal(badValue.status, 400);
    assert.deepEqual(badValue.json(), { message: "invalid filter 'enabled=maybe'" });
    for (const [method, path] of [
      ['GET', '/plugins/vieux/sshfs:latest/json'],
      ['DELETE', '/plugins/vieux/sshfs:latest'],
      ['POST', '/plugins/vieux/sshfs:latest/enable'],
      ['POST', '/plugins/vieux/sshfs:latest/disable'],
      ['POST', '/plugins/vieux/sshfs:latest/set'],
      ['POST', '/plugins/vieux/sshfs:latest/upgrade'],
      ['POST', '/plugins/vieux/sshfs:latest/push'],
    ] as const) {
      const r = await engineRequest(sock, method, path, method === 'POST' ? { body: [] } : {});
      assert.equal(r.status, 404, `${method} ${path}: ${r.text()}`);
      assert.deepEqual(r.json(), { message: 'plugin "vieux/sshfs:latest" not found' }, `${method} ${path}`);
    }
    for (const [method, path] of [
      ['GET', '/plugins/privileges?remote=vieux/sshfs'],
      ['POST', '/plugins/pull?remote=vieux/sshfs'],
      ['POST', '/plugins/create?name=mine'],
    ] as const) {
      const r = await engineRequest(sock, method, path);
      assert.equal(r.status, 501, `${method} ${path}: ${r.text()}`);
      assert.match(
        r.json<{ message: string }>().message,
        /^Berth does not run Docker Engine plugins, so (vieux\/sshfs cannot be installed|plugin mine cannot be created): .*volume driver \(local\)/,
      );
    }
  });

  test("the docker CLI: service, node, secret, config and stack commands print dockerd's error and exit 1", async () => {
    for (const args of [
      ['service', 'ls'],
      ['node', 'ls'],
      ['secret', 'ls'],
      ['config', 'ls'],
      ['service', 'inspect', 'web'],
      ['service', 'create', '--name', 'web', 'busybox'],
      ['stack', 'ls'],
      ['swarm', 'unlock-key'],
    ]) {
      const r = await docker.run(args);
      assert.equal(r.code, 1, `docker ${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(
        r.stderr,
        /This node is not a swarm manager\. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again\./,
        `docker ${args.join(' ')}`,
      );
      assert.doesNotMatch(r.stderr, /page not found/);
    }
    const leave = await docker.run(['swarm', 'leave']);
    assert.equal(leave.code, 1);
    assert.match(leave.stderr, /Error response from daemon: This node is not part of a swarm/);
    const init = await docker.run(['swarm', 'init']);
    assert.equal(init.code, 1);
    assert.match(init.stderr, /Berth does not run swarm mode/);
  });

  test('the docker CLI: info says Swarm: inactive; plugin ls is empty; plugin install and rm say why', async () => {
    const info = await docker.ok(['info']);
    assert.match(info.stdout, /^ Swarm: inactive$/m);
    assert.equal((await docker.ok(['info', '--format', '{{.Swarm.LocalNodeState}}'])).stdout.trim(), 'inactive');
    const ls = await docker.ok(['plugin', 'ls', '--format', '{{.Name}}']);
    assert.equal(ls.stdout.trim(), '');
    const install = await docker.run(['plugin', 'install', '--grant-all-permissions', 'vieux/sshfs']);
    assert.notEqual(install.code, 0);
    assert.match(install.stderr, /Berth does not run Docker Engine plugins, so (docker\.io\/)?vieux\/sshfs(:latest)? cannot be installed/);
    const rm = await docker.run(['plugin', 'rm', 'vieux/sshfs']);
    assert.equal(rm.code, 1);
    assert.match(rm.stderr, /plugin "vieux\/sshfs(:latest)?" not found/);
  });
});

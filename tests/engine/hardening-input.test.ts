/**
 * Bad input to the engine socket, table-driven: each request gets the
 * status code dockerd gives (and its wording where it has one), the engine
 * goes on serving, and what it lists is unchanged. Then concurrency: one
 * name created many times at once, a stop of a stopped container, and 100
 * containers created, started and removed in parallel with nothing left
 * on the host.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { beforeEach, describe, test } from 'node:test';
import { engineRequest } from '../helpers/docker.js';
import { assertServing, useContainersFixture } from './containers-fixture.js';
import { assertNothingLeft, bounded, engineState } from './hardening-fixture.js';

const fx = useContainersFixture();
const json = { 'content-type': 'application/json' };

interface Case {
  what: string;
  method: string;
  path: string;
  body?: string | object | Buffer;
  headers?: Record<string, string>;
  status: number;
  /** The whole message, or a pattern. */
  message?: string | RegExp;
}

/** `IMAGE` in a body or path is replaced by the pulled busybox reference. */
const cases: Case[] = [
  // The body of a create.
  { what: 'malformed JSON', method: 'POST', path: '/containers/create', body: '{"Image": ', headers: json, status: 400, message: /^invalid JSON: / },
  {
    what: 'trailing bytes after the JSON',
    method: 'POST',
    path: '/containers/create',
    body: '{"Image":"IMAGE"} {}',
    headers: json,
    status: 400,
    message: /^invalid JSON: /,
  },
  {
    what: 'a non-JSON Content-Type',
    method: 'POST',
    path: '/containers/create',
    body: '{"Image":"IMAGE"}',
    headers: { 'content-type': 'text/plain' },
    status: 400,
    message: "unsupported Content-Type header (text/plain): must be 'application/json'",
  },
  {
    what: 'an empty create body',
    method: 'POST',
    path: '/containers/create',
    body: '',
    headers: json,
    status: 400,
    message: 'config cannot be empty in order to create a container',
  },
  {
    what: 'a JSON null create body',
    method: 'POST',
    path: '/containers/create',
    body: 'null',
    headers: json,
    status: 400,
    message: 'config cannot be empty in order to create a container',
  },
  { what: 'a JSON array as the create body', method: 'POST', path: '/containers/create', body: '[]', headers: json, status: 400 },
  { what: 'a create without an image', method: 'POST', path: '/containers/create', body: { Cmd: ['true'] }, status: 400 },
  {
    what: 'a body over the size limit',
    method: 'POST',
    path: '/containers/create',
    body: Buffer.alloc(5 << 20, 0x20),
    headers: json,
    status: 413,
    message: /request body too large/,
  },
  // Fields of the wrong JSON type: dockerd's decoder refuses them (400), never a 500.
  { what: 'Image as a number', method: 'POST', path: '/containers/create', body: { Image: 5 }, status: 400 },
  { what: 'Env as a string', method: 'POST', path: '/containers/create', body: { Image: 'IMAGE', Env: 'A=1' }, status: 400 },
  { what: 'Env with a number', method: 'POST', path: '/containers/create', body: { Image: 'IMAGE', Env: [1] }, status: 400 },
  { what: 'Cmd as an object', method: 'POST', path: '/containers/create', body: { Image: 'IMAGE', Cmd: { a: 1 } }, status: 400 },
  { what: 'Labels as a list', method: 'POST', path: '/containers/create', body: { Image: 'IMAGE', Labels: ['a'] }, status: 400 },
  { what: 'HostConfig as a string', method: 'POST', path: '/containers/create', body: { Image: 'IMAGE', HostConfig: 'x' }, status: 400 },
  { what: 'Binds as a string', method: 'POST', path: '/containers/create', body: { Image: 'IMAGE', HostConfig: { Binds: '/tmp:/x' } }, status: 400 },
  {
    what: 'PortBindings of the wrong shape',
    method: 'POST',
    path: '/containers/create',
    body: { Image: 'IMAGE', HostConfig: { PortBindings: { '80/tcp': 'x' } } },
    status: 400,
  },
  { what: 'Memory as a string', method: 'POST', path: '/containers/create', body: { Image: 'IMAGE', HostConfig: { Memory: 'lots' } }, status: 400 },
  {
    what: 'NetworkingConfig of the wrong shape',
    method: 'POST',
    path: '/containers/create',
    body: { Image: 'IMAGE', NetworkingConfig: { EndpointsConfig: 'bridge' } },
    status: 400,
  },
  // Names (dockerd's validContainerNamePattern).
  ...['a', '/a', '-ab', '.ab', 'a b', 'a/b', 'ab!', 'ab\n', 'é1'].map((name): Case => ({
    what: `container name ${JSON.stringify(name)}`,
    method: 'POST',
    path: `/containers/create?name=${encodeURIComponent(name)}`,
    body: { Image: 'IMAGE' },
    status: 400,
    message: `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
  })),
  {
    what: 'rename to an invalid name',
    method: 'POST',
    path: '/containers/keeper/rename?name=a',
    status: 400,
    message: 'Invalid container name (a), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed',
  },
  // References.
  {
    what: 'an upper-case image reference',
    method: 'POST',
    path: '/containers/create',
    body: { Image: 'Busybox' },
    status: 400,
    message: 'invalid reference format: repository name (library/Busybox) must be lowercase',
  },
  {
    what: 'a truncated digest',
    method: 'POST',
    path: '/containers/create',
    body: { Image: 'busybox@sha256:abc' },
    status: 400,
    message: /invalid reference format/,
  },
  {
    what: 'an unknown digest algorithm',
    method: 'POST',
    path: '/containers/create',
    body: { Image: `busybox@md5:${'0'.repeat(32)}` },
    status: 400,
    message: /invalid reference format/,
  },
  {
    what: 'an upper-case pull',
    method: 'POST',
    path: '/images/create?fromImage=UPPER&tag=latest',
    status: 400,
    message: 'invalid reference format: repository name (library/UPPER) must be lowercase',
  },
  { what: 'a pull of a bad digest', method: 'POST', path: '/images/create?fromImage=busybox&tag=sha256:zz', status: 400, message: /invalid reference format/ },
  { what: 'a tag with a bad repo', method: 'POST', path: '/images/IMAGE/tag?repo=Bad&tag=x', status: 400, message: /invalid reference format/ },
  {
    what: 'an unknown image',
    method: 'POST',
    path: '/containers/create',
    body: { Image: 'nosuch-hardening' },
    status: 404,
    message: 'No such image: nosuch-hardening:latest',
  },
  // API versions.
  {
    what: 'an API version too new',
    method: 'POST',
    path: '/v1.99/containers/create',
    body: { Image: 'IMAGE' },
    status: 400,
    message: /^client version 1\.99 is too new\. Maximum supported API version is 1\.\d+$/,
  },
  {
    what: 'an API version too old',
    method: 'GET',
    path: '/v1.11/containers/json',
    status: 400,
    message: /^client version 1\.11 is too old\. Minimum supported API version is 1\.24, please upgrade your client to a newer version$/,
  },
  { what: 'a garbled API version', method: 'GET', path: '/v1.x/containers/json', status: 404, message: 'page not found' },
  // Other containers routes.
  { what: 'an unknown container', method: 'POST', path: '/containers/nosuch-hardening/start', status: 404, message: 'No such container: nosuch-hardening' },
  { what: 'a bad signal', method: 'POST', path: '/containers/keeper/kill?signal=SIGNOPE', status: 400, message: /invalid signal/ },
  { what: 'a bad wait condition', method: 'POST', path: '/containers/keeper/wait?condition=soon', status: 400, message: 'invalid condition: "soon"' },
  { what: 'a non-integer limit', method: 'GET', path: '/containers/json?limit=many', status: 400 },
  { what: 'filters that are not JSON', method: 'GET', path: '/containers/json?filters=%7Bnope', status: 400, message: 'invalid filter: {nope' },
  {
    what: 'an unknown filter',
    method: 'GET',
    path: '/containers/json?filters=%7B%22colour%22%3A%5B%22red%22%5D%7D',
    status: 400,
    message: "invalid filter 'colour'",
  },
  { what: 'an exec with a bad body', method: 'POST', path: '/containers/keeper/exec', body: '{"Cmd": "x"', headers: json, status: 400 },
  { what: 'an exec with Cmd as a number', method: 'POST', path: '/containers/keeper/exec', body: { Cmd: 5 }, status: 400 },
  { what: 'an update with malformed JSON', method: 'POST', path: '/containers/keeper/update', body: '{', headers: json, status: 400 },
  {
    what: 'a network with a bad subnet',
    method: 'POST',
    path: '/networks/create',
    body: { Name: 'hardening-bad', IPAM: { Config: [{ Subnet: '10.0.0.0/99' }] } },
    status: 400,
  },
  { what: 'a network with a number for a name', method: 'POST', path: '/networks/create', body: { Name: 7 }, status: 400 },
  { what: 'a volume with an invalid name', method: 'POST', path: '/volumes/create', body: { Name: '../escape' }, status: 400 },
  { what: 'an unknown route', method: 'GET', path: '/containers/keeper/nonsense', status: 404, message: 'page not found' },
  { what: 'a percent-encoding that does not decode', method: 'GET', path: '/containers/%E0%A4%A/json', status: 400 },
];

let image: string;
let keeper: Promise<unknown> | undefined;
/** The busybox image and a created container named "keeper" the cases refer to. */
async function setUp(): Promise<void> {
  await fx.agent.ready;
  image = fx.image;
  keeper ??= fx.docker.ok(['create', '--name', 'keeper', image, 'sleep', '1000']);
  await keeper;
}

describe('bad input to the engine socket', () => {
  for (const c of cases) {
    test(`${c.what}: ${c.status}`, async () => {
      await setUp();
      const sock = fx.agent.current.socket;
      const before = await engineState(sock);
      const fill = (s: string) => s.replaceAll('IMAGE', image);
      const body =
        c.body === undefined || Buffer.isBuffer(c.body) ? c.body : typeof c.body === 'string' ? fill(c.body) : JSON.parse(fill(JSON.stringify(c.body)));
      const r = await engineRequest(sock, c.method, fill(c.path).replace(`/images/${image}/`, `/images/${encodeURIComponent(image)}/`), {
        body,
        headers: c.headers,
      });
      assert.equal(r.status, c.status, `${c.method} ${c.path}: ${r.status} ${r.text()}`);
      const message = r.json<{ message?: unknown }>().message;
      assert.equal(typeof message, 'string', r.text());
      if (typeof c.message === 'string') assert.equal(message, c.message);
      else if (c.message) assert.match(message as string, c.message);
      await assertServing(fx);
      assert.deepEqual(await engineState(sock), before, 'the refused request changed nothing');
    });
  }

  test('a chunked body over the size limit is cut off with a 413 and the engine goes on', async () => {
    await setUp();
    const sock = fx.agent.current.socket;
    const before = await engineState(sock);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ socketPath: sock, method: 'POST', path: '/containers/create', headers: { host: 'docker', ...json } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(64 << 10, 0x20);
      let sent = 0;
      const pump = () => {
        while (sent < 16 << 20) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    assert.equal(status, 413);
    await assertServing(fx);
    assert.deepEqual(await engineState(sock), before);
  });
});

describe('concurrency', () => {
  beforeEach(setUp);
  test('16 concurrent creates with one name: exactly one wins, the rest get 409', async () => {
    const sock = fx.agent.current.socket;
    const results = await Promise.all(
      Array.from({ length: 16 }, () => engineRequest(sock, 'POST', '/containers/create?name=same-name', { body: { Image: image, Cmd: ['true'] } })),
    );
    const codes = results.map((r) => r.status).sort();
    assert.deepEqual(codes, [201, ...Array(15).fill(409)], results.map((r) => r.text()).join(''));
    for (const r of results.filter((x) => x.status === 409)) {
      assert.match(
        r.json<{ message: string }>().message,
        /^Conflict\. The container name "\/same-name" is already in use by container "[0-9a-f]{64}"\. You have to remove \(or rename\) that container to be able to reuse that name\.$/,
      );
    }
    const listed = await engineRequest(sock, 'GET', `/containers/json?all=1&filters=${encodeURIComponent('{"name":["^/same-name$"]}')}`);
    assert.equal(listed.json<unknown[]>().length, 1);
    await fx.docker.ok(['rm', 'same-name']);
    await assertNothingLeft(fx.agent.current);
  });

  test('stopping a stopped container is a 304; starting a started one too', async () => {
    const sock = fx.agent.current.socket;
    const created = await engineRequest(sock, 'POST', '/containers/create?name=stopper', { body: { Image: image, Cmd: ['sleep', '1000'] } });
    assert.equal(created.status, 201);
    assert.equal((await engineRequest(sock, 'POST', '/containers/stopper/stop')).status, 304, 'never started');
    assert.equal((await engineRequest(sock, 'POST', '/containers/stopper/start')).status, 204);
    assert.equal((await engineRequest(sock, 'POST', '/containers/stopper/start')).status, 304);
    const stops = await Promise.all([1, 2, 3].map(() => engineRequest(sock, 'POST', '/containers/stopper/stop?t=0')));
    assert.deepEqual(stops.map((r) => r.status).sort(), [204, 304, 304]);
    assert.equal((await engineRequest(sock, 'POST', '/containers/stopper/stop')).status, 304);
    await fx.docker.ok(['rm', 'stopper']);
  });

  test('100 containers created and started 10 at a time, then removed at once: nothing left behind', async () => {
    const sock = fx.agent.current.socket;
    const names = Array.from({ length: 100 }, (_, i) => `par-${i}`);
    const ids = await bounded(names, 10, async (name) => {
      const c = await engineRequest(sock, 'POST', `/containers/create?name=${name}`, { body: { Image: image, Cmd: ['sleep', '1000'] }, timeoutMs: 60_000 });
      assert.equal(c.status, 201, c.text());
      const id = c.json<{ Id: string }>().Id;
      const s = await engineRequest(sock, 'POST', `/containers/${id}/start`, { timeoutMs: 60_000 });
      assert.equal(s.status, 204, s.text());
      return id;
    });
    const running = await engineRequest(sock, 'GET', `/containers/json?filters=${encodeURIComponent('{"name":["^/par-"]}')}`);
    assert.equal(running.json<unknown[]>().length, 100);
    // Every container has its own address.
    const addrs = new Set(
      await bounded(
        ids,
        10,
        async (id) => (await engineRequest(sock, 'GET', `/containers/${id}/json`)).json<{ NetworkSettings: { IPAddress: string } }>().NetworkSettings.IPAddress,
      ),
    );
    assert.equal(addrs.size, 100);
    const removed = await bounded(ids, 100, (id) => engineRequest(sock, 'DELETE', `/containers/${id}?force=1`, { timeoutMs: 120_000 }));
    assert.deepEqual(
      removed.map((r) => r.status),
      Array(100).fill(204),
      removed.map((r) => r.text()).join(''),
    );
    await assertNothingLeft(fx.agent.current, ids);
  });
});

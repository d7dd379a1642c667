/**
 * `docker cp` holds a running container still, as dockerd does against the
 * symlink-swap race (CVE-2018-15664): its processes are frozen for the whole
 * copy, in both directions, and run again after. A paused container stays
 * paused. Each copy is held half way (a PUT whose body is not all sent, a GET
 * whose body is not read) to look at the container meanwhile.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeTar } from '../helpers/test-images.js';
import { eventually, inspect, out, useContainersFixture } from './containers-fixture.js';
import { cgroupDirsOf } from './hardening-fixture.js';

const fx = useContainersFixture();

/** The kernel's word on it: cgroup v2's cgroup.events, or v1's freezer.state. */
function frozen(id: string): boolean {
  return cgroupDirsOf(id).some((d) => {
    const v2 = join(d, 'cgroup.events');
    const v1 = join(d, 'freezer.state');
    if (existsSync(v2)) return /^frozen 1$/m.test(readFileSync(v2, 'utf8'));
    return existsSync(v1) && readFileSync(v1, 'utf8').trim() === 'FROZEN';
  });
}

/** A container counting in /tmp/tick every 50 ms; `tick()` reads the count from the host (an exec would hang in a frozen container). */
async function ticker(name: string, image = fx.image) {
  await fx.docker.ok(['run', '-d', '--name', name, image, 'sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /tmp/tick; sleep 0.05; done']);
  const id = await inspect<string>(fx.docker, name, '{{json .Id}}');
  const file = join(fx.agent.current.dataRoot, 'containers', id, 'upper/tmp/tick');
  const tick = () => (existsSync(file) ? readFileSync(file, 'utf8') : '');
  await eventually(`${name} counting`, async () => Number(tick()) > 0);
  return { id, tick };
}

/** The count moves on within 10 s (slow under load, but moving). */
async function advances(what: string, tick: () => string): Promise<void> {
  const from = tick();
  await eventually(what, async () => tick() !== from);
}

/** Over half a second the count does not move: nothing in the container runs. */
async function standsStill(tick: () => string): Promise<void> {
  const from = tick();
  await sleep(500);
  assert.equal(tick(), from, 'a process in the container ran during the copy');
}

function archiveRequest(method: 'GET' | 'PUT', id: string, path: string) {
  const req = request({
    socketPath: fx.agent.current.socket,
    method,
    path: `/containers/${id}/archive?path=${encodeURIComponent(path)}`,
    headers: { host: 'docker', ...(method === 'PUT' ? { 'content-type': 'application/x-tar' } : {}) },
  });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
  });
  return { req, response };
}

test('cp into a running container: frozen while the tar arrives, running after, never recorded as paused', async () => {
  const { id, tick } = await ticker('cp-freeze-in');
  const tar = await makeTar([{ path: 'held.txt', content: Buffer.alloc(1 << 20, 'x') }]);
  const { req, response } = archiveRequest('PUT', id, '/tmp');
  req.write(tar.subarray(0, 4096)); // a header and the start of the file; the rest is held back
  await eventually('the container frozen for the copy', async () => frozen(id));
  await standsStill(tick);
  // The freeze is the copy's, not a pause: no state change for clients to see.
  assert.deepEqual(await inspect(fx.docker, 'cp-freeze-in', '{{json .State.Status}}'), 'running');
  req.end(tar.subarray(4096));
  const res = await response;
  res.resume();
  assert.equal(res.statusCode, 200);
  assert.equal(frozen(id), false, 'thawed when the copy ended');
  await advances('the container counting again', tick);
  assert.equal(out(await fx.docker.ok(['exec', 'cp-freeze-in', 'sh', '-c', 'wc -c < /tmp/held.txt'])), String(1 << 20));
  await fx.docker.ok(['rm', '-f', 'cp-freeze-in']);
});

test('cp out of a running container: frozen until the tar is read, running after', async () => {
  // 8 MiB: far more than the socket buffers hold, so the copy waits on the reader.
  const image = await fx.extraImage('cp-freeze-big', { extraFiles: { 'big.bin': randomBytes(8 << 20) } });
  const { id, tick } = await ticker('cp-freeze-out', image);
  const { req, response } = archiveRequest('GET', id, '/big.bin');
  req.end();
  const res = await response;
  assert.equal(res.statusCode, 200);
  res.pause();
  assert.ok(frozen(id), 'frozen while the tar is sent');
  await standsStill(tick);
  let bytes = 0;
  res.on('data', (c: Buffer) => (bytes += c.length));
  const ended = new Promise((r) => res.on('end', r));
  res.resume(); // a 'data' listener alone does not undo an explicit pause()
  await ended;
  assert.ok(bytes > 8 << 20, `the whole file came out (${bytes} bytes of tar)`);
  await eventually('thawed when the copy ended', async () => !frozen(id));
  await advances('the container counting again', tick);
  await fx.docker.ok(['rm', '-f', 'cp-freeze-out']);
});

test('cp with a paused container works both ways and leaves it paused', async () => {
  const { id, tick } = await ticker('cp-freeze-paused');
  await fx.docker.ok(['pause', 'cp-freeze-paused']);
  const dir = await mkdtemp(join(tmpdir(), 'berth-cp-freeze-'));
  try {
    await writeFile(join(dir, 'in.txt'), 'into a paused container\n');
    await fx.docker.ok(['cp', join(dir, 'in.txt'), 'cp-freeze-paused:/tmp/in.txt']);
    await fx.docker.ok(['cp', 'cp-freeze-paused:/tmp/in.txt', join(dir, 'back.txt')]);
    assert.equal(readFileSync(join(dir, 'back.txt'), 'utf8'), 'into a paused container\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  assert.equal(await inspect(fx.docker, 'cp-freeze-paused', '{{json .State.Status}}'), 'paused');
  assert.ok(frozen(id), 'still frozen after the copies');
  await standsStill(tick);
  await fx.docker.ok(['unpause', 'cp-freeze-paused']);
  await advances('the container counting after unpause', tick);
  await fx.docker.ok(['rm', '-f', 'cp-freeze-paused']);
});

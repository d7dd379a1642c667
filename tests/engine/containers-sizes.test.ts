/**
 * Container sizes as dockerd reports them: SizeRw (the writable layer) and
 * SizeRootFs on `ps -s` and `inspect --size`, the containers of `system df`,
 * and what `container prune` deleted and reclaimed (before: sizes were
 * missing, system df listed no container, prune reclaimed 0 bytes).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { engineRequest } from '../helpers/docker.js';
import { out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();
after(async () => {
  await fx.docker?.run(['rm', '-f', 'sized-running', 'sized-done']);
});

const api = async <T>(method: string, path: string): Promise<T> => {
  const r = await engineRequest(fx.agent.current.socket, method, path);
  assert.equal(r.status, 200, `${method} ${path}: ${r.status} ${r.body}`);
  return JSON.parse(r.body.toString()) as T;
};
type Sized = { Id: string; Names: string[]; SizeRw?: number; SizeRootFs?: number };

test('ps -s, inspect --size, system df and prune count the writable layer', async () => {
  const done = out(await fx.docker.ok(['run', '--name', 'sized-done', fx.image, 'sh', '-c', 'head -c 300000 /dev/zero > /big']));
  assert.equal(done, '');
  const running = out(await fx.docker.ok(['run', '-d', '--name', 'sized-running', fx.image, 'sh', '-c', 'head -c 5000 /dev/zero > /small; sleep 1000']));
  const doneId = out(await fx.docker.ok(['inspect', '--format', '{{.Id}}', 'sized-done']));

  const list = await api<Sized[]>('GET', '/containers/json?all=1&size=1');
  const sized = list.find((c) => c.Id === doneId)!;
  assert.ok(sized.SizeRw! >= 300_000 && sized.SizeRw! < 400_000, `SizeRw ${sized.SizeRw}`);
  assert.ok(sized.SizeRootFs! > sized.SizeRw!, 'SizeRootFs includes the image');
  const plain = await api<Sized[]>('GET', '/containers/json?all=1');
  assert.equal(plain.find((c) => c.Id === doneId)!.SizeRw, undefined, 'without size=1 no walk is made');

  const inspected = await api<Sized>('GET', `/containers/${doneId}/json?size=1`);
  assert.equal(inspected.SizeRw, sized.SizeRw);
  assert.match(out(await fx.docker.ok(['ps', '-a', '-s', '--filter', 'name=sized-done', '--format', '{{.Size}}'])), /^30\dkB \(virtual /);

  const df = await api<{ Containers: Sized[] }>('GET', '/system/df');
  assert.equal(df.Containers.find((c) => c.Id === doneId)?.SizeRw, sized.SizeRw);

  const pruned = await api<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/containers/prune');
  assert.ok(pruned.ContainersDeleted?.includes(doneId), 'the exited container is deleted');
  assert.ok(!pruned.ContainersDeleted?.some((id) => id.startsWith(running.slice(0, 12))), 'a running one is kept');
  assert.ok(pruned.SpaceReclaimed >= sized.SizeRw!, `SpaceReclaimed ${pruned.SpaceReclaimed}`);
  assert.equal((await fx.docker.run(['inspect', 'sized-done'])).code, 1);
});

/**
 * LogConfig and Runtime as dockerd takes them, checked against dockerd 20.10
 * on this machine: json-file with max-file and no max-size is accepted (no
 * rotation); an unknown driver is refused in dockerd's words; what dockerd
 * has and Berth does not apply (other drivers, compress, labels, env, tag,
 * non-blocking mode) is a 400 naming it rather than stored and ignored;
 * HostConfig.Runtime is the engine's one runtime in inspect, and another is
 * dockerd's "Unknown runtime specified".
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { engineRequest } from '../helpers/docker.js';
import { out, useContainersFixture } from './containers-fixture.js';

const fx = useContainersFixture();
const made: string[] = [];
after(async () => {
  if (made.length) await fx.docker?.run(['rm', '-f', ...made]);
});

async function create(hostConfig: Record<string, unknown>): Promise<{ status: number; message: string; id?: string }> {
  const r = await engineRequest(fx.agent.current.socket, 'POST', '/containers/create', {
    body: { Image: fx.image, Cmd: ['sh', '-c', 'echo hi'], HostConfig: hostConfig },
  });
  const body = r.json<{ message?: string; Id?: string }>();
  if (body.Id) made.push(body.Id);
  return { status: r.status, message: body.message ?? '', id: body.Id };
}

test("json-file options: applied, refused by name, or dockerd's error", async () => {
  const ok = await create({ LogConfig: { Type: 'json-file', Config: { 'max-file': '3' } } });
  assert.equal(ok.status, 201, ok.message);
  await fx.docker.ok(['start', '-a', ok.id!]);
  assert.equal(out(await fx.docker.ok(['logs', ok.id!])), 'hi');
  assert.equal((await create({ LogConfig: { Type: 'none', Config: { whatever: 'x' } } })).status, 201);

  const refusals: [Record<string, unknown>, RegExp][] = [
    [{ Type: 'foo' }, /^error looking up logging plugin foo: plugin "foo" not found$/],
    [{ Type: 'local' }, /LogConfig\.Type "local".*json-file and none/],
    [{ Type: 'json-file', Config: { compress: 'true' } }, /option 'compress'/],
    [{ Type: 'json-file', Config: { labels: 'a' } }, /option 'labels'/],
    [{ Type: 'json-file', Config: { tag: '{{.Name}}' } }, /option 'tag'/],
    [{ Type: 'json-file', Config: { mode: 'non-blocking' } }, /mode=non-blocking/],
    [{ Type: 'json-file', Config: { mode: 'sometimes' } }, /^logger: logging mode not supported: sometimes$/],
    [{ Type: 'json-file', Config: { bogus: 'x' } }, /^unknown log opt 'bogus' for json-file log driver$/],
  ];
  for (const [LogConfig, message] of refusals) {
    const r = await create({ LogConfig });
    assert.equal(r.status, 400, JSON.stringify(LogConfig));
    assert.match(r.message, message);
  }
  assert.equal((await create({ LogConfig: { Type: 'json-file', Config: { mode: 'blocking', 'max-size': '1m' } } })).status, 201);
});

test("Runtime: the engine's own in inspect; another is refused", async () => {
  const c = await create({});
  assert.equal(out(await fx.docker.ok(['inspect', '--format', '{{.HostConfig.Runtime}}', c.id!])), 'berth');
  assert.equal((await create({ Runtime: 'berth' })).status, 201);
  const bad = await create({ Runtime: 'foo' });
  assert.equal(bad.status, 400);
  assert.equal(bad.message, 'Unknown runtime specified foo');
  const cli = await fx.docker.run(['run', '--rm', '--runtime', 'runc', fx.image, 'true']);
  assert.match(cli.stderr, /Unknown runtime specified runc/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Router } from './router.js';
import { notFound } from '../errors.js';
import { sendJson } from './http-io.js';

async function serve(router: Router) {
  const server = createServer((req, res) => void router.handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const get = async (path: string, method = 'GET') => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
    return { status: res.status, body: await res.text() };
  };
  return { get, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test('routes names with slashes, strips the version prefix, maps errors to status codes', async () => {
  const router = new Router();
  router.get('/images/{name:.*}/json', ({ res, params, apiVersion }) => sendJson(res, 200, { name: params.name, apiVersion }));
  router.get('/containers/{id}/json', ({ params }) => {
    throw notFound(`No such container: ${params.id}`);
  });
  const s = await serve(router);
  try {
    const a = await s.get('/v1.41/images/localhost:5000/a/b:1/json');
    assert.deepEqual(JSON.parse(a.body), { name: 'localhost:5000/a/b:1', apiVersion: '1.41' });
    const b = await s.get('/containers/abc/json');
    assert.equal(b.status, 404);
    assert.deepEqual(JSON.parse(b.body), { message: 'No such container: abc' });
    assert.equal((await s.get('/nothing')).status, 404);
    assert.equal((await s.get('/images/x/json', 'POST')).status, 400);
    const tooNew = await s.get('/v1.99/images/x/json');
    assert.equal(tooNew.status, 400);
    assert.match(JSON.parse(tooNew.body).message, /too new/);
  } finally {
    await s.close();
  }
});

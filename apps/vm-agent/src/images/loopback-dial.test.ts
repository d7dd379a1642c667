// The registry client with a loopback gateway, against a real HTTP server on
// 127.0.0.5 standing in for the host: requests named 127.0.0.1:PORT or
// localhost:PORT reach it (nothing listens on 127.0.0.1:PORT) with the Host
// header the user wrote, redirects to loopback names included.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { mappedOrigin } from './loopback-dial.js';
import { RegistryClient } from './registry-client.js';
import { isLoopbackDomain } from './registry-endpoint.js';

const seen: { url: string; host: string }[] = [];
const server = createServer((req: IncomingMessage, res) => {
  seen.push({ url: req.url!, host: req.headers.host! });
  if (req.url === '/v2/') return res.end('{}');
  if (req.url?.startsWith('/v2/x/blobs/')) {
    res.writeHead(307, { location: `http://localhost:${port}/storage/blob` });
    return res.end();
  }
  if (req.url === '/storage/blob') return res.end('layer bytes');
  res.writeHead(404).end();
});
let port = 0;

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.5', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => server.close());

test('mappedOrigin maps loopback origins to the gateway, keeping scheme and port', () => {
  assert.equal(mappedOrigin('http://localhost:5000', '10.0.2.2', isLoopbackDomain), 'http://10.0.2.2:5000');
  assert.equal(mappedOrigin('http://127.0.0.1:5000/', '10.0.2.2', isLoopbackDomain), 'http://10.0.2.2:5000');
  assert.equal(mappedOrigin('http://[::1]:5000', '10.0.2.2', isLoopbackDomain), 'http://10.0.2.2:5000');
  assert.equal(mappedOrigin('http://localhost', 'fe80::2', isLoopbackDomain), 'http://[fe80::2]');
  assert.equal(mappedOrigin('https://ghcr.io', '10.0.2.2', isLoopbackDomain), undefined);
  assert.equal(mappedOrigin('http://10.0.0.1:5000', '10.0.2.2', isLoopbackDomain), undefined);
});

test('loopback registries are dialed at the gateway with the Host the user wrote', async () => {
  seen.length = 0;
  const client = new RegistryClient({ loopbackGateway: '127.0.0.5' });
  assert.deepEqual(await client.login(`127.0.0.1:${port}`), { status: 'Login Succeeded' });
  assert.deepEqual(seen, [{ url: '/v2/', host: `127.0.0.1:${port}` }]);

  seen.length = 0;
  const blob = await client.fetchBlob({ domain: `localhost:${port}`, path: 'x' }, `sha256:${'a'.repeat(64)}`);
  const chunks: Buffer[] = [];
  for await (const c of blob.body) chunks.push(c as Buffer);
  assert.equal(Buffer.concat(chunks).toString(), 'layer bytes');
  assert.deepEqual(
    seen.map((s) => s.host),
    [`localhost:${port}`, `localhost:${port}`, `localhost:${port}`],
  );
});

test('without a gateway, loopback means this machine (nothing listens on 127.0.0.1:PORT)', async () => {
  const client = new RegistryClient();
  await assert.rejects(client.login(`127.0.0.1:${port}`), /connection refused|ECONNREFUSED/);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkRequest } from './guard.js';

const PORT = 43210;
const TOKEN = 'a'.repeat(43);
const host = `127.0.0.1:${PORT}`;
const API = '/api/call/engineState';

function verdict(url: string, headers: Record<string, string>, method = 'GET') {
  return checkRequest({ url, method, headers }, PORT, TOKEN);
}

test('the API takes the token from the X-Berth-Token header only', () => {
  assert.deepEqual(verdict(API, { host, 'x-berth-token': TOKEN }, 'POST'), { ok: true, via: 'header' });
  assert.deepEqual(verdict(API, { host: `localhost:${PORT}`, 'x-berth-token': TOKEN }, 'POST'), { ok: true, via: 'header' });
});

test('the API without the token, with a wrong one, or with it in a cookie or the query is 401', () => {
  const cases: [string, Record<string, string>][] = [
    [API, { host }],
    [API, { host, 'x-berth-token': 'b'.repeat(43) }],
    [API, { host, 'x-berth-token': TOKEN.slice(1) }],
    [API, { host, 'x-berth-token': TOKEN + 'a' }],
    [API, { host, cookie: `berth_token_${PORT}=${TOKEN}` }],
    [`${API}?token=${TOKEN}`, { host }],
    [API, { host, authorization: `Bearer ${TOKEN}` }],
  ];
  for (const method of ['POST', 'GET']) {
    for (const [url, headers] of cases) {
      const v = verdict(url, headers, method);
      assert.equal(!v.ok && v.status, 401, `${method} ${url} ${JSON.stringify(headers)}`);
    }
  }
});

test('every spelling of the API path needs the token', () => {
  for (const url of ['/api/stream/engineStates', '/%61pi/call/engineState', '/x/../api/call/engineState', '/API/call/engineState', '/api']) {
    const v = verdict(url, { host });
    assert.equal(!v.ok && v.status, 401, url);
  }
});

test('static files need no token, but only GET or HEAD', () => {
  for (const url of ['/', '/index.html', '/assets/index-abc.js']) {
    assert.deepEqual(verdict(url, { host }), { ok: true, via: 'static' }, url);
    assert.deepEqual(verdict(url, { host }, 'HEAD'), { ok: true, via: 'static' }, url);
    const post = verdict(url, { host, 'content-type': 'application/json' }, 'POST');
    assert.equal(!post.ok && post.status, 401, `POST ${url}`);
  }
});

test('a foreign or missing Host is 403, even with the token, static files too (DNS rebinding)', () => {
  for (const h of [`evil.example:${PORT}`, '127.0.0.1', `127.0.0.1:${PORT + 1}`, `localhost.evil.example:${PORT}`, undefined]) {
    for (const url of ['/', API]) {
      const headers: Record<string, string> = { 'x-berth-token': TOKEN };
      if (h) headers.host = h;
      const v = verdict(url, headers);
      assert.equal(!v.ok && v.status, 403, `Host ${h} ${url}`);
    }
  }
});

test('a foreign Origin is 403 (CSRF); our own origins pass', () => {
  for (const origin of ['http://evil.example', 'null', `https://127.0.0.1:${PORT}`, `http://127.0.0.1:${PORT + 1}`]) {
    for (const url of ['/', API]) {
      const v = verdict(url, { host, origin, 'x-berth-token': TOKEN }, 'POST');
      assert.equal(!v.ok && v.status, 403, `${origin} ${url}`);
    }
  }
  for (const origin of [`http://127.0.0.1:${PORT}`, `http://localhost:${PORT}`]) {
    assert.equal(verdict(API, { host, origin, 'x-berth-token': TOKEN }, 'POST').ok, true, origin);
  }
});

test("a cross-site request or a form post is 403 (CSRF without Origin); the dashboard's own JSON calls pass", () => {
  const auth = { 'x-berth-token': TOKEN };
  for (const site of ['cross-site', 'same-site']) {
    const v = verdict(API, { host, ...auth, 'sec-fetch-site': site, 'content-type': 'application/json' }, 'POST');
    assert.equal(!v.ok && v.status, 403, site);
    const page = verdict('/assets/index-abc.js', { host, 'sec-fetch-site': site });
    assert.equal(!page.ok && page.status, 403, `${site} static`);
  }
  // The launch page (file://, another site to the browser) navigates to / : that alone passes, and gets no token.
  const navigate = { host, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' };
  assert.deepEqual(verdict('/', navigate), { ok: true, via: 'static' });
  for (const [url, method, extra] of [
    ['/index.html', 'GET', {}],
    ['/assets/index-abc.js', 'GET', {}],
    ['/', 'GET', { 'sec-fetch-dest': 'iframe' }],
    ['/', 'GET', { 'sec-fetch-mode': 'no-cors' }],
    ['/', 'POST', { 'content-type': 'application/json' }],
    [API, 'GET', {}],
    [API, 'POST', { ...auth, 'content-type': 'application/json' }],
  ] as [string, string, Record<string, string>][]) {
    const v = verdict(url, { ...navigate, ...extra }, method);
    assert.equal(!v.ok && v.status, 403, `cross-site ${method} ${url} ${JSON.stringify(extra)}`);
  }
  // A form cannot set a header, so a form post never carries the token.
  for (const type of ['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/plain;charset=UTF-8']) {
    const v = verdict(API, { host, 'content-type': type }, 'POST');
    assert.equal(!v.ok && v.status, 403, type);
  }
  assert.deepEqual(verdict(API, { host, ...auth, 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' }, 'POST'), { ok: true, via: 'header' });
  assert.deepEqual(verdict('/', { host, 'sec-fetch-site': 'none' }), { ok: true, via: 'static' });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkRequest, tokenCookie, tokenCookieName } from './guard.js';

const PORT = 43210;
const TOKEN = 'a'.repeat(43);
const host = `127.0.0.1:${PORT}`;

function verdict(url: string, headers: Record<string, string>) {
  return checkRequest({ url, headers }, PORT, TOKEN);
}

test('the token is accepted from the query, the cookie or the header', () => {
  assert.deepEqual(verdict(`/?token=${TOKEN}`, { host }), { ok: true, via: 'query' });
  assert.deepEqual(verdict('/', { host, cookie: `other=1; ${tokenCookieName(PORT)}=${TOKEN}` }), { ok: true, via: 'cookie' });
  assert.deepEqual(verdict('/api/call/engineState', { host, 'x-berth-token': TOKEN }), { ok: true, via: 'header' });
  assert.deepEqual(verdict('/', { host: `localhost:${PORT}`, 'x-berth-token': TOKEN }), { ok: true, via: 'header' });
});

test('no token, a wrong one, or another port\'s cookie is 401', () => {
  for (const headers of [
    { host },
    { host, 'x-berth-token': 'b'.repeat(43) },
    { host, 'x-berth-token': TOKEN.slice(1) },
    { host, cookie: `${tokenCookieName(PORT + 1)}=${TOKEN}` },
  ] as Record<string, string>[]) {
    const v = verdict('/?token=nope', headers);
    assert.equal(v.ok, false);
    assert.equal(!v.ok && v.status, 401, JSON.stringify(headers));
  }
});

test('a foreign or missing Host is 403, even with the token (DNS rebinding)', () => {
  for (const h of [`evil.example:${PORT}`, '127.0.0.1', `127.0.0.1:${PORT + 1}`, `localhost.evil.example:${PORT}`, undefined]) {
    const headers: Record<string, string> = { 'x-berth-token': TOKEN };
    if (h) headers.host = h;
    const v = verdict('/', headers);
    assert.equal(!v.ok && v.status, 403, `Host ${h}`);
  }
});

test('a foreign Origin is 403 (CSRF); our own origins pass', () => {
  for (const origin of ['http://evil.example', 'null', `https://127.0.0.1:${PORT}`, `http://127.0.0.1:${PORT + 1}`]) {
    const v = verdict('/', { host, origin, 'x-berth-token': TOKEN });
    assert.equal(!v.ok && v.status, 403, origin);
  }
  for (const origin of [`http://127.0.0.1:${PORT}`, `http://localhost:${PORT}`]) {
    assert.equal(verdict('/', { host, origin, 'x-berth-token': TOKEN }).ok, true, origin);
  }
});

test('the cookie is HttpOnly and SameSite=Strict', () => {
  assert.match(tokenCookie(PORT, TOKEN), /HttpOnly/);
  assert.match(tokenCookie(PORT, TOKEN), /SameSite=Strict/);
});

test('a cross-site request or a form post is 403 (CSRF without Origin); the dashboard\'s own JSON calls pass', () => {
  const cookie = `${tokenCookieName(PORT)}=${TOKEN}`;
  const check = (method: string, headers: Record<string, string>) => checkRequest({ url: '/api/call/engineState', method, headers }, PORT, TOKEN);
  for (const site of ['cross-site', 'same-site']) {
    const v = check('POST', { host, cookie, 'sec-fetch-site': site, 'content-type': 'application/json' });
    assert.equal(!v.ok && v.status, 403, site);
  }
  for (const type of ['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/plain;charset=UTF-8']) {
    const v = check('POST', { host, cookie, 'content-type': type });
    assert.equal(!v.ok && v.status, 403, type);
  }
  assert.deepEqual(check('POST', { host, cookie, 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' }), { ok: true, via: 'cookie' });
  assert.deepEqual(check('GET', { host, cookie, 'sec-fetch-site': 'none' }), { ok: true, via: 'cookie' });
});

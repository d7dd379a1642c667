import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { browserCommand, launchPage, removeLaunchPage, writeLaunchPage } from './open-browser.js';

const TOKEN = 'Zk9_-x'.repeat(7);
const URL_ = `http://127.0.0.1:43210/#token=${TOKEN}`;

test('the launch page is 0600, redirects with location.replace, and leaves no temp file', { skip: process.platform === 'win32' && 'no POSIX modes' }, () => {
  const run = join(mkdtempSync(join(tmpdir(), 'berth-launch-')), 'run');
  const file = writeLaunchPage(run, 43210, URL_);
  assert.equal(file, join(run, 'dashboard-43210.html'));
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(run).mode & 0o777, 0o700);
  assert.match(readFileSync(file, 'utf8'), new RegExp(`location\\.replace\\(${JSON.stringify(URL_).replace(/[.?*+^$()[\]{}|\\/]/g, '\\$&')}\\)`));
  assert.deepEqual(readdirSync(run), ['dashboard-43210.html']);
  removeLaunchPage(run, 43210);
  assert.deepEqual(readdirSync(run), []);
});

test("no platform's browser command carries the token: only the launch page's path", () => {
  const file = '/home/u/.berth/run/dashboard-43210.html';
  for (const platform of ['linux', 'darwin', 'win32', 'freebsd'] as NodeJS.Platform[]) {
    const [cmd, args] = browserCommand(file, platform);
    const argv = [cmd, ...args].join(' ');
    assert.ok(!argv.includes(TOKEN) && !/token/i.test(argv), `${platform}: ${argv}`);
    assert.equal(args.at(-1), file, platform);
  }
});

test("a link cannot break out of the page's script", () => {
  assert.ok(!launchPage('http://127.0.0.1:1/#</script><script>alert(1)//').includes('</script><script>alert'));
});

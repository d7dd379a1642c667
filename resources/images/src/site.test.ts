import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { IMAGES_DIR } from './build-images.js';
import { parseSections, renderSite } from './site.js';

const siteDir = join(IMAGES_DIR, 'getting-started/site');
const files = renderSite(siteDir);
const page = (p: string) => files.get(p)!.toString('utf8');
const work = mkdtempSync(join(tmpdir(), 'berth-site-'));
after(() => rmSync(work, { recursive: true, force: true }));

const TOPICS = ['images-and-containers', 'running', 'listing', 'stopping', 'restart-policies', 'volumes', 'networks', 'registries', 'building'];

test('both pages cover every topic, in the same order, each with commands to copy', () => {
  for (const p of ['index.html', 'zh/index.html']) {
    const html = page(p);
    const ids = [...html.matchAll(/<section id="([^"]+)">/g)].map((m) => m[1]);
    for (const t of TOPICS) assert.ok(ids.includes(t), `${p} has #${t}`);
    for (const id of ids) assert.ok(html.includes(`<a href="#${id}">`), `${p}: the sidebar links #${id}`);
    for (const section of html.split('<section id="').slice(1)) {
      const id = section.slice(0, section.indexOf('"'));
      assert.match(section, /<pre class="cmd"><code><span class="line">docker /, `${p} #${id} has a docker command`);
    }
  }
  assert.deepEqual(
    [...page('index.html').matchAll(/<section id="([^"]+)">/g)].map((m) => m[1]),
    [...page('zh/index.html').matchAll(/<section id="([^"]+)">/g)].map((m) => m[1]),
  );
  assert.match(page('index.html'), /<pre class="file"><code># Start from an existing image/, 'a Dockerfile example');
  assert.match(page('index.html'), /SIGTERM[\s\S]*SIGKILL/);
});

test('the Chinese page is written in Chinese, and each page links the other', () => {
  const zh = page('zh/index.html');
  for (const title of zh.matchAll(/<h2><span class="num">\d+<\/span>([^<]+)/g)) assert.match(title[1]!, /\p{Script=Han}/u, `heading ${title[1]}`);
  for (const para of zh.matchAll(/<p>([^<]{40,})/g)) assert.match(para[1]!, /\p{Script=Han}/u, `paragraph ${para[1]!.slice(0, 40)}`);
  assert.match(zh, /<a class="lang-switch" href="\.\.\/"[^>]*data-lang="en"/);
  assert.match(page('index.html'), /<a class="lang-switch" href="zh\/"[^>]*data-lang="zh"/);
  assert.match(readFileSync(join(siteDir, 'assets/site.js'), 'utf8'), /localStorage\.setItem/);
});

test('everything the pages use is inside the image: no external scripts, styles, fonts or images', () => {
  for (const [name, body] of files) {
    const text = body.toString('utf8');
    // Links to localhost in prose are fine; nothing may be loaded from elsewhere.
    assert.doesNotMatch(text, /(?:src|href)="(?:https?:)?\/\/(?!localhost)/, name);
    assert.doesNotMatch(text, /@import|url\(\s*["']?(?:https?:)?\/\//, name);
    assert.doesNotMatch(text, /<script>/, `${name}: no inline scripts`);
  }
  for (const [name] of files) assert.ok(!name.startsWith('/') && !name.includes('..'), name);
});

test('content outside sections, and languages whose sections differ, are refused', () => {
  assert.throws(() => parseSections('<p>stray</p><section id="a"><h2>A</h2></section>', 'x.html'), /x\.html: text outside a <section/);
  assert.throws(() => parseSections('<!-- only a comment -->', 'x.html'), /no <section/);
  const copy = join(work, 'site');
  cpSync(siteDir, copy, { recursive: true });
  const zh = join(copy, 'content/zh.html');
  writeFileSync(zh, readFileSync(zh, 'utf8').replace('<section id="volumes">', '<section id="volumes-zh">'));
  assert.throws(() => renderSite(copy), /the zh page's sections .* differ from the English ones/);
});

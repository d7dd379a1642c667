/**
 * The getting-started website, rendered from its sources in
 * getting-started/site/: one page per language (English at `index.html`,
 * Simplified Chinese at `zh/index.html`), each made of the content fragment
 * for that language inside one shared layout, plus the static assets.
 *
 * A content fragment is a list of `<section id="..."><h2>Title</h2>...`
 * blocks; the sidebar is made from them, so both languages must have the
 * same section IDs in the same order (checked here). Inside a section,
 * `<pre class="cmd">` holds commands (one per line, `#` lines are comments)
 * and `<pre class="file" data-title="NAME">` a file to save; the page script
 * gives both a copy button. Content is HTML already escaped where needed.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface PageStrings {
  /** BCP 47 tag for <html lang>. */
  htmlLang: string;
  title: string;
  lede: string;
  /** Shown beside the Berth name in the top bar. */
  brandSub: string;
  contents: string;
  skip: string;
  copy: string;
  copied: string;
  copyFailed: string;
  /** The label of the link to the other language, written in that language. */
  switchLabel: string;
  switchTitle: string;
  footer: string;
}

export const LANGUAGES = ['en', 'zh'] as const;
export type Language = (typeof LANGUAGES)[number];

/** Where each language's page lives, relative to the site root. */
export const PAGE_DIR: Record<Language, string> = { en: '', zh: 'zh/' };

export interface Section {
  id: string;
  title: string;
  html: string;
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const stripTags = (s: string) => s.replace(/<[^>]*>/g, '').trim();

export function parseSections(fragment: string, source: string): Section[] {
  const sections: Section[] = [];
  const re = /<section id="([a-z0-9-]+)">\s*<h2>([\s\S]*?)<\/h2>([\s\S]*?)<\/section>/g;
  for (let m = re.exec(fragment); m; m = re.exec(fragment)) {
    sections.push({ id: m[1]!, title: m[2]!.trim(), html: m[3]! });
  }
  const rest = fragment
    .replace(re, '')
    .replace(/<!--[\s\S]*?-->/g, '')
    .trim();
  if (rest) throw new Error(`${source}: text outside a <section id="..."><h2>: ${JSON.stringify(rest.slice(0, 80))}`);
  if (!sections.length) throw new Error(`${source}: no <section id="..."><h2>...</h2> found`);
  return sections;
}

/** Commands: each line becomes a span; comment lines are marked so they are shown but not copied. */
function renderBlocks(html: string): string {
  return html
    .replace(/<pre class="cmd">\n?([\s\S]*?)\n?<\/pre>/g, (_, body: string) => {
      const lines = body.split('\n').map((l) => (l.startsWith('#') ? `<span class="comment">${l}</span>` : `<span class="line">${l}</span>`));
      // Block spans, no newline text between them: long commands wrap with a hanging indent.
      return `<div class="code"><pre class="cmd"><code>${lines.join('')}</code></pre></div>`;
    })
    .replace(
      /<pre class="file" data-title="([^"]+)">\n?([\s\S]*?)\n?<\/pre>/g,
      (_, title: string, body: string) => `<div class="code"><div class="code-title">${title}</div><pre class="file"><code>${body}</code></pre></div>`,
    )
    .replace(/<pre class="out">\n?([\s\S]*?)\n?<\/pre>/g, (_, body: string) => `<div class="code output"><pre class="out"><code>${body}</code></pre></div>`);
}

function renderPage(lang: Language, s: PageStrings, sections: Section[], other: { lang: Language; s: PageStrings }): string {
  const root = lang === 'en' ? '' : '../';
  const otherHref = `${root}${PAGE_DIR[other.lang]}` || './';
  const nav = sections.map((sec, i) => `<li><a href="#${sec.id}"><span class="num">${i + 1}</span><span>${stripTags(sec.title)}</span></a></li>`).join('\n');
  const body = sections
    .map((sec, i) => `<section id="${sec.id}">\n<h2><span class="num">${i + 1}</span>${sec.title}</h2>${renderBlocks(sec.html)}</section>`)
    .join('\n');
  return `<!doctype html>
<html lang="${s.htmlLang}" data-lang="${lang}" data-copy="${escapeHtml(s.copy)}" data-copied="${escapeHtml(s.copied)}" data-copy-failed="${escapeHtml(s.copyFailed)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="description" content="${escapeHtml(s.lede)}">
<title>${escapeHtml(s.title)}</title>
<link rel="icon" href="${root}assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="${root}assets/style.css">
<link rel="alternate" hreflang="${other.s.htmlLang}" href="${otherHref}">
<script src="${root}assets/site.js"></script>
</head>
<body>
<a class="skip" href="#main">${escapeHtml(s.skip)}</a>
<header class="topbar">
<button class="menu" type="button" aria-controls="sidebar" aria-expanded="false" aria-label="${escapeHtml(s.contents)}"><span></span></button>
<a class="brand" href="./"><img src="${root}assets/favicon.svg" alt="" width="28" height="28"><span class="brand-name">Berth</span><span class="brand-sub">${escapeHtml(s.brandSub)}</span></a>
<a class="lang-switch" href="${otherHref}" lang="${other.s.htmlLang}" hreflang="${other.s.htmlLang}" data-lang="${other.lang}" title="${escapeHtml(other.s.switchTitle)}">${escapeHtml(s.switchLabel)}</a>
</header>
<div class="layout">
<nav id="sidebar" class="sidebar" aria-label="${escapeHtml(s.contents)}">
<p class="sidebar-title">${escapeHtml(s.contents)}</p>
<ol>
${nav}
</ol>
</nav>
<main id="main">
<div class="hero">
<h1>${escapeHtml(s.title)}</h1>
<p class="lede">${escapeHtml(s.lede)}</p>
</div>
${body}
<footer>${s.footer}</footer>
</main>
</div>
</body>
</html>
`;
}

/** Every file of the site, by path relative to the web root, in a fixed order. */
export function renderSite(siteDir: string): Map<string, Buffer> {
  const strings = JSON.parse(readFileSync(join(siteDir, 'strings.json'), 'utf8')) as Record<Language, PageStrings>;
  const sections = {} as Record<Language, Section[]>;
  for (const lang of LANGUAGES) {
    const file = join(siteDir, 'content', `${lang}.html`);
    sections[lang] = parseSections(readFileSync(file, 'utf8'), file);
    if (!strings[lang]) throw new Error(`${join(siteDir, 'strings.json')} has no "${lang}" strings`);
  }
  const ids = (l: Language) => sections[l].map((x) => x.id).join(',');
  for (const lang of LANGUAGES) {
    if (ids(lang) !== ids('en')) throw new Error(`the ${lang} page's sections (${ids(lang)}) differ from the English ones (${ids('en')})`);
  }
  const files = new Map<string, Buffer>();
  for (const name of readdirSync(join(siteDir, 'assets')).sort()) {
    files.set(`assets/${name}`, readFileSync(join(siteDir, 'assets', name)));
  }
  for (const lang of LANGUAGES) {
    const other = lang === 'en' ? 'zh' : 'en';
    files.set(`${PAGE_DIR[lang]}index.html`, Buffer.from(renderPage(lang, strings[lang], sections[lang], { lang: other, s: strings[other] })));
  }
  return files;
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { langFor, LANGUAGES, STRINGS, translate } from '../../../apps/renderer/src/i18n/i18n.js';
import { en } from '../../../apps/renderer/src/i18n/en.js';

test('every language has exactly the English keys, none empty, with the same {marks}', () => {
  const keys = Object.keys(en).sort();
  const marks = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  for (const lang of Object.keys(LANGUAGES) as (keyof typeof LANGUAGES)[]) {
    const strings = STRINGS[lang];
    assert.deepEqual(Object.keys(strings).sort(), keys, `${lang} keys`);
    for (const k of keys) {
      const v = strings[k as keyof typeof en];
      assert.ok(typeof v === 'string' && v.trim() !== '', `${lang}: ${k} is empty`);
      assert.deepEqual(marks(v), marks(en[k as keyof typeof en]), `${lang}: ${k} fills other values than English`);
    }
  }
});

test('the Chinese strings are Chinese, not copies of the English', () => {
  const same = (Object.keys(en) as (keyof typeof en)[]).filter((k) => STRINGS.zh[k] === en[k]);
  assert.deepEqual(same, []);
});

test('translate fills values and leaves unknown marks', () => {
  assert.equal(translate('en', 'containers.subtitle', { running: 2, all: 5 }), '2 running · 5 in all');
  assert.equal(translate('zh', 'containers.subtitle', { running: 2, all: 5 }), '2 个运行中 · 共 5 个');
  assert.equal(translate('en', 'images.subtitleMany', { count: 3 }), '3 images · {size}');
});

test('the default language follows the browser’s list', () => {
  assert.equal(langFor(['zh-CN', 'en']), 'zh');
  assert.equal(langFor(['zh-Hans-SG']), 'zh');
  assert.equal(langFor(['en-GB', 'zh-CN']), 'en');
  assert.equal(langFor(['fr-FR']), 'en');
  assert.equal(langFor([]), 'en');
});

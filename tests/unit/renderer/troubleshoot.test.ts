/**
 * The reset confirmation rendered with react-dom/server (node:test, no DOM;
 * createElement, not JSX, since the runner takes *.test.ts): it lists exactly the
 * plan's paths, offers Cancel first, and speaks the chosen language.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import React, { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { translate } from '../../../apps/renderer/src/i18n/i18n.js';

// tsx compiles the components' JSX with the classic runtime (React.createElement), which vite does not: give it React.
Object.assign(globalThis, { React });
const { ResetDialog } = await import('../../../apps/renderer/src/pages/TroubleshootPage.js');

const plan = {
  home: '/tmp/berth-home',
  entries: [
    { path: '/tmp/berth-home/vm', what: 'the VM’s data disk', kind: 'dir' as const },
    { path: '/tmp/berth-home/settings.json', what: 'settings', kind: 'file' as const },
  ],
};
const noop = () => {};

test('the confirmation lists each path to delete, and Cancel comes before Delete', () => {
  const html = renderToStaticMarkup(createElement(ResetDialog, { plan, busy: false, onConfirm: noop, onClose: noop }));
  assert.match(html, /<code>\/tmp\/berth-home\/vm<\/code>/);
  assert.match(html, /<code>\/tmp\/berth-home\/settings.json<\/code>/);
  assert.equal(html.match(/<li>/g)?.length, 2);
  assert.ok(html.indexOf(translate('en', 'common.cancel')) < html.indexOf(translate('en', 'trouble.resetConfirm')));
  assert.doesNotMatch(html, /<button[^>]*disabled[^>]*>Delete and reset/);
});

test('nothing to delete: says so and the Delete button is disabled', () => {
  const html = renderToStaticMarkup(createElement(ResetDialog, { plan: { home: '/tmp/empty', entries: [] }, busy: false, onConfirm: noop, onClose: noop }));
  assert.ok(html.includes(translate('en', 'trouble.resetNothing', { home: '/tmp/empty' })));
  assert.match(html, /<button[^>]*disabled=""[^>]*>Delete and reset<\/button>/);
});

/** Each test starts from a blank page, in English, with nothing remembered. */
import { cleanup } from '@testing-library/react';
import { afterEach, beforeEach } from 'vitest';
import { setLang } from '../../apps/renderer/src/i18n/i18n.js';

beforeEach(() => {
  localStorage.clear();
  setLang('en');
  window.location.hash = '';
});

afterEach(() => cleanup());

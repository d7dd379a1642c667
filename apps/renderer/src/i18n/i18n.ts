/**
 * The dashboard's languages: English and Simplified Chinese. The choice is
 * remembered in localStorage; without one, the browser's (or OS's) language
 * decides. `useT()` re-renders its component when the language changes.
 */
import { createElement, Fragment, useSyncExternalStore, type ReactNode } from 'react';
import { en, type StringKey, type Strings } from './en.js';
import { zh } from './zh.js';

export const LANGUAGES = { en: 'English', zh: '中文' } as const;
export type Lang = keyof typeof LANGUAGES;
export const STRINGS: Record<Lang, Strings> = { en, zh };

const STORAGE_KEY = 'berth.lang';
const listeners = new Set<() => void>();
let current: Lang = initialLang();

/** `zh`, `zh-CN`, `zh-Hans-…` → zh; anything else → en. */
export function langFor(tags: readonly string[]): Lang {
  for (const tag of tags) {
    const base = tag.toLowerCase().split('-')[0];
    if (base === 'zh') return 'zh';
    if (base === 'en') return 'en';
  }
  return 'en';
}

function initialLang(): Lang {
  if (typeof window === 'undefined') return 'en';
  const saved = window.localStorage?.getItem(STORAGE_KEY);
  if (saved && saved in LANGUAGES) return saved as Lang;
  return langFor(navigator.languages?.length ? navigator.languages : [navigator.language]);
}

export function setLang(lang: Lang): void {
  current = lang;
  window.localStorage?.setItem(STORAGE_KEY, lang);
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  for (const fn of [...listeners]) fn();
}

/** Fills `{name}` from `values`; a missing value leaves the mark (so it shows, rather than "undefined"). */
export function translate(lang: Lang, key: StringKey, values?: Record<string, string | number>): string {
  const text = STRINGS[lang][key];
  return values ? text.replace(/\{(\w+)\}/g, (m, name: string) => (name in values ? String(values[name]) : m)) : text;
}

export type T = (key: StringKey, values?: Record<string, string | number>) => string;

export function useT(): { t: T; lang: Lang } {
  const lang = useSyncExternalStore(
    (fn) => {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    () => current,
    () => current,
  );
  return { t: (key, values) => translate(lang, key, values), lang };
}

/**
 * For text with elements in it (a link, a bold count): `{name}` marks in an
 * unfilled t() text become the given nodes, so each language orders them itself.
 */
export function fillNodes(text: string, nodes: Record<string, ReactNode>): ReactNode[] {
  return text.split(/\{(\w+)\}/g).map((part, i) => (i % 2 ? createElement(Fragment, { key: i }, part in nodes ? nodes[part] : `{${part}}`) : part));
}

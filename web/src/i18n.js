// i18n.js — the page's languages: one message catalogue per language, English in the bundle
// (./messages-en.js) and Persian as web/i18n/fa.js with its font (web/i18n/vazirmatn.js), both
// loaded only when Persian is chosen. Elements name their message with `data-i18n` (text),
// `data-i18n-title` and `data-i18n-aria-label`; code asks `t(key, params)`.
//
// Messages are plain text with two marks, rendered as elements (never as HTML): `{{en:…}}` is an
// English term beside a Persian one (`<span lang="en">`), `{{ltr:…}}` a formula or number that
// stays left-to-right inside right-to-left text (`<bdi dir="ltr">`), `{{step:N}}` a link to lesson
// step N (`<a href="#lesson=N">`, labelled by the message `lesson.step-link`).

import { EN } from './messages-en.js';
import { loadScript } from './scripts.js';

/** The languages the page speaks: writing direction, and the scripts a non-bundled one needs. */
/**
 * @type {Record<string, {dir: string, scripts: string[], messages: () => Record<string, string> | undefined,
 *   font?: () => Window['VAE_FONT_VAZIRMATN']}>}
 */
export const LANGUAGES = {
  en: { dir: 'ltr', scripts: [], messages: () => EN },
  fa: { dir: 'rtl', scripts: ['i18n/fa.js', 'i18n/vazirmatn.js'], messages: () => self.VAE_MESSAGES_FA, font: () => self.VAE_FONT_VAZIRMATN },
};

/** @typedef {string | number | {key: string, params?: Record<string, any>}} MessageParam */

const MARK = /\{\{(en|ltr|step):(.+?)\}\}/g;

let current = 'en';
/** @type {Record<string, string>} */
let catalogue = EN;
/** @type {((lang: string) => void)[]} */
const listeners = [];

/** The language shown now. */
export const language = () => current;

/** Unicode's left-to-right isolate and its end: a formula kept whole inside right-to-left text. */
const LRI = '\u2066';
const PDI = '\u2069';

/**
 * The message `key` in the current language with `{name}` replaced from `params`, as plain text
 * (for attributes, tooltips, canvas labels): in a right-to-left language each `{{ltr:…}}` and
 * `{{en:…}}` run becomes a Unicode isolate (LRI … PDI), the plain-text form of the `<bdi>`
 * render() makes, so that a tooltip reads ½‖μ‖² and not μ‖²‖½; left to right the marks are
 * dropped. English stands in for a message a catalogue lacks (the tests fail on such gaps).
 * @param {string} key
 * @param {Record<string, MessageParam>} [params]
 */
export function t(key, params = {}) {
  const isolate = LANGUAGES[current].dir === 'rtl';
  return fill(key, params).replace(MARK, (_, kind, text) => {
    if (kind === 'step') return t('lesson.step-link', { n: text });
    return isolate ? `${LRI}${text}${PDI}` : text;
  });
}

/**
 * The raw message with its parameters filled in. A parameter may itself be a message,
 * `{key, params}` (an error's reason inside a status line), said in the same language.
 */
function fill(key, params) {
  const text = catalogue[key] ?? EN[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => {
    if (!(name in params)) return whole;
    const value = params[name];
    return typeof value === 'object' && value !== null ? t(value.key, value.params) : String(value);
  });
}

/**
 * An `Error` the page says from its catalogue (`key`, `params`), like the errors of the wasm
 * modules; its `message` is the text in the current language.
 * @param {string} key
 * @param {Record<string, MessageParam>} [params]
 */
export function pageError(key, params = {}) {
  return Object.assign(new Error(t(key, params)), { key, params });
}

/**
 * Sets `el`'s content to the message `key`, its marks as elements. The element remembers the
 * message (`data-i18n`, `data-i18n-params`), so a change of language says it again.
 * @param {HTMLElement} el
 * @param {string} key
 * @param {Record<string, MessageParam>} [params]
 */
export function render(el, key, params = {}) {
  el.dataset.i18n = key;
  if (Object.keys(params).length > 0) el.dataset.i18nParams = JSON.stringify(params);
  else delete el.dataset.i18nParams;
  const text = fill(key, params);
  const nodes = [];
  let last = 0;
  for (const m of text.matchAll(MARK)) {
    nodes.push(document.createTextNode(text.slice(last, m.index)));
    nodes.push(markElement(m[1], m[2]));
    last = (m.index ?? 0) + m[0].length;
  }
  nodes.push(document.createTextNode(text.slice(last)));
  el.replaceChildren(...nodes);
}

/** The element a mark stands for. */
function markElement(kind, text) {
  if (kind === 'step') {
    const link = document.createElement('a');
    link.href = `#lesson=${text}`;
    link.dataset.lessonStep = text;
    link.textContent = t('lesson.step-link', { n: text });
    return link;
  }
  const el = document.createElement(kind === 'en' ? 'span' : 'bdi');
  if (kind === 'en') el.lang = 'en';
  el.dir = 'ltr';
  el.textContent = text;
  return el;
}

/** Renders every element under `root` that names a message. */
export function applyMessages(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) {
    const params = el.getAttribute('data-i18n-params');
    render(/** @type {HTMLElement} */ (el), el.getAttribute('data-i18n') || '', params ? JSON.parse(params) : {});
  }
  for (const attr of ['title', 'aria-label']) {
    for (const el of root.querySelectorAll(`[data-i18n-${attr}]`)) el.setAttribute(attr, t(el.getAttribute(`data-i18n-${attr}`) || ''));
  }
}

/** Calls `fn(lang)` after every change of language. */
export function onLanguage(fn) {
  listeners.push(fn);
}

/** The language to start in: the fragment's `lang=`, else the browser's if we speak it, else English. */
export function preferredLanguage(fromFragment) {
  if (fromFragment && fromFragment in LANGUAGES) return fromFragment;
  const browser = (navigator.languages || [navigator.language || 'en']).map((l) => l.slice(0, 2));
  return browser.find((l) => l in LANGUAGES) || 'en';
}

/**
 * Switches the page to `lang` (loading its catalogue and font the first time), sets `lang` and
 * `dir` on the document and re-renders every message.
 * @param {string} lang
 */
export async function setLanguage(lang) {
  const spec = LANGUAGES[lang];
  if (!spec) throw pageError('error.language', { lang });
  for (const src of spec.scripts) await loadScript(src);
  const messages = spec.messages();
  if (!messages) throw pageError('error.missing-script', { file: spec.scripts.join(', ') });
  if (spec.font) await addFont(spec.font());
  catalogue = messages;
  current = lang;
  document.documentElement.lang = lang;
  document.documentElement.dir = spec.dir;
  document.title = t('page.title');
  applyMessages();
  for (const fn of listeners) fn(lang);
}

/**
 * Registers a font shipped as base64 in a script (`{family, faces: [{weight, woff2}]}`), once.
 * @param {Window['VAE_FONT_VAZIRMATN']} font
 */
async function addFont(font) {
  if (!font || font.added) return;
  font.added = true;
  for (const face of font.faces) {
    const bytes = Uint8Array.from(atob(face.woff2), (c) => c.charCodeAt(0));
    const loaded = await new FontFace(font.family, bytes, { weight: String(face.weight) }).load();
    document.fonts.add(loaded);
  }
}

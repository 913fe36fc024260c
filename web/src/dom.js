// dom.js — small helpers shared by the panels: element lookup, number formatting, the status
// line, labelled tiles, PNG export and grey images.

import { render } from './i18n.js';

/**
 * The element with id `id` (the page's markup defines every id the panels use).
 * @returns {any}
 */
export const $ = (id) => document.getElementById(id);

/** `v` with `digits` decimals. */
export const fmt = (v, digits = 2) => minusSign(Number(v).toFixed(digits));
/** A number's text with the minus sign (U+2212) for ASCII's hyphen-minus, as the catalogues' formulas write it. */
export const minusSign = (text) => String(text).replace(/-/g, '\u2212');
/** A decoder's σₓ to three significant digits (0.1 stays 0.1; a learned 0.17977… reads 0.18). */
export const sigmaText = (v) => String(Number(Number(v).toPrecision(3)));

/**
 * Sets the text of `el` (holding only text) on a hot path: nothing when it is unchanged (two
 * decimals often repeat between drag moves, and any change costs the line a layout), else the
 * existing text node's data, where `textContent` would make a new node each time.
 * @param {HTMLElement} el
 * @param {string} text
 */
export function setText(el, text) {
  const node = el.firstChild;
  if (node instanceof Text && !node.nextSibling) {
    if (node.data !== text) node.data = text;
  } else el.textContent = text;
}

/**
 * What was thrown, as a message of the catalogues: the errors of the wasm modules and of the
 * page carry `key` and `params`; anything else (a bug) is shown as it came.
 * @returns {{key: string, params: Record<string, any>}}
 */
export function errorMessage(err) {
  if (err && typeof err.key === 'string') return { key: err.key, params: { ...(err.params || {}) } };
  return { key: 'error.unexpected', params: { message: (err && err.message) || String(err) } };
}

/**
 * Says the message `key` in the status line (red when `isError`), in the page's language.
 * @param {string} key
 * @param {Record<string, import('./i18n.js').MessageParam>} [params]
 */
export function setStatus(key, params = {}, isError = false) {
  const el = $('status');
  render(el, key, params);
  el.classList.toggle('error', isError);
}

/**
 * A labelled canvas appended to a `.tiles` container.
 * @param {HTMLElement} container
 * @returns {HTMLCanvasElement}
 */
export function tile(container, label, width, height, className = '') {
  const fig = document.createElement('figure');
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  canvas.className = className;
  canvas.dataset.model = label;
  const cap = document.createElement('figcaption');
  cap.textContent = label;
  fig.append(canvas, cap);
  container.append(fig);
  return canvas;
}

/**
 * Saves `canvas` as a PNG download, scaled up `scale`× with crisp pixels.
 * @param {HTMLCanvasElement} canvas
 */
export function savePng(canvas, name, scale) {
  const out = document.createElement('canvas');
  out.width = canvas.width * scale;
  out.height = canvas.height * scale;
  const ctx = out.getContext('2d');
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(canvas, 0, 0, out.width, out.height);
  const link = document.createElement('a');
  link.href = out.toDataURL('image/png');
  link.download = name;
  link.click();
}

/**
 * Paints 784 grey intensities in [0, 1] into a 28×28 canvas (white ink on black).
 * @param {HTMLCanvasElement} canvas
 * @param {ArrayLike<number>} grey
 */
export function paintGrey(canvas, grey) {
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = Math.round(Math.min(1, Math.max(0, grey[i])) * 255);
    img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = v;
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/**
 * Paints an n × n grid of values (rows from the top) into an n × n canvas through `color`,
 * which maps a value to [r, g, b, a] (0–255).
 * @param {ArrayLike<number>} values
 * @param {(v: number) => number[]} color
 * @returns {HTMLCanvasElement}
 */
export function heatmapCanvas(values, n, color) {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = n;
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(n, n);
  for (let i = 0; i < n * n; i++) img.data.set(color(values[i]), 4 * i);
  ctx.putImageData(img, 0, 0);
  return canvas;
}

/**
 * An ImageData as a canvas (to draw scaled, as a layer of the plane).
 * @param {ImageData} image
 * @returns {HTMLCanvasElement}
 */
export function imageCanvas(image) {
  const canvas = document.createElement('canvas');
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.getContext('2d').putImageData(image, 0, 0);
  return canvas;
}

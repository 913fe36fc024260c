// main.js — the page's entry: loads the default model, builds the shared store and one panel per
// view, restores the view from the URL fragment, then loads the other models one by one, each
// joining the model switch and the comparisons as it arrives.

import { $, errorMessage, fmt, minusSign, savePng, setStatus, sigmaText } from './dom.js';
import { createStore } from './store.js';
import { loadModel, modelEntries, wasmBuild, wasmMemoryBytes } from './wasm.js';
import { RANGE, createLatentPlane, windowText } from './plane.js';
import { attachZoomButtons, zoomControls } from './zoom.js';
import { LAYER_IDS, REGISTRY_DRAWN, createLayersPanel } from './layers.js';
import { createBoundPanel } from './bound.js';
import { createOptimisePanel } from './optimise.js';
import { testImage } from './testset.js';
import { createDecodedPanel } from './decoded.js';
import { createInterpolationPanel, createSamplingPanel } from './comparisons.js';
import { createPosteriorPanel } from './posterior.js';
import { fragmentWriter, readFragment, watchFragment } from './fragment.js';
import { createTrainingPanel } from './training.js';
import { createOpenWeights } from './open.js';
import { applyMessages, language, pageError, preferredLanguage, render, setLanguage, t } from './i18n.js';
import { createLesson, exampleDigit } from './lesson.js';

/** The plane's layers, bottom first: the registry's, then the panels' marks. */
const PLANE_ORDER = [...REGISTRY_DRAWN, 'training', 'samples', 'segment', 'true-posterior', 'optimise', 'posterior'];

/** What the tests and the benchmark may ask the page (a classic global: file:// has no modules). */
self.VaeExplorer = {
  modelNames: () => modelEntries().map((m) => m.name),
  wasmMemoryBytes,
  /** Which build of the page's module runs: 'relaxed-simd' or 'simd128'. */
  wasmBuild,
  /** A message as plain text in the page's language (what tooltips and aria labels get). */
  message: (key, params) => t(key, params),
};

async function start() {
  applyMessages(); // English from the bundle, before anything else is shown
  setStatus('status.loading');
  const [first] = modelEntries();
  let model;
  try {
    if (!first) throw pageError('error.missing-script', { file: 'pkg/models.js' });
    model = await loadModel(first.name);
  } catch (err) {
    setStatus('status.load-failed', { reason: errorMessage(err) }, true);
    return;
  }
  const store = createStore({ models: new Map([[first.name, model]]), current: first.name, point: { x: 0, y: 0 }, image: null });
  const restored = readFragment(LAYER_IDS);
  /** @type {(w: import('./wasm.js').LatentWindow) => void} */
  let viewChanged = () => {};
  const plane = createLatentPlane($('latent-plane'), PLANE_ORDER, (point) => store.set({ point }),
    { axesAbove: 'prior', cachedThrough: REGISTRY_DRAWN[REGISTRY_DRAWN.length - 1] }, (w) => viewChanged(w));
  zoomControls($('latent-plane'), plane);
  const layers = createLayersPanel(store, plane);
  /** @type {ReturnType<typeof createLesson> | null} */
  let lesson = null;
  const writeFragment = fragmentWriter(() => ({
    model: store.get().current, z: store.get().point, layers: layers.enabled(), lang: language(), lesson: lesson ? lesson.step() : 0,
    view: plane.getWindow(),
  }));
  viewChanged = (w) => { layers.viewChanged(); describeView(w); writeFragment(); };
  describeView(plane.getWindow());
  store.on(['point', 'current'], writeFragment);
  for (const id of LAYER_IDS) $(`layer-${id}`).addEventListener('change', writeFragment);
  createDecodedPanel(store);
  createInterpolationPanel(store, plane);
  createSamplingPanel(store, plane);
  const posterior = createPosteriorPanel(store, plane);
  const bound = createBoundPanel(store, plane, posterior);
  createOptimisePanel(plane, bound);
  const zoomButtons = attachZoomButtons(plane, posterior.current, bound.frame);
  store.on(['image', 'current'], zoomButtons.refresh);
  zoomButtons.refresh();
  createTrainingPanel(store, plane);
  createOpenWeights(store);
  createModelSwitch(store);
  lesson = createLesson({ store, plane, layers, setExample: (glyph) => posterior.show(exampleDigit(glyph)), posterior: posterior.current, boundFrame: bound.frame, onChange: writeFragment });
  const languageSwitch = createLanguageSwitch(restored.lang, writeFragment);
  $('save-plane').addEventListener('click', () => savePng($('latent-plane'), `${store.get().current}-latent-plane.png`, 1));

  if (restored.layers) layers.setEnabled(restored.layers); else layers.update();
  plane.setPoint(plane.clampPoint(restored.z || { x: 0, y: 0 }));
  if (restored.view) plane.setWindow(restored.view);
  if (restored.lesson) lesson?.open(restored.lesson);
  if (restored.test !== undefined) showTestImage(restored.test, posterior);
  // A fragment changed by hand, a pasted link or the Back button: the page follows it.
  watchFragment(LAYER_IDS, (next) => followFragment(next, { store, plane, layers, lesson, languageSwitch }));
  // Time to interactive, for the benchmark: page start → first decoded image on screen.
  requestAnimationFrame(() => { document.body.dataset.readyMs = performance.now().toFixed(1); });
  setStatus('status.ready');
  await loadTheOthers(store, restored.model);
  document.body.dataset.ready = 'true'; // every model is loaded
  warmUpEncoding(store);
}

/**
 * Encodes a made-up stroke once, when the page is idle after start-up, and throws the result
 * away: V8 compiles each wasm function the first time it runs, and the first upload or drawing
 * stroke paid for compiling the encoder's (≈ 25–35 ms more than the next ones, measured).
 * @param {import('./store.js').Store} store
 */
function warmUpEncoding(store) {
  const idle = self.requestIdleCallback || ((fn) => setTimeout(fn, 200));
  idle(() => {
    const side = 28;
    const rgba = new Uint8Array(side * side * 4);
    for (let i = 0; i < side * side; i++) {
      const [x, y] = [i % side, Math.floor(i / side)];
      rgba.fill(x >= 12 && x < 16 && y >= 5 && y < 23 ? 255 : 0, 4 * i, 4 * i + 3); // a white bar on black
      rgba[4 * i + 3] = 255;
    }
    try { store.model().encodeImage(rgba, side, side); } catch (_) { /* only a warm-up */ }
  });
}

/**
 * The model switch: lists the loaded models of the current model's dataset, switches the current
 * one, and says what it is. Once models of two datasets are loaded, the dataset switch
 * (select#dataset) appears and chooses among them.
 * @param {import('./store.js').Store} store
 */
function createModelSwitch(store) {
  /** @type {HTMLSelectElement} */
  const select = $('model');
  /** @type {HTMLSelectElement} */
  const datasets = $('dataset');
  function list({ models, current }) {
    const dataset = models.get(current)?.info.dataset;
    const shown = [...models].filter(([, m]) => m.info.dataset === dataset);
    // Rebuilt only when the list changes: a live snapshot every few seconds must not close an open switch.
    if (String(shown.map(([name]) => name)) !== String([...select.options].map((o) => o.value))) {
      select.replaceChildren(...shown.map(([name, m]) => modelOption(name, m)));
    } else {
      // Same models: a live one's description may have moved (a learned σₓ settles): its text, in place.
      shown.forEach(([name, m], i) => { if (select.options[i].dataset.kind !== optionKey(m)) select.options[i].replaceWith(modelOption(name, m)); });
    }
    select.value = current;
    const ids = [...new Set([...models.values()].map((m) => m.info.dataset))];
    $('dataset-switch').hidden = ids.length < 2;
    if (String(ids) !== String([...datasets.options].map((o) => o.value))) {
      datasets.replaceChildren(...ids.map((id) => {
        const opt = document.createElement('option');
        opt.value = id;
        render(opt, DATASET_MESSAGES[id] || 'dataset.other', { id });
        return opt;
      }));
    }
    datasets.value = dataset || '';
  }
  select.addEventListener('change', () => store.set({ current: select.value }));
  datasets.addEventListener('change', () => {
    const first = [...store.get().models].find(([, m]) => m.info.dataset === datasets.value);
    if (first) store.set({ current: first[0] });
  });
  store.on(['models', 'current'], list);
  store.on(['current'], () => describeModel(store.model().info));
  list(store.get());
  describeModel(store.model().info);
}

/**
 * Shows MNIST test digit `n` (from the pack the page trains on) as if uploaded, or says why not.
 * @param {number} n
 * @param {{show: (image: any) => void}} posterior
 */
function showTestImage(n, posterior) {
  testImage(n).then((image) => posterior.show(image), (err) => setStatus('status.test-image-failed', { n, reason: errorMessage(err) }, true));
}

/** The message naming each dataset the trainer knows (vae-core's `dataset::DATASETS`). */
const DATASET_MESSAGES = { mnist: 'dataset.mnist', 'fashion-mnist': 'dataset.fashion-mnist', kmnist: 'dataset.kmnist' };

/** The message naming a model's kind, β and (when not Bernoulli) its decoder's likelihood. */
function kindMessage(info) {
  if (info.kind === 'ae') return { key: 'model.kind.ae' };
  if (info.likelihood?.kind === 'gaussian') {
    const key = info.likelihood.learned ? 'model.kind.vae-gaussian-learned' : 'model.kind.vae-gaussian';
    return { key, params: { beta: info.beta, sigma: sigmaText(info.likelihood.sigma_x) } };
  }
  return { key: 'model.kind.vae', params: { beta: info.beta } };
}

/** What a model's option says, as a string to compare. */
const optionKey = (m) => JSON.stringify([kindMessage(m.info), m.source ?? null]);

/** The switch's option for model `name`: its kind and β, and where it came from if not shipped. */
function modelOption(name, m) {
  const opt = document.createElement('option');
  opt.value = name;
  opt.dataset.kind = optionKey(m);
  const kind = kindMessage(m.info);
  render(opt, m.source ? 'model.option-from' : 'model.option', { name, kind, ...(m.source ? { source: m.source } : {}) });
  return opt;
}

/**
 * The language switch (select#lang): starts in the fragment's language, else the browser's;
 * Persian loads its catalogue and font on first use.
 * @param {string | undefined} fromFragment
 * @param {() => void} onChange
 */
function createLanguageSwitch(fromFragment, onChange) {
  const select = /** @type {HTMLSelectElement} */ ($('lang'));
  const choose = (lang) => setLanguage(lang).then(() => { select.value = lang; onChange(); },
    (err) => setStatus('status.language-failed', { reason: errorMessage(err) }, true));
  select.addEventListener('change', () => choose(select.value));
  const lang = preferredLanguage(fromFragment);
  if (lang !== 'en') choose(lang);
  return { choose };
}

/**
 * Shows what a changed fragment asks for: its model (if loaded), layers, point, window, language
 * and lesson step; what it leaves out stays as it is.
 * @param {ReturnType<typeof readFragment>} next
 */
function followFragment(next, { store, plane, layers, lesson, languageSwitch }) {
  if (next.model && next.model !== store.get().current && store.get().models.has(next.model)) store.set({ current: next.model });
  if (next.layers) layers.setEnabled(next.layers);
  if (next.z) plane.setPoint(plane.clampPoint(next.z));
  plane.setWindow(next.view || { cx: 0, cy: 0, half: RANGE });
  if (next.lang && next.lang !== language()) languageSwitch.choose(next.lang);
  if (next.lesson && next.lesson !== lesson?.step()) lesson?.open(next.lesson);
}

/**
 * The window shown, said under the plane and in the plane's accessible description.
 * @param {import('./wasm.js').LatentWindow} w
 */
function describeView(w) {
  const [cx, cy, half] = windowText(w).split(',').map(minusSign);
  render($('plane-view'), 'coords.view', { half, cx, cy });
}

/** The footer's line about the current model: objective, training and test figures. */
function describeModel(info) {
  const { name, beta, epochs, dataset } = info;
  const figures = { recon: fmt(info.test_recon), kl: fmt(info.test_kl), elbo: fmt(-(info.test_recon + info.test_kl)) };
  const gaussian = info.kind !== 'ae' && info.likelihood?.kind === 'gaussian';
  const gaussianKey = info.likelihood?.learned ? 'model.info.vae-gaussian-learned' : 'model.info.vae-gaussian';
  const key = info.kind === 'ae' ? 'model.info.ae' : gaussian ? gaussianKey : 'model.info.vae';
  render($('model-info'), key, { name, beta, epochs, dataset, sigma: gaussian ? sigmaText(info.likelihood.sigma_x) : '', ...figures });
}

/**
 * Loads every shipped model not loaded yet, in the manifest's order; selects `wanted` when it
 * arrives (a view restored from the fragment).
 * @param {import('./store.js').Store} store
 * @param {string | undefined} wanted
 */
async function loadTheOthers(store, wanted) {
  for (const { name } of modelEntries()) {
    const { models } = store.get();
    if (models.has(name)) continue;
    try {
      models.set(name, await loadModel(name));
    } catch (err) {
      setStatus('status.load-other-failed', { name, reason: errorMessage(err) }, true);
      continue;
    }
    store.touch('models');
    if (name === wanted) store.set({ current: name });
  }
}

start();

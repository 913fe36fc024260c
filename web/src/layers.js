// layers.js — the one list of the plane's layers: each with its toggle (input#layer-<id>), its
// explanation (#<id>-explain) and how to draw it for a model. The layers panel, the URL fragment
// and the plane's drawing order all read this list.

import { $, errorMessage, heatmapCanvas, imageCanvas, setStatus } from './dom.js';
import { DIGIT_COLORS, pictureDrawable, priorDrawable, scatterDrawable } from './plane.js';
import { gridExtent } from './wasm.js';

const GRID_CELLS = 20;       // manifold grid: GRID_CELLS² decodings …
const GRID_RANGE = 3;        // … over [−GRID_RANGE, GRID_RANGE]²
const MAP_CELLS = 64;        // aggregate-posterior map: MAP_CELLS² points …
const MAP_RANGE = 4;         // … over the whole plane
const CONTINUITY_CELLS = 49; // continuity map: points over [−GRID_RANGE, GRID_RANGE]², made …
const CONTINUITY_BAND_ROWS = 4; // … a band of rows (≈ 250 decodes, ≈ 20 ms) per task, between frames; …
const CONTINUITY_PREVIEW_CELLS = 21; // … meanwhile a coarse map is drawn at once

/** log₂ q/p → colour: red where codes crowd, blue in holes, clear where they agree. */
function divergingColor(v) {
  if (!Number.isFinite(v)) return [0, 0, 0, 0];
  const t = Math.max(-1, Math.min(1, v / 4));
  return t > 0 ? [214, 39, 40, Math.round(200 * t)] : [31, 119, 180, Math.round(-200 * t)];
}

/** A rate relative to the map's largest → orange, brighter and more opaque where faster. */
function heatColor(t) {
  return [255, Math.round(200 * (1 - t)), 0, Math.round(230 * Math.sqrt(t))];
}

/** The continuity map's picture: rates relative to the map's largest. */
function continuityPicture(rates, n) {
  const max = rates.reduce((m, v) => Math.max(m, v), 1e-6);
  return pictureDrawable(heatmapCanvas(rates, n, (v) => heatColor(Math.min(1, v / max))), gridExtent(n, GRID_RANGE), { alpha: 1, smooth: true });
}

/**
 * @typedef {import('./wasm.js').Model} Model
 * @typedef {import('./plane.js').Drawable} Drawable
 * @typedef {{id: string, explain?: string, cached?: boolean, legend?: boolean,
 *            draw: (model: Model) => Drawable | null,
 *            refine?: (model: Model) => Generator<void, Drawable | null, void>}} Layer
 * `refine`, where a layer has it, makes the full picture in steps (one per task, so that frames
 * and input go on between them); `draw` is then the quick picture shown until it is done.
 */

/** @type {Layer[]} bottom first: the order they are drawn in */
export const LAYERS = [
  {
    id: 'aggregate', explain: 'aggregate-explain', cached: true,
    draw: (model) => model.testPosteriors().length === 0 ? null : pictureDrawable(
      heatmapCanvas(model.aggregateVsPrior(MAP_CELLS, MAP_RANGE), MAP_CELLS, divergingColor),
      gridExtent(MAP_CELLS, MAP_RANGE), { alpha: 1, smooth: true }),
  },
  {
    id: 'continuity', explain: 'continuity-explain', cached: true,
    draw: (model) => continuityPicture(model.continuityMap(CONTINUITY_PREVIEW_CELLS, GRID_RANGE), CONTINUITY_PREVIEW_CELLS),
    *refine(model) {
      const n = CONTINUITY_CELLS;
      const rates = new Float32Array(n * n);
      for (let row = 0; row < n; row += CONTINUITY_BAND_ROWS) {
        rates.set(model.continuityMapRows(n, GRID_RANGE, row, Math.min(CONTINUITY_BAND_ROWS, n - row)), row * n);
        yield;
      }
      return continuityPicture(rates, n);
    },
  },
  {
    id: 'grid', explain: 'grid-explain', cached: true,
    draw: (model) => pictureDrawable(imageCanvas(model.decodeGrid(GRID_CELLS, GRID_RANGE)), gridExtent(GRID_CELLS, GRID_RANGE)),
  },
  { id: 'prior', draw: () => priorDrawable() },
  {
    id: 'scatter', explain: 'scatter-explain', legend: true,
    draw: (model) => {
      const posteriors = model.testPosteriors();
      return posteriors.length ? scatterDrawable(posteriors) : null;
    },
  },
];

/** Names of every layer, bottom first. */
export const LAYER_IDS = LAYERS.map((l) => l.id);

/**
 * Wires the layer toggles to the plane: each checked layer is drawn for the current model
 * (expensive ones once per model).
 * @param {import('./store.js').Store} store
 * @param {{setLayer: (name: string, d: Drawable | null) => void}} plane
 */
export function createLayersPanel(store, plane) {
  /** Pictures computed once per model (a live model is a new object after every snapshot). */
  /** @type {WeakMap<Model, Map<string, Drawable | null>>} */
  const cache = new WeakMap();
  /** Quick pictures of layers whose full picture is still being made. */
  /** @type {WeakMap<Model, Map<string, Drawable | null>>} */
  const quick = new WeakMap();
  const refining = createRefiner(store);
  const toggle = (id) => $(`layer-${id}`);

  function update() {
    const model = store.model();
    for (const layer of LAYERS) {
      const on = toggle(layer.id).checked;
      if (layer.explain) $(layer.explain).hidden = !on;
      if (layer.legend) $('legend').hidden = !on;
      try {
        plane.setLayer(layer.id, on ? drawFor(layer, model) : null);
      } catch (err) {
        setStatus('status.layer-failed', { layer: { key: `layer.${layer.id}` }, reason: errorMessage(err) }, true);
      }
    }
  }

  function drawFor(layer, model) {
    if (!layer.cached) return layer.draw(model);
    const pictures = perModel(cache, model);
    if (pictures.has(layer.id)) return pictures.get(layer.id);
    if (!layer.refine) {
      pictures.set(layer.id, layer.draw(model));
      return pictures.get(layer.id);
    }
    refining.start(layer, model, (picture) => {
      pictures.set(layer.id, picture);
      if (store.model() === model && toggle(layer.id).checked) plane.setLayer(layer.id, picture);
    });
    const shown = perModel(quick, model);
    if (!shown.has(layer.id)) shown.set(layer.id, layer.draw(model));
    return shown.get(layer.id);
  }

  for (const layer of LAYERS) toggle(layer.id).addEventListener('change', update);
  store.on(['current'], update);
  store.on(['current'], () => fillLegend($('legend'), store.model().info.classes));
  fillLegend($('legend'), store.model().info.classes);
  return {
    update,
    /** Ids of the layers switched on. */
    enabled: () => LAYER_IDS.filter((id) => toggle(id).checked),
    /** Switches exactly the layers `ids` on. */
    setEnabled(ids) {
      for (const id of LAYER_IDS) toggle(id).checked = ids.includes(id);
      update();
    },
  };
}

/** @template T @param {WeakMap<Model, Map<string, T>>} maps @param {Model} model */
function perModel(maps, model) {
  if (!maps.has(model)) maps.set(model, new Map());
  return /** @type {Map<string, T>} */ (maps.get(model));
}

/**
 * Runs layers' `refine` steps one per background task. `#latent-plane[data-refining]` names the layers still
 * being made (empty when none): tests and the benchmark wait on it. A model taken out of the
 * switch (a live snapshot replaced, say) stops its refinement.
 * @param {import('./store.js').Store} store
 */
function createRefiner(store) {
  /** @type {Map<string, {model: Model}>} layer id → the refinement under way */
  const running = new Map();
  const mark = () => { $('latent-plane').dataset.refining = [...running.keys()].join(' '); };
  mark();
  return {
    /** Makes `layer`'s full picture for `model` between frames; `done(picture)` at the end. */
    start(layer, model, done) {
      if (running.get(layer.id)?.model === model) return;
      const job = { model };
      running.set(layer.id, job);
      mark();
      const steps = layer.refine(model);
      const finish = () => { if (running.get(layer.id) === job) running.delete(layer.id); mark(); };
      const step = () => {
        if (running.get(layer.id) !== job) return; // a newer refinement of this layer took over
        if (![...store.get().models.values()].includes(model)) return finish();
        try {
          const result = steps.next();
          if (!result.done) return void later(step);
          finish();
          done(result.value);
        } catch (err) {
          finish();
          setStatus('status.layer-failed', { layer: { key: `layer.${layer.id}` }, reason: errorMessage(err) }, true);
        }
      };
      later(step);
    },
  };
}

/** Runs `fn` in a later task, behind input, frames and the page's other tasks where the browser can say so. */
function later(fn) {
  if (globalThis.scheduler?.postTask) globalThis.scheduler.postTask(fn, { priority: 'background' });
  else setTimeout(fn, 0);
}

/**
 * The classes' colour key under the plane: the current model's class names (its weights file
 * records them: digits, Fashion-MNIST's items, KMNIST's hiragana), one colour per label.
 * @param {HTMLElement} legend
 * @param {string[]} classes
 */
function fillLegend(legend, classes) {
  legend.replaceChildren(...DIGIT_COLORS.map((color, label) => {
    const span = document.createElement('span');
    span.style.setProperty('--swatch', color);
    span.textContent = classes[label] ?? String(label);
    return span;
  }));
}

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
const CONTINUITY_CELLS = 49; // continuity map: points over [−GRID_RANGE, GRID_RANGE]²

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

/**
 * @typedef {import('./wasm.js').Model} Model
 * @typedef {import('./plane.js').Drawable} Drawable
 * @typedef {{id: string, explain?: string, cached?: boolean, legend?: boolean,
 *            draw: (model: Model) => Drawable | null}} Layer
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
    draw: (model) => {
      const rates = model.continuityMap(CONTINUITY_CELLS, GRID_RANGE);
      const max = rates.reduce((m, v) => Math.max(m, v), 1e-6);
      return pictureDrawable(heatmapCanvas(rates, CONTINUITY_CELLS, (v) => heatColor(Math.min(1, v / max))),
        gridExtent(CONTINUITY_CELLS, GRID_RANGE), { alpha: 1, smooth: true });
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
    if (!cache.has(model)) cache.set(model, new Map());
    const pictures = cache.get(model);
    if (!pictures.has(layer.id)) pictures.set(layer.id, layer.draw(model));
    return pictures.get(layer.id);
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

// layers.js — the one list of the plane's layers: each with its toggle (input#layer-<id>), its
// explanation (#<id>-explain) and how to draw it for a model. The layers panel, the URL fragment
// and the plane's drawing order all read this list.

import { $, errorMessage, heatmapCanvas, imageCanvas, setStatus } from './dom.js';
import { DIGIT_COLORS, pictureDrawable, priorDrawable, scatterDrawable } from './plane.js';
import { gridExtent } from './wasm.js';
import { later } from './frames.js';

const GRID_CELLS = 20;       // manifold grid: GRID_CELLS² decodings …
const GRID_RANGE = 3;        // … over the window shown, at most ±GRID_RANGE wide (the whole plane: [−3, 3]²)
const MAP_CELLS = 64;        // aggregate-posterior map: MAP_CELLS² points over the window shown
const CONTINUITY_CELLS = 49; // continuity map: points over the window (at most ±GRID_RANGE), made …
const CONTINUITY_BAND_ROWS = 4; // … a band of rows (≈ 250 decodes, ≈ 20 ms) per task, between frames; …
const CONTINUITY_PREVIEW_CELLS = 21; // … meanwhile a coarse map is drawn at once
const VIEW_REST_MS = 150;    // after a zoom or pan, the pictures are made anew once the window rests this long

/**
 * The part of window `w` a picture covers: the window itself, or at most ±`widest` around its centre.
 * @param {LatentWindow} w
 * @returns {LatentWindow}
 */
const pictureWindow = (w, widest) => ({ cx: w.cx, cy: w.cy, half: Math.min(widest, w.half) });

/**
 * Where a picture of an n × n grid over window `w` is drawn (one pixel or tile per point).
 * @param {LatentWindow} w
 * @returns {LatentWindow}
 */
const pictureAt = (n, w) => ({ cx: w.cx, cy: w.cy, half: gridExtent(n, w.half) });

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
 * The continuity map's picture: rates relative to the map's largest.
 * @param {LatentWindow} w the grid's window
 */
function continuityPicture(rates, n, w) {
  const max = rates.reduce((m, v) => Math.max(m, v), 1e-6);
  return pictureDrawable(heatmapCanvas(rates, n, (v) => heatColor(Math.min(1, v / max))), pictureAt(n, w), { alpha: 1, smooth: true });
}

/**
 * @typedef {import('./wasm.js').Model} Model
 * @typedef {import('./wasm.js').LatentWindow} LatentWindow
 * @typedef {import('./plane.js').Drawable} Drawable
 * @typedef {{id: string, explain?: string, cached?: boolean, legend?: boolean, panel?: boolean,
 *            draw: (model: Model, w: LatentWindow) => Drawable | null,
 *            refine?: (model: Model, w: LatentWindow) => Generator<void, Drawable | null, void>}} Layer
 * `draw` makes the layer for the window `w` shown on the plane (a `cached` layer is a picture made
 * once per model and window). `refine`, where a layer has it, makes the full picture in steps
 * (one per task, so that frames and input go on between them); `draw` is then the quick picture
 * shown until it is done.
 */

/** @type {Layer[]} bottom first: the order they are drawn in */
export const LAYERS = [
  {
    id: 'aggregate', explain: 'aggregate-explain', cached: true,
    draw: (model, w) => model.testPosteriors().length === 0 ? null : pictureDrawable(
      heatmapCanvas(model.aggregateVsPrior(MAP_CELLS, w), MAP_CELLS, divergingColor),
      pictureAt(MAP_CELLS, w), { alpha: 1, smooth: true }),
  },
  {
    id: 'continuity', explain: 'continuity-explain', cached: true,
    draw: (model, w) => {
      const at = pictureWindow(w, GRID_RANGE);
      return continuityPicture(model.continuityMap(CONTINUITY_PREVIEW_CELLS, at), CONTINUITY_PREVIEW_CELLS, at);
    },
    *refine(model, w) {
      const [n, at] = [CONTINUITY_CELLS, pictureWindow(w, GRID_RANGE)];
      const rates = new Float32Array(n * n);
      for (let row = 0; row < n; row += CONTINUITY_BAND_ROWS) {
        rates.set(model.continuityMapRows(n, at, row, Math.min(CONTINUITY_BAND_ROWS, n - row)), row * n);
        yield;
      }
      return continuityPicture(rates, n, at);
    },
  },
  {
    id: 'grid', explain: 'grid-explain', cached: true,
    draw: (model, w) => {
      const at = pictureWindow(w, GRID_RANGE);
      return pictureDrawable(imageCanvas(model.decodeGrid(GRID_CELLS, at)), pictureAt(GRID_CELLS, at));
    },
  },
  { id: 'prior', draw: () => priorDrawable() },
  // Drawn by its own panel (bound.js: it follows the image shown, not the model and window).
  { id: 'true-posterior', explain: 'true-posterior-explain', panel: true, draw: () => null },
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
/** Names of the layers the registry draws (not a panel), bottom first: the plane's lower layers. */
export const REGISTRY_DRAWN = LAYERS.filter((l) => !l.panel).map((l) => l.id);

/**
 * Wires the layer toggles to the plane: each checked layer is drawn for the current model and the
 * window shown (expensive ones once per model and window). When the window changes, the pictures
 * of the last window stay on the plane (they are drawn in latent units, so they move and scale
 * with it) until the new window's are made, between frames: a zoom step itself only redraws.
 * @param {import('./store.js').Store} store
 * @param {{setLayer: (name: string, d: Drawable | null) => void, getWindow: () => LatentWindow}} plane
 */
export function createLayersPanel(store, plane) {
  const toggle = (id) => $(`layer-${id}`);
  /** Whether the window moved and its pictures wait for it to rest (named in data-refining as `window`). */
  const waiting = { window: false };
  const { show: showCached, mark } = cachedLayers(store, plane, toggle, () => waiting.window);
  let resting = 0;

  /** Draws every layer for the current model; `viewChanged`: the window moved, so cached pictures are made anew in the background. */
  function update(viewChanged = false) {
    const model = store.model();
    for (const layer of LAYERS) {
      const on = toggle(layer.id).checked;
      if (layer.explain) $(layer.explain).hidden = !on;
      if (layer.legend) $('legend').hidden = !on;
      try {
        if (layer.panel) continue;
        if (!on) plane.setLayer(layer.id, null);
        else if (!layer.cached && viewChanged) continue; // vector marks in latent units: they follow the window as they are
        else if (!layer.cached) plane.setLayer(layer.id, layer.draw(model, plane.getWindow()));
        else showCached(layer, model, viewChanged);
      } catch (err) {
        setStatus('status.layer-failed', { layer: { key: `layer.${layer.id}` }, reason: errorMessage(err) }, true);
      }
    }
  }

  for (const layer of LAYERS) toggle(layer.id).addEventListener('change', () => update());
  store.on(['current'], () => update());
  store.on(['current'], () => fillLegend($('legend'), store.model().info.classes));
  fillLegend($('legend'), store.model().info.classes);
  return {
    update,
    /**
     * The window shown changed: every layer follows it, once the window has rested
     * VIEW_REST_MS (meanwhile the plane shows the last pictures moved and scaled): a run of
     * wheel steps starts no refinement between its steps.
     */
    viewChanged() {
      clearTimeout(resting);
      waiting.window = true;
      mark();
      resting = setTimeout(() => {
        waiting.window = false;
        update(true);
        mark();
      }, VIEW_REST_MS);
    },
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
 * Shows a cached layer for the window shown: its picture if made, else made now (or, after a
 * zoom or pan, between frames, the last window's picture staying until then).
 * @param {import('./store.js').Store} store
 * @param {{setLayer: (name: string, d: Drawable | null) => void, getWindow: () => LatentWindow}} plane
 * @param {(id: string) => HTMLInputElement} toggle
 * @returns {{show: (layer: Layer, model: Model, viewChanged: boolean) => void, mark: () => void}}
 */
function cachedLayers(store, plane, toggle, windowWaiting) {
  /** Per model, each cached layer's picture for one window: the latest made. */
  /** @type {WeakMap<Model, Map<string, {key: string, picture: Drawable | null}>>} */
  const cache = new WeakMap();
  const refining = createRefiner(store, windowWaiting);
  const windowKey = (w) => `${w.cx},${w.cy},${w.half}`;
  const showLayer = (layer, model, viewChanged) => {
    const w = plane.getWindow();
    const key = windowKey(w);
    const pictures = perModel(cache, model);
    const made = pictures.get(layer.id);
    // Made for this window (or its quick picture, while the full one is being made).
    if (made?.key === key) return plane.setLayer(layer.id, made.picture);
    /** Shows `picture` if the plane still shows this model, layer and window. */
    const show = (picture) => {
      if (store.model() === model && toggle(layer.id).checked && windowKey(plane.getWindow()) === key) plane.setLayer(layer.id, picture);
    };
    const keep = (picture) => {
      pictures.set(layer.id, { key, picture });
      show(picture);
    };
    if (viewChanged && made) return refining.start(layer.id, model, key, recompute(layer, model, w, show), keep);
    const quick = layer.draw(model, w);
    if (!layer.refine) return keep(quick);
    pictures.set(layer.id, { key, picture: quick });
    plane.setLayer(layer.id, quick);
    refining.start(layer.id, model, key, layer.refine(model, w), keep);
  };
  return { show: showLayer, mark: refining.mark };
}

/**
 * A cached layer made for a new window between frames: nothing in the task of the zoom step
 * itself, then its quick picture (shown through `show`), then its refinement if it has one.
 * @param {Layer} layer
 * @param {Model} model
 * @param {LatentWindow} w
 * @param {(quick: Drawable | null) => void} show
 * @returns {Generator<void, Drawable | null, void>}
 */
function* recompute(layer, model, w, show) {
  yield;
  const quick = layer.draw(model, w);
  if (!layer.refine) return quick;
  show(quick);
  yield;
  return yield* layer.refine(model, w);
}

/** @template T @param {WeakMap<Model, Map<string, T>>} maps @param {Model} model */
function perModel(maps, model) {
  if (!maps.has(model)) maps.set(model, new Map());
  return /** @type {Map<string, T>} */ (maps.get(model));
}

/**
 * Runs pictures made in steps, one step per background task. `#latent-plane[data-refining]`
 * names the layers still being made (empty when none): tests and the benchmark wait on it. A
 * newer job for a layer (another window, another model) replaces the one under way; a model
 * taken out of the switch (a live snapshot replaced, say) stops its job.
 * @param {import('./store.js').Store} store
 */
function createRefiner(store, windowWaiting) {
  /** @type {Map<string, {model: Model, key: string}>} layer id → the job under way */
  const running = new Map();
  const mark = () => { $('latent-plane').dataset.refining = [...(windowWaiting() ? ['window'] : []), ...running.keys()].join(' '); };
  mark();
  return {
    /** Names in data-refining what is being made now. */
    mark,
    /**
     * Steps `steps` for layer `id` (for `model` and window `key`) between frames; `done(picture)` at the end.
     * @param {string} id
     * @param {Model} model
     * @param {string} key
     * @param {Generator<void, Drawable | null, void>} steps
     * @param {(picture: Drawable | null) => void} done
     */
    start(id, model, key, steps, done) {
      const now = running.get(id);
      if (now?.model === model && now.key === key) return;
      const job = { model, key };
      running.set(id, job);
      mark();
      const finish = () => { if (running.get(id) === job) running.delete(id); mark(); };
      const step = () => {
        if (running.get(id) !== job) return; // a newer job for this layer took over
        if (![...store.get().models.values()].includes(model)) return finish();
        try {
          const result = steps.next();
          if (!result.done) return void later(step);
          finish();
          done(result.value);
        } catch (err) {
          finish();
          setStatus('status.layer-failed', { layer: { key: `layer.${id}` }, reason: errorMessage(err) }, true);
        }
      };
      later(step);
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

// comparisons.js — views that decode the same latent points with every model: interpolation
// between two points and samples from the prior.

import { $, tile } from './dom.js';
import { interpolate, samplePrior } from './wasm.js';
import { samplesDrawable, segmentDrawable } from './plane.js';

const PRIOR_SAMPLES = 16;    // prior samples per click, shown 4 × 4
const INTERPOLATION_STEPS = 10;

/**
 * Buttons A and B set the ends of a segment; every model decodes the points along it.
 * @param {import('./store.js').Store} store
 * @param {{setLayer: Function, getPoint: () => {x: number, y: number}}} plane
 */
export function createInterpolationPanel(store, plane) {
  /** @type {{a: {x: number, y: number} | null, b: {x: number, y: number} | null}} */
  const ends = { a: null, b: null };
  function update() {
    plane.setLayer('segment', ends.a || ends.b ? segmentDrawable(ends.a, ends.b) : null);
    const box = $('interpolation');
    box.replaceChildren();
    if (!ends.a || !ends.b) return;
    const zs = interpolate(ends.a, ends.b, INTERPOLATION_STEPS);
    for (const [name, m] of store.get().models) {
      tile(box, name, 28 * INTERPOLATION_STEPS, 28, 'strip10').getContext('2d').putImageData(m.decodeTiles(zs, INTERPOLATION_STEPS), 0, 0);
    }
    $('interpolation-explain').hidden = false;
  }
  $('set-a').addEventListener('click', () => { ends.a = plane.getPoint(); update(); });
  $('set-b').addEventListener('click', () => { ends.b = plane.getPoint(); update(); });
  store.on(['models'], () => { if (ends.a && ends.b) update(); });
}

/**
 * "Sample z ~ N(0, I)": sixteen draws decoded by every model and marked on the plane.
 * @param {import('./store.js').Store} store
 * @param {{setLayer: Function}} plane
 */
export function createSamplingPanel(store, plane) {
  let seed = 1;
  /** @type {Float32Array | null} */
  let zs = null;
  function show() {
    const box = $('samples');
    box.replaceChildren();
    for (const [name, m] of store.get().models) {
      tile(box, name, 112, 112, 'sheet').getContext('2d').putImageData(m.decodeTiles(zs, 4), 0, 0);
    }
    $('samples-explain').hidden = false;
    plane.setLayer('samples', samplesDrawable(zs));
  }
  $('sample-prior').addEventListener('click', () => { zs = samplePrior(PRIOR_SAMPLES, seed++); show(); });
  store.on(['models'], () => { if (zs) show(); });
}

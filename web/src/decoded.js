// decoded.js — what the point decodes to: the big image, its copy over the plane's corner on a
// phone, the same z decoded by every model, the coordinates with the prior's density there, and a
// HUD with the time per decode and frames per second. Decodes in an animation frame after the
// point, the model or the models changed, once per frame at most.

import { redrawNextFrame } from './frames.js';
import { $, errorMessage, fmt, savePng, setStatus, setText, tile } from './dom.js';
import { render } from './i18n.js';
import { priorDensity } from './wasm.js';

const HUD_EVERY_MS = 500;
/** Frames further apart than this end a run of frames (a drag): the rate counts within one run. */
const RUN_GAP_MS = 250;

/**
 * Decodes the point with every model once: each into its comparison tile, the current model's
 * also into `views` (the big image and its copy). Returns milliseconds per decode.
 * An image is painted before the next decode: decodeImageData may reuse its pixel buffer.
 * @param {import('./store.js').State} state
 * @param {Map<string, CanvasRenderingContext2D>} compare
 * @param {CanvasRenderingContext2D[]} views
 */
function decodeEverywhere({ point: z, models, current }, compare, views) {
  const t0 = performance.now();
  for (const [name, ctx] of compare) {
    const image = models.get(name).decodeImageData(z.x, z.y);
    ctx.putImageData(image, 0, 0);
    if (name === current) for (const view of views) view.putImageData(image, 0, 0);
  }
  let decodes = compare.size;
  if (!compare.has(current)) {
    const image = models.get(current).decodeImageData(z.x, z.y);
    for (const view of views) view.putImageData(image, 0, 0);
    decodes++;
  }
  return (performance.now() - t0) / decodes;
}

/** @param {import('./store.js').Store} store */
export function createDecodedPanel(store) {
  const decodedCtx = $('decoded').getContext('2d');
  const miniCtx = $('decoded-mini').getContext('2d');
  /** @type {Map<string, CanvasRenderingContext2D>} model name → its tile in the comparison */
  const compare = new Map();
  /** Frames per second within the current run of decode frames (a drag), shown every HUD_EVERY_MS. */
  const hud = { frames: 0, runStart: 0, last: -Infinity, shown: -Infinity, decodeMs: 0 };

  /** One comparison tile per loaded model: new models get one, dropped ones (e.g. live-ae) lose theirs. */
  function addTiles(state) {
    for (const [name, ctx] of compare) {
      if (state.models.has(name)) continue;
      ctx.canvas.closest('figure')?.remove();
      compare.delete(name);
    }
    for (const name of state.models.keys()) {
      if (!compare.has(name)) compare.set(name, tile($('compare'), name, 28, 28).getContext('2d'));
    }
  }

  function decode() {
    try {
      hud.decodeMs = decodeEverywhere(store.get(), compare, [decodedCtx, miniCtx]);
    } catch (err) {
      setStatus('status.decode-failed', { reason: errorMessage(err) }, true);
    }
  }

  /** @param {number} now */
  function frame(now) {
    decode();
    if (now - hud.last > RUN_GAP_MS) Object.assign(hud, { frames: 0, runStart: now });
    hud.frames++;
    hud.last = now;
    if (now - hud.shown < HUD_EVERY_MS) return;
    hud.shown = now;
    const fps = hud.frames > 1 ? (1000 * (hud.frames - 1)) / (now - hud.runStart) : 0;
    render($('hud'), 'hud.figures', { ms: hud.decodeMs.toFixed(2), fps: Math.round(fps) });
  }

  store.on(['point'], ({ point: z }) => {
    redrawNextFrame(frame);
    setText($('z1'), fmt(z.x));
    setText($('z2'), fmt(z.y));
    // Only the number changes per move (a hot path): the label is a message of its own.
    setText($('prior-density'), priorDensity(z.x, z.y).toExponential(2));
  });
  store.on(['current'], () => redrawNextFrame(frame));
  store.on(['models'], (state) => { addTiles(state); redrawNextFrame(frame); });
  addTiles(store.get());
  redrawNextFrame(frame);

  $('save-decoded').addEventListener('click', () => {
    const { current, point: z } = store.get();
    savePng($('decoded'), `${current}-z${z.x.toFixed(2)},${z.y.toFixed(2)}.png`, 10);
  });
}

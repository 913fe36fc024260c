// zoom.js — zooming and panning the latent plane: the wheel (and a trackpad's pinch, which
// Chromium and Firefox send as a wheel with Ctrl, Safari as gesture events) zooms about the
// pointer, two fingers pinch and pan, the
// middle button or a modifier key drags the window, `+`/`−`/`0` and Ctrl/Alt + arrows do the same
// from the keyboard, and the buttons under the plane zoom about its centre or to a posterior.
// A drag with the primary button (or one finger) is the point's (plane.js): the two never fight.

import { $ } from './dom.js';
import { MIN_HALF, RANGE, isPanGesture } from './plane.js';

/** @typedef {import('./wasm.js').LatentWindow} LatentWindow */

const WHEEL_PX_PER_DOUBLING = 500; // wheel pixels that halve (or double) the window: a notch (100 px) ≈ ×1.15
const LINE_PX = 33;                 // a wheel "line" (deltaMode 1, Firefox's mice) as pixels: 3 lines ≈ one notch
const ZOOM_STEP = 1.5;              // per +/− key or button press
const KEY_PAN = 0.2;                // share of the window's width per Ctrl/Alt + arrow press
/** The window around a posterior: this many of its largest σ either side, at least ±MIN_POSTERIOR_HALF. */
const POSTERIOR_SIGMAS = 3;
const MIN_POSTERIOR_HALF = 0.02;

/**
 * The window after zooming by `factor` (> 1 zooms out) about latent point `z`, which stays
 * where it is on the screen (up to the plane's bounds).
 * @param {LatentWindow} w
 * @param {{x: number, y: number}} z
 * @returns {LatentWindow}
 */
export function zoomAbout(w, z, factor) {
  const half = Math.max(MIN_HALF, Math.min(RANGE, w.half * factor));
  const kept = half / w.half;
  return { cx: z.x - (z.x - w.cx) * kept, cy: z.y - (z.y - w.cy) * kept, half };
}

/**
 * The window that shows a posterior N(μ, diag σ²) large: centred on μ, POSTERIOR_SIGMAS of its
 * largest σ either side (its 2σ ellipse then spans two thirds of the plane along that axis).
 * @param {{mu: number[], sigma: number[]}} post
 * @returns {LatentWindow}
 */
export function posteriorWindow(post) {
  const sigma = Math.max(post.sigma[0] || 0, post.sigma[1] || 0);
  return { cx: post.mu[0], cy: post.mu[1], half: Math.max(MIN_POSTERIOR_HALF, POSTERIOR_SIGMAS * sigma) };
}

/** Wheel delta in pixels, whatever unit the engine reports (Firefox may give lines). @param {WheelEvent} e */
export function wheelPixels(e, pageHeight) {
  const unit = e.deltaMode === 1 ? LINE_PX : e.deltaMode === 2 ? pageHeight : 1;
  return e.deltaY * unit;
}

/**
 * Wheel, pinch, pan and keys on the plane's canvas.
 * @param {HTMLCanvasElement} canvas
 * @param {{toLatent: (clientX: number, clientY: number) => {x: number, y: number},
 *          getWindow: () => LatentWindow, setWindow: (w: LatentWindow) => void,
 *          pixelsPerUnit: () => number}} plane
 */
export function zoomControls(canvas, plane) {
  canvas.addEventListener('wheel', (e) => {
    e.preventDefault(); // the page does not scroll while the pointer zooms the plane
    const factor = 2 ** (wheelPixels(e, canvas.clientHeight) / WHEEL_PX_PER_DOUBLING);
    plane.setWindow(zoomAbout(plane.getWindow(), plane.toLatent(e.clientX, e.clientY), factor));
  }, { passive: false });
  attachPanAndPinch(canvas, plane);
  canvas.addEventListener('keydown', (e) => {
    const w = plane.getWindow();
    const centre = { x: w.cx, y: w.cy };
    const pan = KEY_PAN * 2 * w.half;
    const moves = { ArrowLeft: [-pan, 0], ArrowRight: [pan, 0], ArrowUp: [0, pan], ArrowDown: [0, -pan] };
    if ((e.ctrlKey || e.altKey || e.metaKey) && e.key in moves) {
      const [dx, dy] = moves[e.key];
      plane.setWindow({ cx: w.cx + dx, cy: w.cy + dy, half: w.half });
    } else if (e.key === '+' || e.key === '=') plane.setWindow(zoomAbout(w, centre, 1 / ZOOM_STEP));
    else if (e.key === '-' || e.key === '_' || e.key === '−') plane.setWindow(zoomAbout(w, centre, ZOOM_STEP));
    // '۰' and '٠': the 0 key under a Persian or Arabic keyboard layout.
    else if (e.key === '0' || e.key === '۰' || e.key === '٠') plane.setWindow({ cx: 0, cy: 0, half: RANGE });
    else return;
    e.preventDefault();
  });
}

/**
 * Panning with the middle button or a modifier key held, and with two fingers (which also pinch
 * to zoom about their midpoint). The pointers are tracked here; plane.js ignores them.
 * @param {HTMLCanvasElement} canvas
 * @param {Parameters<typeof zoomControls>[1]} plane
 */
function attachPanAndPinch(canvas, plane) {
  /** @type {Map<number, {x: number, y: number}>} touches on the plane, client pixels */
  const touches = new Map();
  /** The pointer panning with a button, and where it was. */
  let panning = /** @type {{id: number, x: number, y: number} | null} */ (null);
  const panBy = (dxClient, dyClient) => {
    const w = plane.getWindow(), perUnit = plane.pixelsPerUnit();
    plane.setWindow({ cx: w.cx - dxClient / perUnit, cy: w.cy + dyClient / perUnit, half: w.half });
  };
  canvas.addEventListener('pointerdown', (e) => {
    if (e.pointerType === 'touch') touches.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (e.pointerType !== 'touch' && isPanGesture(e)) {
      panning = { id: e.pointerId, x: e.clientX, y: e.clientY };
      canvas.setPointerCapture(e.pointerId);
      e.preventDefault();
    }
  });
  canvas.addEventListener('pointermove', (e) => {
    if (panning && panning.id === e.pointerId) {
      panBy(e.clientX - panning.x, e.clientY - panning.y);
      Object.assign(panning, { x: e.clientX, y: e.clientY });
    } else if (touches.has(e.pointerId) && touches.size === 2) {
      const [a, b] = [...touches.values()];
      const before = { mid: midpoint(a, b), gap: Math.hypot(a.x - b.x, a.y - b.y) };
      touches.set(e.pointerId, { x: e.clientX, y: e.clientY });
      const [c, d] = [...touches.values()];
      const after = { mid: midpoint(c, d), gap: Math.hypot(c.x - d.x, c.y - d.y) };
      const held = plane.toLatent(before.mid.x, before.mid.y);
      plane.setWindow(zoomAbout(plane.getWindow(), held, before.gap / Math.max(1, after.gap)));
      panBy(after.mid.x - before.mid.x, after.mid.y - before.mid.y);
    } else if (touches.has(e.pointerId)) touches.set(e.pointerId, { x: e.clientX, y: e.clientY });
  });
  const end = (e) => {
    touches.delete(e.pointerId);
    if (panning && panning.id === e.pointerId) panning = null;
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  // Safari's trackpad pinch: gesturestart / gesturechange with a cumulative `scale`, where the
  // other engines send a Ctrl wheel. Unanswered, Safari zooms the whole page instead. On an iPad
  // the same events come with the two touch pointers, which pinch already: then they are ignored.
  let gestureScale = 1;
  canvas.addEventListener('gesturestart', (e) => { e.preventDefault(); gestureScale = 1; });
  canvas.addEventListener('gesturechange', (e) => {
    e.preventDefault();
    const scale = Number(/** @type {any} */ (e).scale) || 1;
    if (touches.size === 0) {
      const { clientX, clientY } = /** @type {any} */ (e);
      plane.setWindow(zoomAbout(plane.getWindow(), plane.toLatent(clientX, clientY), gestureScale / scale));
    }
    gestureScale = scale;
  });
  canvas.addEventListener('gestureend', (e) => e.preventDefault());
  canvas.addEventListener('auxclick', (e) => { if (e.button === 1) e.preventDefault(); }); // no autoscroll/paste
}

/** @param {{x: number, y: number}} a @param {{x: number, y: number}} b */
const midpoint = (a, b) => ({ x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 });

/**
 * The zoom buttons under the plane: in, out (about the window's centre), the whole plane, and to
 * the posterior shown (disabled while there is none) — with the true posterior's layer on and its
 * bound known, to the window that holds both q(z|x) and p(z|x).
 * @param {{getWindow: () => LatentWindow, setWindow: (w: LatentWindow) => void}} plane
 * @param {() => {mu: number[], sigma: number[]} | null} posterior the posterior shown now, if any
 * @param {() => LatentWindow | null} boundFrame the window around q and the true posterior, if known
 */
export function attachZoomButtons(plane, posterior, boundFrame) {
  const about = (factor) => () => {
    const w = plane.getWindow();
    plane.setWindow(zoomAbout(w, { x: w.cx, y: w.cy }, factor));
  };
  $('plane-zoom-in').addEventListener('click', about(1 / ZOOM_STEP));
  $('plane-zoom-out').addEventListener('click', about(ZOOM_STEP));
  $('plane-zoom-reset').addEventListener('click', () => plane.setWindow({ cx: 0, cy: 0, half: RANGE }));
  const toPosterior = /** @type {HTMLButtonElement} */ ($('plane-zoom-posterior'));
  toPosterior.addEventListener('click', () => {
    const post = posterior();
    const both = boundFrame();
    if (both) plane.setWindow(both);
    else if (post) plane.setWindow(posteriorWindow(post));
  });
  return {
    /** Enables zoom-to-posterior when there is a posterior to zoom to. */
    refresh: () => { toPosterior.disabled = !posterior(); },
  };
}

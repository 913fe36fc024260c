// plane.js — the 2-D latent plane: axes in latent units and a draggable point (pointer events:
// mouse, pen and touch; arrow keys), over layers that other panels set (pictures, the prior's
// rings, dots, ellipses), in a window that zooms and pans (wheel, pinch, keys, buttons). Layers
// change rarely and the point often, so the layers are drawn once per change (the pictures kept
// as a bitmap under the marks that change more often) and the point is an element above them
// that a move only shifts.

import { redrawNextFrame } from './frames.js';
import { priorDensity } from './wasm.js';

/** @typedef {import('./wasm.js').LatentWindow} LatentWindow */

export const RANGE = 4;     // the whole plane (the widest window) is z ∈ [−RANGE, RANGE]²
export const MIN_HALF = 0.005; // the narrowest window is ±MIN_HALF: 800× the whole plane
const KEY_STEP = 0.05;      // latent units per arrow-key press at the whole plane (×5 with Shift)
const RING_SIGMAS = [1, 2, 3];
const POINT_RADIUS = 7;     // CSS pixels
const TARGET_TICKS = 7;     // about this many ticks along each axis, at any zoom
const INSET = 0.22;         // the overview inset's side, as a share of the plane's
const ZOOM_REST_MS = 150;   // a run of zoom or pan steps ends when the window rests this long
/** One colour per digit 0–9 (Tableau 10), shared with the legend. */
export const DIGIT_COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const COLORS = { prior: '#9aa0a6', axis: '#c8c8c0', label: '#5b6470', posterior: '#1f6fd2', sample: '#2e9d4f', segment: '#7a3cc2' };

/**
 * How latent units map to canvas pixels now: `scale` pixels per latent unit in the window shown;
 * `unit` is that scale at the whole plane, the measure of line widths and fonts (which must not
 * grow as the view zooms in).
 * @typedef {{size: number, scale: number, unit: number, dpr: number, window: LatentWindow,
 *            toPx: (z: {x: number, y: number}) => {x: number, y: number}}} View
 * @typedef {(ctx: CanvasRenderingContext2D, view: View) => void} Drawable
 */

/**
 * A picture (canvas) covering the square `at` (centre and half-width in latent units).
 * @param {HTMLCanvasElement} image
 * @param {LatentWindow} at
 * @returns {Drawable}
 */
export function pictureDrawable(image, at, { alpha = 0.85, smooth = false } = {}) {
  return (ctx, view) => {
    const a = view.toPx({ x: at.cx - at.half, y: at.cy + at.half });
    const b = view.toPx({ x: at.cx + at.half, y: at.cy - at.half });
    ctx.imageSmoothingEnabled = smooth;
    ctx.globalAlpha = alpha;
    ctx.drawImage(image, a.x, a.y, b.x - a.x, b.y - a.y);
    ctx.globalAlpha = 1;
  };
}

/**
 * The prior N(0, I): its density as a radial shade, and rings at 1σ, 2σ, 3σ.
 * @returns {Drawable}
 */
export function priorDrawable() {
  // Density along a radius relative to the peak, at r = 0, 1, 2, 3 (from vae-core).
  const shade = [0, 1, 2, 3].map((r) => 0.16 * priorDensity(r, 0) / priorDensity(0, 0));
  return (ctx, { size, scale: s, unit, toPx }) => {
    const c = toPx({ x: 0, y: 0 });
    const grad = ctx.createRadialGradient(c.x, c.y, 0, c.x, c.y, 3 * s);
    shade.forEach((a, r) => grad.addColorStop(r / 3, `rgba(31,111,210,${a.toFixed(4)})`));
    ctx.fillStyle = grad;
    ctx.fillRect(0, 0, size, size);
    ctx.strokeStyle = COLORS.prior;
    ctx.fillStyle = COLORS.label;
    ctx.lineWidth = Math.max(1, unit / 60);
    ctx.font = `${Math.round(unit * 0.2)}px system-ui, sans-serif`;
    // Rings off the view simply leave it (their labels with them).
    for (const k of RING_SIGMAS) {
      ctx.beginPath();
      ctx.arc(c.x, c.y, k * s, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.fillText(`${k}σ`, c.x + k * s * Math.SQRT1_2 + 3, c.y - k * s * Math.SQRT1_2 - 3);
    }
  };
}

/**
 * Calls `draw(i)` for every code `i` (stride 5) of each digit in turn, inside one path per digit
 * filled or stroked once in its colour: ten draw calls for a thousand codes, not a thousand.
 * @param {CanvasRenderingContext2D} ctx
 * @param {ArrayLike<number>} codes `[μ₁, μ₂, σ₁, σ₂, label, …]`
 * @param {'fill' | 'stroke'} paint
 * @param {(i: number) => void} draw
 */
function perDigitPaths(ctx, codes, paint, draw) {
  for (let digit = 0; digit < DIGIT_COLORS.length; digit++) {
    ctx.beginPath();
    for (let i = 0; i + 4 < codes.length; i += 5) if (codes[i + 4] === digit) draw(i);
    ctx[paint === 'fill' ? 'fillStyle' : 'strokeStyle'] = DIGIT_COLORS[digit];
    if (paint === 'fill') ctx.fill(); else ctx.stroke();
  }
}

/**
 * Encoded test images `[μ₁, μ₂, σ₁, σ₂, label, …]` as dots coloured by digit.
 * @param {ArrayLike<number>} pts
 * @returns {Drawable}
 */
export function scatterDrawable(pts) {
  return (ctx, { toPx, dpr }) => {
    const r = 1.6 * dpr;
    perDigitPaths(ctx, pts, 'fill', (i) => {
      const p = toPx({ x: pts[i], y: pts[i + 1] });
      ctx.rect(p.x - r, p.y - r, 2 * r, 2 * r);
    });
  };
}

/**
 * Codes of test images `[μ₁, μ₂, σ₁, σ₂, label, …]` as dots coloured by digit, with their σ as
 * faint axis-aligned ellipses when `withSigma` (a VAE's posteriors).
 * @param {ArrayLike<number>} codes
 * @returns {Drawable}
 */
export function codesDrawable(codes, withSigma) {
  const dots = scatterDrawable(codes);
  return (ctx, view) => {
    if (withSigma) {
      ctx.lineWidth = view.dpr;
      ctx.globalAlpha = 0.18;
      perDigitPaths(ctx, codes, 'stroke', (i) => {
        const c = view.toPx({ x: codes[i], y: codes[i + 1] });
        const [rx, ry] = [Math.max(0.5, codes[i + 2] * view.scale), Math.max(0.5, codes[i + 3] * view.scale)];
        ctx.moveTo(c.x + rx, c.y);
        ctx.ellipse(c.x, c.y, rx, ry, 0, 0, 2 * Math.PI);
      });
      ctx.globalAlpha = 1;
    }
    dots(ctx, view);
  };
}

/**
 * Latent points `[x0, y0, …]` as round dots (prior samples).
 * @param {ArrayLike<number>} zs
 * @returns {Drawable}
 */
export function samplesDrawable(zs, color = COLORS.sample, radius = 3) {
  return (ctx, { toPx, dpr }) => {
    ctx.fillStyle = color;
    for (let i = 0; i + 1 < zs.length; i += 2) {
      const p = toPx({ x: zs[i], y: zs[i + 1] });
      ctx.beginPath();
      ctx.arc(p.x, p.y, radius * dpr, 0, 2 * Math.PI);
      ctx.fill();
    }
  };
}

/**
 * The interpolation segment A → B (either end may be missing).
 * @param {{x: number, y: number} | null} a
 * @param {{x: number, y: number} | null} b
 * @returns {Drawable}
 */
export function segmentDrawable(a, b) {
  return (ctx, { toPx, dpr }) => {
    ctx.strokeStyle = ctx.fillStyle = COLORS.segment;
    ctx.lineWidth = 2 * dpr;
    const pa = a && toPx(a), pb = b && toPx(b);
    if (pa && pb) { ctx.beginPath(); ctx.moveTo(pa.x, pa.y); ctx.lineTo(pb.x, pb.y); ctx.stroke(); }
    ctx.font = `bold ${Math.round(13 * dpr)}px system-ui, sans-serif`;
    /** @type {[{x: number, y: number} | null, string][]} */
    const ends = [[pa, 'A'], [pb, 'B']];
    for (const [p, label] of ends) {
      if (!p) continue;
      ctx.beginPath(); ctx.arc(p.x, p.y, 3 * dpr, 0, 2 * Math.PI); ctx.fill();
      ctx.fillText(label, p.x + 5 * dpr, p.y - 5 * dpr);
    }
  };
}

/**
 * A posterior N(μ, diag σ²) as dashed 1σ and 2σ ellipses, to scale, with its reparameterised
 * samples z = μ + σ ⊙ ε as dots.
 * @param {{mu: number[], sigma: number[], samples?: number[]}} post
 * @returns {Drawable}
 */
export function posteriorDrawable(post) {
  const dots = samplesDrawable(post.samples || [], COLORS.posterior, 2);
  return (ctx, view) => {
    const { toPx, scale: s, unit } = view;
    const c = toPx({ x: post.mu[0], y: post.mu[1] });
    ctx.strokeStyle = ctx.fillStyle = COLORS.posterior;
    ctx.lineWidth = Math.max(1.5, unit / 40);
    ctx.setLineDash([6, 4]);
    for (const k of [1, 2]) {
      ctx.beginPath();
      // Axis-aligned: a diagonal covariance has no rotation. Radii are kσ in latent units.
      ctx.ellipse(c.x, c.y, Math.max(0.5, k * post.sigma[0] * s), Math.max(0.5, k * post.sigma[1] * s), 0, 0, 2 * Math.PI);
      ctx.stroke();
    }
    ctx.setLineDash([]);
    ctx.beginPath();
    ctx.arc(c.x, c.y, 3, 0, 2 * Math.PI);
    ctx.fill();
    dots(ctx, view);
  };
}

/**
 * A round tick step (1, 2 or 5 × 10ᵏ) near `span / TARGET_TICKS`, and the decimals its labels need.
 * @returns {{step: number, decimals: number}}
 */
export function niceStep(span) {
  const raw = span / TARGET_TICKS;
  let power = 1, decimals = 0;
  while (power > raw) { power /= 10; decimals++; }
  while (power * 10 <= raw) { power *= 10; decimals = Math.max(0, decimals - 1); }
  const step = [1, 2, 5, 10].map((m) => m * power).find((v) => v >= raw) || 10 * power;
  return { step, decimals: step >= 1 ? 0 : decimals };
}

/**
 * Axes with round ticks for the window shown: the axis lines where z₁ = 0 and z₂ = 0 cross the
 * view; the tick labels along them, or along the nearest edge when an axis is off the view.
 * @type {Drawable}
 */
function drawAxes(ctx, { size, unit, toPx, window: w }) {
  const c = toPx({ x: 0, y: 0 });
  const margin = unit * 0.3;
  const labelY = Math.max(margin, Math.min(size - margin, c.y)); // where the z₁ labels go
  const labelX = Math.max(margin * 0.2, Math.min(size - 2.5 * margin, c.x)); // where the z₂ labels go
  ctx.strokeStyle = COLORS.axis;
  ctx.lineWidth = Math.max(1, unit / 80);
  ctx.beginPath();
  if (c.y >= 0 && c.y <= size) { ctx.moveTo(0, c.y); ctx.lineTo(size, c.y); }
  if (c.x >= 0 && c.x <= size) { ctx.moveTo(c.x, 0); ctx.lineTo(c.x, size); }
  ctx.stroke();
  ctx.fillStyle = COLORS.label;
  ctx.font = `${Math.round(unit * 0.18)}px system-ui, sans-serif`;
  const { step, decimals } = niceStep(2 * w.half);
  const ticks = (centre) => {
    const out = [];
    for (let k = Math.ceil((centre - w.half) / step); k * step <= centre + w.half; k++) out.push(k * step);
    return out;
  };
  /** @type {[string, number, number][]} */
  const labels = [];
  ctx.beginPath();
  for (const t of ticks(w.cx)) {
    if (t === 0 && c.x >= 0 && c.x <= size) continue;
    const x = toPx({ x: t, y: 0 }).x;
    labels.push([t.toFixed(decimals), x - 4, labelY + unit * 0.25]);
    ctx.moveTo(x, labelY - 4); ctx.lineTo(x, labelY + 4);
  }
  for (const t of ticks(w.cy)) {
    if (t === 0 && c.y >= 0 && c.y <= size) continue;
    const y = toPx({ x: 0, y: t }).y;
    labels.push([t.toFixed(decimals), labelX + 4, y + 4]);
    ctx.moveTo(labelX - 4, y); ctx.lineTo(labelX + 4, y);
  }
  ctx.stroke();
  labels.push(['z₁', size - unit * 0.35, labelY - 6], ['z₂', labelX + 6, unit * 0.25]);
  // A light halo keeps the labels legible over the dark manifold grid.
  ctx.strokeStyle = 'rgba(255,255,255,0.85)';
  ctx.lineWidth = Math.max(2, unit / 25);
  ctx.lineJoin = 'round';
  for (const [text, x, y] of labels) { ctx.strokeText(text, x, y); ctx.fillText(text, x, y); }
}

/**
 * The scale bar: the largest power of ten at most a third of the window's width, and the
 * decimals its label needs.
 * @param {number} half the window's half-width
 * @returns {{length: number, decimals: number}}
 */
export function scaleBar(half) {
  let length = 1, decimals = 0;
  while (length > (2 * half) / 3) { length /= 10; decimals++; }
  while (length * 10 <= (2 * half) / 3) length *= 10;
  return { length, decimals: length >= 1 ? 0 : decimals };
}

/**
 * Over the view: a scale bar (how long a round number of latent units is here) and, when zoomed
 * in, an overview inset: the whole plane's prior rings with the window shown marked on it.
 * @type {Drawable}
 */
function drawScaleAndOverview(ctx, { size, scale, unit, dpr, window: w }) {
  const { length, decimals } = scaleBar(w.half);
  const [x0, y0] = [unit * 0.3, size - unit * 0.3];
  ctx.fillStyle = 'rgba(255,255,255,0.75)';
  ctx.fillRect(x0 - 4 * dpr, y0 - unit * 0.3, length * scale + 8 * dpr, unit * 0.42);
  ctx.strokeStyle = ctx.fillStyle = COLORS.label;
  ctx.lineWidth = 2 * dpr;
  ctx.beginPath();
  ctx.moveTo(x0, y0 - 5 * dpr); ctx.lineTo(x0, y0); ctx.lineTo(x0 + length * scale, y0); ctx.lineTo(x0 + length * scale, y0 - 5 * dpr);
  ctx.stroke();
  ctx.font = `${Math.round(unit * 0.17)}px system-ui, sans-serif`;
  ctx.fillText(length.toFixed(decimals), x0 + 3 * dpr, y0 - 7 * dpr);
  if (w.half >= RANGE * 0.999) return;
  const side = size * INSET;
  const [left, top] = [size - side - 6 * dpr, 6 * dpr];
  const s = side / (2 * RANGE);
  const at = (x, y) => [left + (x + RANGE) * s, top + (RANGE - y) * s];
  ctx.fillStyle = 'rgba(255,255,255,0.88)';
  ctx.fillRect(left, top, side, side);
  ctx.strokeStyle = COLORS.prior;
  ctx.lineWidth = dpr;
  ctx.strokeRect(left, top, side, side);
  const [cx, cy] = at(0, 0);
  ctx.beginPath();
  for (const k of RING_SIGMAS) { ctx.moveTo(cx + k * s, cy); ctx.arc(cx, cy, k * s, 0, 2 * Math.PI); }
  ctx.stroke();
  const [wx, wy] = at(w.cx - w.half, w.cy + w.half);
  const wSide = Math.max(3 * dpr, 2 * w.half * s);
  ctx.strokeStyle = COLORS.posterior;
  ctx.lineWidth = 2 * dpr;
  ctx.strokeRect(wx + (2 * w.half * s - wSide) / 2, wy + (2 * w.half * s - wSide) / 2, wSide, wSide);
}

/**
 * Creates the latent plane on `canvas`, its layers stacked as {@link createLayerStack} says.
 * `onView(window)` is called whenever the window shown changes (zoom or pan: zoom.js drives it).
 * @param {HTMLCanvasElement} canvas
 * @param {string[]} order layer names, bottom first
 * @param {(z: {x: number, y: number}) => void} onMove called whenever the user moves the point
 * @param {{axesAbove: string, cachedThrough: string}} stacking
 * @param {(w: LatentWindow) => void} [onView]
 */
export function createLatentPlane(canvas, order, onMove, stacking, onView = () => {}) {
  const stack = createLayerStack(canvas, order, stacking, () => redrawNextFrame(redraw));
  const pointLayer = createPointLayer(canvas);
  const state = { point: { x: 0, y: 0 }, pointDirty: true };
  const view = createView();

  function resize() {
    const box = canvas.getBoundingClientRect();
    stack.resize(Math.max(1, Math.round(box.width * (self.devicePixelRatio || 1))));
    pointLayer.fit();
    view.setSize(canvas.width, self.devicePixelRatio || 1);
    state.pointDirty = true;
    redrawNextFrame(redraw);
  }

  function setPoint(z) {
    state.point = z;
    state.pointDirty = true;
    redrawNextFrame(redraw);
    onMove(z);
  }

  const setWindow = windowSetter(canvas, view, () => {
    stack.windowMoved();
    state.pointDirty = true;
    redrawNextFrame(redraw);
  }, onView);

  const toLatent = (clientX, clientY) => clientToLatent(canvas, view, clientX, clientY);
  attachPointer(canvas, toLatent, setPoint, () => state.point, () => view.window);
  new ResizeObserver(resize).observe(canvas);
  resize();

  /** Draws what changed: the layers (if any did) and the point (if it moved). */
  function redraw() {
    stack.draw(view);
    if (state.pointDirty) pointLayer.draw(view, state.point);
    state.pointDirty = false;
  }

  return {
    /** Moves the point (and notifies onMove). */
    setPoint,
    /** The current point in latent units. */
    getPoint: () => ({ ...state.point }),
    /** Sets layer `name` to `drawable` (null removes it), drawn in the next frame. @type {typeof stack.set} */
    setLayer(name, drawable) {
      stack.set(name, drawable);
      redrawNextFrame(redraw);
    },
    /** Clamps a point to the plane. */
    clampPoint: (z) => ({ x: clamp(z.x), y: clamp(z.y) }),
    /** The window shown now. @returns {LatentWindow} */
    getWindow: () => ({ ...view.window }),
    /** Shows window `w` (clamped: at most the whole plane, at least ±MIN_HALF, inside the plane). */
    setWindow,
    toLatent, // latent coordinates under client (pointer) coordinates, in the window shown
    pixelsPerUnit: () => view.scale / view.dpr, // CSS pixels per latent unit in the window shown
  };
}

/**
 * The plane's `setWindow`: shows window `w`, clamped to the plane, in `view` (and as the canvas's
 * `data-view`); `redraw()` draws every layer again, once, and `onView` hears of it.
 * @param {HTMLCanvasElement} canvas
 * @param {ReturnType<typeof createView>} view
 * @param {() => void} redraw
 * @param {(w: LatentWindow) => void} onView
 */
function windowSetter(canvas, view, redraw, onView) {
  canvas.dataset.view = windowText(view.window);
  return (/** @type {LatentWindow} */ w) => {
    const next = clampWindow(w);
    const now = view.window;
    if (next.cx === now.cx && next.cy === now.cy && next.half === now.half) return;
    view.setWindow(next);
    canvas.dataset.view = windowText(next);
    redraw();
    onView(next);
  };
}

/** A window as `data-view` and the fragment write it: "cx,cy,halfwidth". @param {LatentWindow} w */
export function windowText(w) {
  const digits = (v) => Number(v.toPrecision(6)).toString();
  return `${digits(w.cx)},${digits(w.cy)},${digits(w.half)}`;
}

/**
 * A window made valid: half-width in [MIN_HALF, RANGE], the square inside the whole plane.
 * @param {LatentWindow} w
 * @returns {LatentWindow}
 */
export function clampWindow(w) {
  const half = Math.max(MIN_HALF, Math.min(RANGE, Number.isFinite(w.half) ? w.half : RANGE));
  const room = RANGE - half;
  const centre = (c) => Math.max(-room, Math.min(room, Number.isFinite(c) ? c : 0));
  return { cx: centre(w.cx), cy: centre(w.cy), half };
}

/** Client (pointer) coordinates → latent coordinates in the window shown, through the element's box. */
function clientToLatent(canvas, view, clientX, clientY) {
  const box = canvas.getBoundingClientRect();
  const u = (clientX - box.left) / box.width;
  const v = (clientY - box.top) / box.height;
  const w = view.window;
  return { x: w.cx + (u * 2 - 1) * w.half, y: w.cy + (1 - v * 2) * w.half };
}

/**
 * The plane's layers, drawn bottom to top in `order` with the axes above the layer `axesAbove`.
 * The layers up to `cachedThrough` (the pictures and the codes: they change when the model or a
 * toggle does) are kept as one bitmap of their own, so that a change in a layer above them (the
 * live codes of a training run, several times a second) draws only the layers above over a copy
 * of the bitmap: painting the pictures again cost 6–11 ms of the frame's commit, measured in a
 * trace while training.
 * @param {HTMLCanvasElement} canvas
 * @param {string[]} order
 * @param {{axesAbove: string, cachedThrough: string}} stacking
 */
function createLayerStack(canvas, order, { axesAbove, cachedThrough }, redrawSoon) {
  const axesAt = order.indexOf(axesAbove);
  const cachedCount = order.indexOf(cachedThrough) + 1;
  if (axesAt < 0 || axesAt >= cachedCount) throw new Error(`the axes go above a cached layer, not “${axesAbove}”`);
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
  const base = document.createElement('canvas');
  const baseCtx = /** @type {CanvasRenderingContext2D} */ (base.getContext('2d'));
  /** @type {Map<string, Drawable>} */
  const layers = new Map();
  const dirty = { base: true, any: true };
  /** The window the bitmap was drawn for; while the window moves, the bitmap is shown moved and scaled to the new one. */
  let baseWindow = /** @type {LatentWindow | null} */ (null);
  let resting = 0;
  return {
    /** Sizes the canvas and the bitmap to `size` pixels square (both redrawn). */
    resize(size) {
      if (size !== canvas.width) canvas.width = canvas.height = base.width = base.height = size;
      dirty.base = dirty.any = true;
    },
    /** Draws what changed since the last call. @param {View} view */
    draw(view) {
      if (!dirty.any) return;
      const drawables = order.map((name) => layers.get(name));
      if (dirty.base || !baseWindow) {
        drawLayers(baseCtx, view, drawables.slice(0, cachedCount), axesAt);
        baseWindow = { ...view.window };
      }
      ctx.clearRect(0, 0, view.size, view.size);
      const at = view.toPx({ x: baseWindow.cx - baseWindow.half, y: baseWindow.cy + baseWindow.half });
      const side = 2 * baseWindow.half * view.scale;
      ctx.drawImage(base, at.x, at.y, side, side); // where the window has not moved: at 0, 0, full size
      for (const draw of drawables.slice(cachedCount)) draw?.(ctx, view);
      drawScaleAndOverview(ctx, view);
      dirty.base = dirty.any = false;
    },
    /**
     * The window moved: the marks follow at once, over the bitmap moved and scaled to the new
     * window; the bitmap itself is drawn again for it once the window has rested ZOOM_REST_MS
     * (a run of wheel steps pays that once, not per step).
     */
    windowMoved() {
      dirty.any = true;
      clearTimeout(resting);
      resting = setTimeout(() => { dirty.base = dirty.any = true; redrawSoon(); }, ZOOM_REST_MS);
    },
    /**
     * Sets layer `name` (one of `order`) to `drawable`, or removes it with null.
     * @param {string} name
     * @param {Drawable | null} drawable
     */
    set(name, drawable) {
      if (!order.includes(name)) throw new Error(`the plane has no layer “${name}”`);
      if ((layers.get(name) ?? null) === drawable) return;
      if (drawable) layers.set(name, drawable); else layers.delete(name);
      dirty.any = true;
      if (order.indexOf(name) < cachedCount) dirty.base = true;
    },
  };
}

/**
 * The draggable point: a ring (so what lies under it stays visible), an element of its own over
 * the plane, moved by a CSS transform. A move then changes one composited layer's position: no
 * canvas to redraw and upload, no layout, no paint on the main thread (a full-size overlay canvas
 * cost ≈ 0.4 ms of commit per move).
 * @param {HTMLCanvasElement} canvas the plane
 */
function createPointLayer(canvas) {
  const ring = document.createElement('div');
  ring.className = 'plane-point';
  ring.setAttribute('aria-hidden', 'true');
  Object.assign(ring.style, { width: `${2 * POINT_RADIUS}px`, height: `${2 * POINT_RADIUS}px` });
  canvas.after(ring);
  /** The plane's content box within .plane-box, CSS pixels. */
  let box = { left: 0, top: 0, size: 1 };
  return {
    /** Follows the plane's box (inside its border). */
    fit() {
      box = { left: canvas.offsetLeft + canvas.clientLeft, top: canvas.offsetTop + canvas.clientTop, size: canvas.clientWidth || 1 };
    },
    /** Moves the ring to `point` (hidden while the point is outside the window shown). */
    draw(view, point) {
      const p = view.toPx(point); // canvas pixels → CSS pixels
      const inside = p.x >= 0 && p.x <= view.size && p.y >= 0 && p.y <= view.size;
      if (ring.hidden === inside) ring.hidden = !inside;
      const x = box.left + (p.x / view.size) * box.size - POINT_RADIUS;
      const y = box.top + (p.y / view.size) * box.size - POINT_RADIUS;
      ring.style.transform = `translate(${x.toFixed(1)}px, ${y.toFixed(1)}px)`;
    },
  };
}

/**
 * Draws `drawables` (bottom first; missing ones skipped) on a cleared canvas, with the axes
 * above the one at `axesAt`.
 * @param {CanvasRenderingContext2D} ctx
 * @param {View} view
 * @param {(Drawable | undefined)[]} drawables
 */
function drawLayers(ctx, view, drawables, axesAt) {
  ctx.clearRect(0, 0, view.size, view.size);
  drawables.forEach((draw, i) => {
    draw?.(ctx, view);
    if (i === axesAt) drawAxes(ctx, view);
  });
}

/**
 * Draws `drawables` (bottom first) once on a small square canvas of its own, over the same
 * latent range as the plane, with the axes above the first: a still picture, e.g. one model's
 * codes beside another's.
 * @param {HTMLCanvasElement} canvas
 * @param {Drawable[]} drawables
 */
export function drawStill(canvas, drawables) {
  const view = createView();
  view.setSize(canvas.width, 1);
  drawLayers(canvas.getContext('2d'), view, drawables, 0);
}

/** A latent coordinate clamped to the plane's range. */
const clamp = (t) => Math.max(-RANGE, Math.min(RANGE, t));

/** The latent ↔ canvas-pixel mapping of a square canvas `size` pixels wide showing a window (the whole plane at first). */
function createView() {
  /** @type {View & {setSize: (size: number, dpr: number) => void, setWindow: (w: LatentWindow) => void}} */
  const view = {
    size: 0, scale: 0, unit: 0, dpr: 1, window: { cx: 0, cy: 0, half: RANGE },
    toPx: (z) => ({ x: (z.x - view.window.cx + view.window.half) * view.scale, y: (view.window.half - z.y + view.window.cy) * view.scale }),
    setSize(size, dpr) {
      Object.assign(view, { size, dpr, unit: size / (2 * RANGE), scale: size / (2 * view.window.half) });
    },
    setWindow(w) {
      Object.assign(view, { window: w, scale: view.size / (2 * w.half) });
    },
  };
  return view;
}

/**
 * Pointer dragging and arrow keys on the plane's canvas. A drag with the primary button (or one
 * finger) moves the point; panning (middle button, a modifier, two fingers) is zoom.js's, so the
 * two never fight.
 * @param {HTMLCanvasElement} canvas
 * @param {(clientX: number, clientY: number) => {x: number, y: number}} toLatent
 * @param {(z: {x: number, y: number}) => void} setPoint
 * @param {() => {x: number, y: number}} getPoint
 * @param {() => LatentWindow} getWindow
 */
function attachPointer(canvas, toLatent, setPoint, getPoint, getWindow) {
  const at = (e) => { const z = toLatent(e.clientX, e.clientY); return { x: clamp(z.x), y: clamp(z.y) }; };
  /** The pointer dragging the point, if any. */
  let dragging = /** @type {number | null} */ (null);
  canvas.addEventListener('pointerdown', (e) => {
    if (isPanGesture(e) || (e.pointerType === 'touch' && dragging !== null)) { dragging = null; return; }
    dragging = e.pointerId;
    canvas.setPointerCapture(e.pointerId);
    setPoint(at(e));
    e.preventDefault();
  });
  canvas.addEventListener('pointermove', (e) => {
    if (dragging === e.pointerId) setPoint(at(e));
  });
  const stop = (e) => { if (dragging === e.pointerId) dragging = null; };
  canvas.addEventListener('pointerup', stop);
  canvas.addEventListener('pointercancel', stop);
  canvas.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.altKey || e.metaKey) return; // with a modifier the arrows pan (zoom.js)
    // A press moves the point by KEY_STEP at the whole plane, proportionally less zoomed in.
    const step = KEY_STEP * (e.shiftKey ? 5 : 1) * (getWindow().half / RANGE);
    const d = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] }[e.key];
    if (!d) return;
    const p = getPoint();
    setPoint({ x: clamp(p.x + d[0]), y: clamp(p.y + d[1]) });
    e.preventDefault();
  });
}

/** Whether a pointer-down starts a pan rather than a drag of the point: middle button or a modifier key. */
export function isPanGesture(e) {
  return e.button === 1 || e.shiftKey || e.ctrlKey || e.altKey || e.metaKey;
}

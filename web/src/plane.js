// plane.js — the 2-D latent plane: axes in latent units and a draggable point (pointer events:
// mouse, pen and touch; arrow keys), over layers that other panels set (pictures, the prior's
// rings, dots, ellipses). Layers change rarely and the point often, so the layers are drawn once
// per change (the pictures kept as a bitmap under the marks that change more often) and the
// point is an element above them that a move only shifts.

import { redrawNextFrame } from './frames.js';
import { priorDensity } from './wasm.js';

const RANGE = 4;            // the plane shows z ∈ [−RANGE, RANGE]²
const KEY_STEP = 0.05;      // latent units per arrow-key press (×5 with Shift)
const RING_SIGMAS = [1, 2, 3];
const POINT_RADIUS = 7;     // CSS pixels
/** One colour per digit 0–9 (Tableau 10), shared with the legend. */
export const DIGIT_COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const COLORS = { prior: '#9aa0a6', axis: '#c8c8c0', label: '#5b6470', posterior: '#1f6fd2', sample: '#2e9d4f', segment: '#7a3cc2' };

/**
 * How latent units map to canvas pixels now.
 * @typedef {{size: number, scale: number, dpr: number, toPx: (z: {x: number, y: number}) => {x: number, y: number}}} View
 * @typedef {(ctx: CanvasRenderingContext2D, view: View) => void} Drawable
 */

/**
 * A picture (canvas) covering [−extent, extent]².
 * @param {HTMLCanvasElement} image
 * @returns {Drawable}
 */
export function pictureDrawable(image, extent, { alpha = 0.85, smooth = false } = {}) {
  return (ctx, view) => {
    const a = view.toPx({ x: -extent, y: extent });
    const b = view.toPx({ x: extent, y: -extent });
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
  return (ctx, { size, scale: s, toPx }) => {
    const c = toPx({ x: 0, y: 0 });
    const grad = ctx.createRadialGradient(c.x, c.y, 0, c.x, c.y, 3 * s);
    shade.forEach((a, r) => grad.addColorStop(r / 3, `rgba(31,111,210,${a.toFixed(4)})`));
    ctx.fillStyle = grad;
    ctx.fillRect(0, 0, size, size);
    ctx.strokeStyle = COLORS.prior;
    ctx.fillStyle = COLORS.label;
    ctx.lineWidth = Math.max(1, s / 60);
    ctx.font = `${Math.round(s * 0.2)}px system-ui, sans-serif`;
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
    const { toPx, scale: s } = view;
    const c = toPx({ x: post.mu[0], y: post.mu[1] });
    ctx.strokeStyle = ctx.fillStyle = COLORS.posterior;
    ctx.lineWidth = Math.max(1.5, s / 40);
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

/** Axes through the origin with unit ticks and labels. @type {Drawable} */
function drawAxes(ctx, { size, scale: s, toPx }) {
  const c = toPx({ x: 0, y: 0 });
  ctx.strokeStyle = COLORS.axis;
  ctx.lineWidth = Math.max(1, s / 80);
  ctx.beginPath();
  ctx.moveTo(0, c.y); ctx.lineTo(size, c.y);
  ctx.moveTo(c.x, 0); ctx.lineTo(c.x, size);
  ctx.stroke();
  ctx.fillStyle = COLORS.label;
  ctx.font = `${Math.round(s * 0.18)}px system-ui, sans-serif`;
  for (let t = -RANGE + 1; t < RANGE; t++) {
    if (t === 0) continue;
    const p = toPx({ x: t, y: t });
    ctx.fillText(String(t), p.x - 4, c.y + s * 0.25);
    ctx.fillText(String(t), c.x + 4, p.y + 4);
    ctx.beginPath();
    ctx.moveTo(p.x, c.y - 4); ctx.lineTo(p.x, c.y + 4);
    ctx.moveTo(c.x - 4, p.y); ctx.lineTo(c.x + 4, p.y);
    ctx.stroke();
  }
  ctx.fillText('z₁', size - s * 0.35, c.y - 6);
  ctx.fillText('z₂', c.x + 6, s * 0.25);
}

/**
 * Creates the latent plane on `canvas`, its layers stacked as {@link createLayerStack} says.
 * @param {HTMLCanvasElement} canvas
 * @param {string[]} order layer names, bottom first
 * @param {(z: {x: number, y: number}) => void} onMove called whenever the user moves the point
 * @param {{axesAbove: string, cachedThrough: string}} stacking
 */
export function createLatentPlane(canvas, order, onMove, stacking) {
  const stack = createLayerStack(canvas, order, stacking);
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

  attachPointer(canvas, setPoint, () => state.point);
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
  };
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
function createLayerStack(canvas, order, { axesAbove, cachedThrough }) {
  const axesAt = order.indexOf(axesAbove);
  const cachedCount = order.indexOf(cachedThrough) + 1;
  if (axesAt < 0 || axesAt >= cachedCount) throw new Error(`the axes go above a cached layer, not “${axesAbove}”`);
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
  const base = document.createElement('canvas');
  const baseCtx = /** @type {CanvasRenderingContext2D} */ (base.getContext('2d'));
  /** @type {Map<string, Drawable>} */
  const layers = new Map();
  const dirty = { base: true, any: true };
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
      if (dirty.base) drawLayers(baseCtx, view, drawables.slice(0, cachedCount), axesAt);
      ctx.clearRect(0, 0, view.size, view.size);
      ctx.drawImage(base, 0, 0);
      for (const draw of drawables.slice(cachedCount)) draw?.(ctx, view);
      dirty.base = dirty.any = false;
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
    /** Moves the ring to `point`. */
    draw(view, point) {
      const p = view.toPx(point); // canvas pixels → CSS pixels
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

/** The latent ↔ canvas-pixel mapping of a square canvas `size` pixels wide. */
function createView() {
  /** @type {View & {setSize: (size: number, dpr: number) => void}} */
  const view = {
    size: 0, scale: 0, dpr: 1,
    toPx: (z) => ({ x: (z.x + RANGE) * view.scale, y: (RANGE - z.y) * view.scale }),
    setSize(size, dpr) {
      Object.assign(view, { size, scale: size / (2 * RANGE), dpr });
    },
  };
  return view;
}

/**
 * Pointer dragging and arrow keys on the plane's canvas.
 * @param {HTMLCanvasElement} canvas
 * @param {(z: {x: number, y: number}) => void} setPoint
 * @param {() => {x: number, y: number}} getPoint
 */
function attachPointer(canvas, setPoint, getPoint) {
  /** Client (pointer) coordinates → latent coordinates, through the element's current box. */
  function clientToLatent(clientX, clientY) {
    const box = canvas.getBoundingClientRect();
    const u = (clientX - box.left) / box.width;
    const v = (clientY - box.top) / box.height;
    return { x: clamp((u * 2 - 1) * RANGE), y: clamp((1 - v * 2) * RANGE) };
  }
  let dragging = false;
  canvas.addEventListener('pointerdown', (e) => {
    dragging = true;
    canvas.setPointerCapture(e.pointerId);
    setPoint(clientToLatent(e.clientX, e.clientY));
    e.preventDefault();
  });
  canvas.addEventListener('pointermove', (e) => {
    if (dragging) setPoint(clientToLatent(e.clientX, e.clientY));
  });
  const stop = () => { dragging = false; };
  canvas.addEventListener('pointerup', stop);
  canvas.addEventListener('pointercancel', stop);
  canvas.addEventListener('keydown', (e) => {
    const step = KEY_STEP * (e.shiftKey ? 5 : 1);
    const d = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] }[e.key];
    if (!d) return;
    const p = getPoint();
    setPoint({ x: clamp(p.x + d[0]), y: clamp(p.y + d[1]) });
    e.preventDefault();
  });
}

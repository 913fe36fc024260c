// latent-plane.js — the 2-D latent plane: prior N(0, I) with 1/2/3σ rings, axes in latent units,
// a draggable point (pointer events: mouse, pen and touch; arrow keys) and posterior ellipses.
(function (ns) {
  'use strict';

  const RANGE = 4;            // the plane shows z ∈ [−RANGE, RANGE]²
  const KEY_STEP = 0.05;      // latent units per arrow-key press (×5 with Shift)
  const RING_SIGMAS = [1, 2, 3];
  const POINT_RADIUS = 7;     // CSS pixels
  const LAYER_ORDER = ['aggregate', 'continuity', 'grid'];
  /** One colour per digit 0–9 (Tableau 10), shared with the legend. */
  const DIGIT_COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
  ns.DIGIT_COLORS = DIGIT_COLORS;
  const COLORS = { prior: '#9aa0a6', axis: '#c8c8c0', label: '#5b6470', point: '#d2461e', posterior: '#1f6fd2', sample: '#2e9d4f', segment: '#7a3cc2' };

  /**
   * Paints an n × n grid of values (rows from the top) into an n × n canvas through `color`,
   * which maps a value to [r, g, b, a] (0–255).
   * @returns {HTMLCanvasElement}
   */
  ns.heatmapCanvas = function heatmapCanvas(values, n, color) {
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = n;
    const ctx = canvas.getContext('2d');
    const img = ctx.createImageData(n, n);
    for (let i = 0; i < n * n; i++) img.data.set(color(values[i]), 4 * i);
    ctx.putImageData(img, 0, 0);
    return canvas;
  };

  /**
   * Creates the latent plane on `canvas`.
   * @param {HTMLCanvasElement} canvas
   * @param {(z: {x: number, y: number}) => void} onMove called whenever the point moves
   */
  ns.createLatentPlane = function createLatentPlane(canvas, onMove) {
    const ctx = canvas.getContext('2d');
    const state = { point: { x: 0, y: 0 }, posterior: null, samples: null, layers: {}, scatter: null, segment: null, showPrior: true, dragging: false, dirty: true, size: 0 };

    /** Canvas pixels per latent unit, and the conversions both ways. */
    const scale = () => state.size / (2 * RANGE);
    const toPx = (z) => ({ x: (z.x + RANGE) * scale(), y: (RANGE - z.y) * scale() });
    /** Client (pointer) coordinates → latent coordinates, through the element's current box. */
    function clientToLatent(clientX, clientY) {
      const box = canvas.getBoundingClientRect();
      const u = (clientX - box.left) / box.width;
      const v = (clientY - box.top) / box.height;
      const clamp = (t) => Math.max(-RANGE, Math.min(RANGE, t));
      return { x: clamp((u * 2 - 1) * RANGE), y: clamp((1 - v * 2) * RANGE) };
    }

    function resize() {
      const box = canvas.getBoundingClientRect();
      const size = Math.max(1, Math.round(box.width * (self.devicePixelRatio || 1)));
      if (size !== canvas.width) { canvas.width = canvas.height = size; }
      state.size = canvas.width;
      state.dirty = true;
    }

    function setPoint(z) {
      state.point = z;
      state.dirty = true;
      onMove(z);
    }

    canvas.addEventListener('pointerdown', (e) => {
      state.dragging = true;
      canvas.setPointerCapture(e.pointerId);
      setPoint(clientToLatent(e.clientX, e.clientY));
      e.preventDefault();
    });
    canvas.addEventListener('pointermove', (e) => {
      if (state.dragging) setPoint(clientToLatent(e.clientX, e.clientY));
    });
    const stop = () => { state.dragging = false; };
    canvas.addEventListener('pointerup', stop);
    canvas.addEventListener('pointercancel', stop);
    canvas.addEventListener('keydown', (e) => {
      const step = KEY_STEP * (e.shiftKey ? 5 : 1);
      const d = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] }[e.key];
      if (!d) return;
      const clamp = (t) => Math.max(-RANGE, Math.min(RANGE, t));
      setPoint({ x: clamp(state.point.x + d[0]), y: clamp(state.point.y + d[1]) });
      e.preventDefault();
    });
    new ResizeObserver(resize).observe(canvas);
    resize();

    function drawPrior() {
      const s = scale();
      const c = toPx({ x: 0, y: 0 });
      const grad = ctx.createRadialGradient(c.x, c.y, 0, c.x, c.y, 3 * s);
      // Density of N(0, I) along a radius r: exp(−r²/2), sampled at r = 0, 1, 2, 3.
      [0, 1, 2, 3].forEach((r) => grad.addColorStop(r / 3, `rgba(31,111,210,${(0.16 * Math.exp(-r * r / 2)).toFixed(4)})`));
      ctx.fillStyle = grad;
      ctx.fillRect(0, 0, state.size, state.size);
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
    }

    function drawAxes() {
      const s = scale();
      const c = toPx({ x: 0, y: 0 });
      ctx.strokeStyle = COLORS.axis;
      ctx.lineWidth = Math.max(1, s / 80);
      ctx.beginPath();
      ctx.moveTo(0, c.y); ctx.lineTo(state.size, c.y);
      ctx.moveTo(c.x, 0); ctx.lineTo(c.x, state.size);
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
      ctx.fillText('z₁', state.size - s * 0.35, c.y - 6);
      ctx.fillText('z₂', c.x + 6, s * 0.25);
    }

    /** Pictures of the plane (manifold grid, heatmaps) under everything else, in LAYER_ORDER. */
    function drawLayers() {
      for (const name of LAYER_ORDER) {
        const layer = state.layers[name];
        if (!layer) continue;
        const a = toPx({ x: -layer.extent, y: layer.extent });
        const b = toPx({ x: layer.extent, y: -layer.extent });
        ctx.imageSmoothingEnabled = layer.smooth;
        ctx.globalAlpha = layer.alpha;
        ctx.drawImage(layer.image, a.x, a.y, b.x - a.x, b.y - a.y);
        ctx.globalAlpha = 1;
      }
    }

    /** Encoded test images as dots coloured by digit. */
    function drawScatter() {
      const pts = state.scatter;
      if (!pts) return;
      const r = 1.6 * (self.devicePixelRatio || 1);
      for (let i = 0; i + 4 < pts.length; i += 5) {
        const p = toPx({ x: pts[i], y: pts[i + 1] });
        ctx.fillStyle = DIGIT_COLORS[pts[i + 4]] || '#000';
        ctx.fillRect(p.x - r, p.y - r, 2 * r, 2 * r);
      }
    }

    /** The interpolation segment A → B. */
    function drawSegment() {
      const seg = state.segment;
      if (!seg) return;
      const dpr = self.devicePixelRatio || 1;
      ctx.strokeStyle = COLORS.segment;
      ctx.fillStyle = COLORS.segment;
      ctx.lineWidth = 2 * dpr;
      const a = seg.a && toPx(seg.a), b = seg.b && toPx(seg.b);
      if (a && b) { ctx.beginPath(); ctx.moveTo(a.x, a.y); ctx.lineTo(b.x, b.y); ctx.stroke(); }
      ctx.font = `bold ${Math.round(13 * dpr)}px system-ui, sans-serif`;
      for (const [p, label] of [[a, 'A'], [b, 'B']]) {
        if (!p) continue;
        ctx.beginPath(); ctx.arc(p.x, p.y, 3 * dpr, 0, 2 * Math.PI); ctx.fill();
        ctx.fillText(label, p.x + 5 * dpr, p.y - 5 * dpr);
      }
    }

    function drawSamples() {
      if (!state.samples) return;
      ctx.fillStyle = COLORS.sample;
      for (let i = 0; i + 1 < state.samples.length; i += 2) {
        const p = toPx({ x: state.samples[i], y: state.samples[i + 1] });
        ctx.beginPath();
        ctx.arc(p.x, p.y, 3 * (self.devicePixelRatio || 1), 0, 2 * Math.PI);
        ctx.fill();
      }
    }

    function drawPosterior() {
      const post = state.posterior;
      if (!post) return;
      const s = scale();
      const c = toPx({ x: post.mu[0], y: post.mu[1] });
      ctx.strokeStyle = COLORS.posterior;
      ctx.fillStyle = COLORS.posterior;
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
      // The reparameterised samples z = μ + σ ⊙ ε behind the readout.
      const zs = post.samples || [];
      for (let i = 0; i + 1 < zs.length; i += 2) {
        const p = toPx({ x: zs[i], y: zs[i + 1] });
        ctx.beginPath();
        ctx.arc(p.x, p.y, 2 * (self.devicePixelRatio || 1), 0, 2 * Math.PI);
        ctx.fill();
      }
    }

    function drawPoint() {
      const p = toPx(state.point);
      const r = POINT_RADIUS * (self.devicePixelRatio || 1);
      // A ring, not a disc: what lies under the point (a posterior, a grid cell) stays visible.
      ctx.lineWidth = 4 * (self.devicePixelRatio || 1);
      ctx.strokeStyle = '#fff';
      ctx.beginPath();
      ctx.arc(p.x, p.y, r, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.lineWidth = 2 * (self.devicePixelRatio || 1);
      ctx.strokeStyle = COLORS.point;
      ctx.stroke();
    }

    function frame() {
      if (state.dirty) {
        state.dirty = false;
        ctx.clearRect(0, 0, state.size, state.size);
        drawLayers();
        if (state.showPrior) drawPrior();
        drawAxes();
        drawScatter();
        drawSamples();
        drawSegment();
        drawPoint();
        drawPosterior();
      }
      requestAnimationFrame(frame);
    }
    requestAnimationFrame(frame);

    return {
      /** Moves the point (and notifies onMove). */
      setPoint,
      /** The current point in latent units. */
      getPoint: () => ({ ...state.point }),
      /** Shows (or, with null, hides) a posterior N(μ, diag σ²). */
      setPosterior(post) { state.posterior = post; state.dirty = true; },
      /** Shows latent points `[x0, y0, …]` as dots (or hides them with null). */
      setSamples(points) { state.samples = points; state.dirty = true; },
      /**
       * Draws `image` (a canvas) under the plane as layer `name`, covering [−extent, extent]²;
       * null removes the layer.
       */
      setLayer(name, image, extent, { alpha = 0.85, smooth = false } = {}) {
        state.layers[name] = image ? { image, extent, alpha, smooth } : null;
        state.dirty = true;
      },
      /** Shows the interpolation segment between points a and b (either may be null). */
      setSegment(a, b) { state.segment = a || b ? { a, b } : null; state.dirty = true; },
      /** Shows test posteriors `[μ₁, μ₂, σ₁, σ₂, label, …]` as dots coloured by digit (null hides). */
      setScatter(points) { state.scatter = points; state.dirty = true; },
      /** Shows or hides the prior's density and rings. */
      showPrior(on) { state.showPrior = on; state.dirty = true; },
      /** The latent range shown, ±RANGE on both axes. */
      range: RANGE,
    };
  };
})(self.VaeExplorer = self.VaeExplorer || {});

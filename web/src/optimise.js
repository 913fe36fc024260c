// optimise.js — the amortization gap closed live: "Optimise q for this image" runs vae-core's
// gradient ascent on this image's ELBO over a diagonal Gaussian (vae-core's `Ascent`: exact
// ELBO on quadrature nodes, no sampling), from the encoder's q(z|x) towards q*, in the bound's
// Worker (bound-jobs.js), a report every few steps. The ellipse glides on the plane and a small chart draws ELBO(q_t) climbing
// from the encoder's ELBO to ELBO(q*) under log p(x) (semi-amortized inference, Kim et al. 2018).

import { $, errorMessage, fmt } from './dom.js';
import { onLanguage, render, t } from './i18n.js';
import { ellipses } from './bound.js';
import { redrawNextFrame } from './frames.js';
import { startJob } from './bound-jobs.js';

const COLOR = '#1565c0';           // q_t on the plane and its line on the chart
const LINES = { logPx: '#00897b', best: '#e8710a' };
/** q_t ends at q*'s mode when its mean is within this many of q*'s σ. */
const SAME_MODE_SIGMAS = 1;
const PAD = { left: 44, right: 8, top: 16, bottom: 18 };
const FONT = '11px system-ui, Vazirmatn, sans-serif';

/** @typedef {import('./bound-protocol.js').AscentReport} AscentReport */

/**
 * @param {{setLayer: (name: string, d: import('./plane.js').Drawable | null) => void, setWindow: (w: import('./wasm.js').LatentWindow) => void}} plane
 * @param {{frame: () => import('./wasm.js').LatentWindow | null, current: () => {bound: import('./bound-protocol.js').Bound, post: import('./wasm.js').Posterior, model: import('./wasm.js').Model} | null}} boundPanel
 */
export function createOptimisePanel(plane, boundPanel) {
  const button = /** @type {HTMLButtonElement} */ ($('exact-optimise'));
  const chart = /** @type {HTMLCanvasElement} */ ($('exact-optimise-chart'));
  /** @type {import('./bound-jobs.js').Job | null} the ascent under way (cancelled, its messages are dropped) */
  let job = null;
  /** @type {{trace: number[], logPx: number, best: number} | null} what the chart draws */
  let drawn = null;
  const redraw = () => drawChart(chart, drawn);
  onLanguage(() => redrawNextFrame(redraw));

  /** Forgets the last ascent (a new bound, image or model). */
  function reset() {
    job?.cancel();
    job = null;
    drawn = null;
    plane.setLayer('optimise', null);
    for (const key of ['elboStart', 'elboEnd', 'steps', 'mode']) delete chart.dataset[key];
    $('exact-optimise-view').hidden = true;
    // Optimise q starts from the checked bound, not its draft (whose figures are about to move).
    button.disabled = boundPanel.current()?.bound.draft !== false;
  }

  button.addEventListener('click', () => {
    const known = boundPanel.current();
    if (!known) return;
    reset();
    const { bound } = known;
    const frame = boundPanel.frame();
    if (frame) plane.setWindow(frame);
    button.disabled = true;
    drawn = { trace: [bound.elbo], logPx: bound.log_px, best: bound.elbo_best_diagonal };
    $('exact-optimise-view').hidden = false;
    render($('exact-optimise-caption'), 'exact.optimise-running', {});
    job = ascend(known, (report) => {
      drawn?.trace.push(report.elbo);
      plane.setLayer('optimise', (ctx, view) => ellipses(ctx, view, { mean: report.mean, cov: [[report.sigma[0] ** 2, 0], [0, report.sigma[1] ** 2]] }, COLOR, []));
      redrawNextFrame(redraw);
    }, (report) => {
      button.disabled = false;
      if (report) finish(chart, bound, report);
    });
  });
  $('exact').addEventListener('exact-change', reset);
  reset();
}

/**
 * Runs the ascent for the bound's image in the bound's Worker, handing each report to
 * `progress` and the last to `end` (null when it failed, said in the caption) until it ends or
 * is cancelled.
 * @param {{post: import('./wasm.js').Posterior, model: import('./wasm.js').Model}} known
 * @param {(report: AscentReport) => void} progress
 * @param {(report: AscentReport | null) => void} end
 */
function ascend({ post, model }, progress, end) {
  return startJob('optimise', model, post, (message) => {
    if (message.type === 'failed') {
      render($('exact-optimise-caption'), 'exact.optimise-failed', { reason: errorMessage(message.error) });
      return end(null);
    }
    if (message.type !== 'ascent') return;
    progress(message.report);
    if (message.report.done) end(message.report);
  });
}

/**
 * The ascent's end: its figures on the chart's data attributes, and a sentence saying where it
 * went — to q*'s mode, or (a posterior with several modes) to another one.
 * @param {HTMLCanvasElement} chart
 * @param {import('./bound-protocol.js').Bound} bound
 * @param {AscentReport} report
 */
function finish(chart, bound, report) {
  const best = bound.best_diagonal;
  const sigma = Math.sqrt(Math.max(best.cov[0][0], best.cov[1][1]));
  const sameMode = Math.hypot(report.mean[0] - best.mean[0], report.mean[1] - best.mean[1]) <= SAME_MODE_SIGMAS * sigma;
  Object.assign(chart.dataset, { elboStart: String(bound.elbo), elboEnd: String(report.elbo), steps: String(report.steps), mode: sameMode ? 'best' : 'other' });
  const params = { steps: report.steps, start: fmt(bound.elbo), end: fmt(report.elbo), best: fmt(bound.elbo_best_diagonal), logpx: fmt(bound.log_px) };
  render($('exact-optimise-caption'), sameMode ? 'exact.optimise-done' : 'exact.optimise-other-mode', params);
}

/**
 * ELBO(q_t) against the step, under log p(x) and ELBO(q*).
 * @param {HTMLCanvasElement} canvas
 * @param {{trace: number[], logPx: number, best: number} | null} drawn
 */
function drawChart(canvas, drawn) {
  const ctx = canvas.getContext('2d');
  const { width: w, height: h } = canvas;
  ctx.clearRect(0, 0, w, h);
  if (!drawn) return;
  ctx.font = FONT;
  const lo = Math.min(...drawn.trace);
  const hi = drawn.logPx;
  const span = Math.max(hi - lo, 1e-6);
  const x = (i) => PAD.left + (i / Math.max(1, drawn.trace.length - 1)) * (w - PAD.left - PAD.right);
  const y = (v) => h - PAD.bottom - ((v - lo) / span) * (h - PAD.top - PAD.bottom);
  const level = (value, color, key) => {
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.setLineDash([4, 3]);
    ctx.beginPath(); ctx.moveTo(PAD.left, y(value)); ctx.lineTo(w - PAD.right, y(value)); ctx.stroke();
    ctx.setLineDash([]);
    const label = t(key);
    ctx.fillText(label, w - PAD.right - ctx.measureText(label).width, y(value) - 3);
  };
  level(drawn.logPx, LINES.logPx, 'chart.optimise-log-px');
  level(drawn.best, LINES.best, 'chart.optimise-best');
  ctx.strokeStyle = COLOR;
  ctx.lineWidth = 2;
  ctx.beginPath();
  drawn.trace.forEach((v, i) => (i ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))));
  ctx.stroke();
  ctx.lineWidth = 1;
  ctx.fillStyle = '#5b6470';
  ctx.fillText(fmt(lo, 1), 2, y(lo));
  ctx.fillText(fmt(hi, 1), 2, y(hi) + 10);
  const steps = t('chart.step');
  ctx.fillText(steps, w - PAD.right - ctx.measureText(steps).width, h - 4);
}

// bound.js — the bound the ELBO leaves, for the image shown: the true posterior p(z|x) as filled
// contours on the plane with the encoder's q (the posterior panel's dashed ellipses), the best
// diagonal Gaussian q* and the best full-covariance Gaussian q** for this image, and the readout
// `log p(x) ≥ IWAE ≥ ELBO` with the gap split into its approximation and amortization parts.
// Everything is vae-core's quadrature, computed in the bound's own Worker (bound-jobs.js): the
// main thread only paints what arrives — the rule's draft figures with a coarse picture first,
// then the figures checked by a grid (`#exact[data-draft]` says which) and the refined picture;
// a newer image or model cancels the job under way, and figures that land always belong to the
// image shown.

import { $, errorMessage, fmt, heatmapCanvas } from './dom.js';
import { render } from './i18n.js';
import { pictureDrawable } from './plane.js';
import { gridExtent } from './wasm.js';
import { holdWhileDragging, startJob, warm } from './bound-jobs.js';

const FRAME_SIGMAS = 3;       // zoomed to the bound, the window holds q and p(z|x) to ± 3 of their σ …
const FRAME_MARGIN = 1.4;     // … and a margin
/** Filled contours: log density below its peak → opacity (the 1σ, 2σ and 3σ levels of a Gaussian). */
const LEVELS = [[-0.5, 170], [-2, 110], [-4.5, 50]];
const STYLE = { posterior: [0, 137, 123], diagonal: '#e8710a', full: '#8e24aa' };

/** @typedef {import('./bound-protocol.js').Gaussian} Gaussian */
/** @typedef {import('./bound-protocol.js').Bound} Bound */

/**
 * @param {import('./store.js').Store} store
 * @param {{setLayer: (name: string, d: import('./plane.js').Drawable | null) => void}} plane
 * @param {{current: () => import('./wasm.js').Posterior | null}} posterior
 */
export function createBoundPanel(store, plane, posterior) {
  const toggle = /** @type {HTMLInputElement} */ ($('layer-true-posterior'));
  const out = $('exact');
  /** @type {import('./bound-jobs.js').Job | null} the job under way */
  let job = null;
  let cancelled = 0; // jobs a newer one stopped before they ended (`data-cancelled`)
  /** @type {import('./wasm.js').LatentWindow | null} the window showing both q(z|x) and p(z|x), once the bound is known */
  let frame = null;
  /** @type {{bound: Bound, post: import('./wasm.js').Posterior, model: import('./wasm.js').Model} | null} the bound shown */
  let known = null;

  function restart() {
    if (job?.running()) {
      job.cancel();
      out.dataset.cancelled = String(++cancelled);
    }
    job = null;
    const post = posterior.current();
    const model = store.model();
    out.hidden = !toggle.checked;
    frame = null;
    known = null;
    plane.setLayer('true-posterior', null);
    if (toggle.checked && model.info.kind === 'vae') warm(model);
    if (!toggle.checked || !post) return say('none', 'exact.no-image');
    if (model.info.kind === 'ae') return say('none', 'exact.ae');
    say('pending', 'exact.pending');
    const started = performance.now();
    /** @type {Bound | null} */
    let bound = null;
    job = startJob('bound', model, post, (message) => {
      if (message.type === 'failed') return say('none', 'exact.failed', { reason: errorMessage(message.error) });
      if (message.type === 'figures') {
        bound = message.bound;
        frame = windowAround([{ mean: post.mu, cov: [[post.sigma[0] ** 2, 0], [0, post.sigma[1] ** 2]] }, bound.posterior_moments]);
        known = { bound, post, model };
        return showFigures(out, bound, post);
      }
      if (message.type !== 'picture' || !bound) return;
      plane.setLayer('true-posterior', boundDrawable(message.logDensity, message.n, message.window, bound));
      out.dataset.state = message.state;
      // The job's time: from the image to the refined picture.
      if (message.state === 'done') out.dataset.ms = (performance.now() - started).toFixed(1);
    });
  }

  /** Sets `#exact`'s state and its one-line message (the figures cleared). */
  function say(state, key, params = {}) {
    for (const name of ['logPx', 'iwae', 'elbo', 'gap', 'approximationGap', 'amortizationGap', 'fullCovarianceGain', 'evaluations', 'sure', 'draft', 'ms']) delete out.dataset[name];
    $('exact-unsure').hidden = true;
    out.dataset.state = state;
    render($('exact-figures'), key, params);
    $('exact-gaps').hidden = true;
    out.dispatchEvent(new Event('exact-change'));
  }

  toggle.addEventListener('change', restart);
  store.on(['image', 'current'], restart);
  $('latent-plane').addEventListener('pointerdown', () => holdWhileDragging(true));
  for (const type of ['pointerup', 'pointercancel']) $('latent-plane').addEventListener(type, () => holdWhileDragging(false));
  restart();
  return {
    /** The window that shows both the encoder's q(z|x) and the true posterior (null before the bound is known). */
    frame: () => frame,
    /** The bound shown, with the posterior and model it belongs to (null before it is known). */
    current: () => known,
  };
}

/**
 * The square window covering ±FRAME_SIGMAS of each Gaussian's σ along both axes: the encoder's
 * q and the true posterior may lie apart (a large amortization gap), and both should show.
 * @param {Gaussian[]} gaussians
 * @returns {import('./wasm.js').LatentWindow}
 */
function windowAround(gaussians) {
  const lo = [Infinity, Infinity], hi = [-Infinity, -Infinity];
  for (const g of gaussians) {
    for (const d of [0, 1]) {
      const reach = FRAME_SIGMAS * Math.sqrt(Math.max(g.cov[d][d], 0));
      lo[d] = Math.min(lo[d], g.mean[d] - reach);
      hi[d] = Math.max(hi[d], g.mean[d] + reach);
    }
  }
  // A margin, so that neither sits on the edge (or under the overview inset).
  return { cx: (lo[0] + hi[0]) / 2, cy: (lo[1] + hi[1]) / 2, half: FRAME_MARGIN * Math.max(hi[0] - lo[0], hi[1] - lo[1]) / 2 };
}

/**
 * The figures: data attributes (nats, as text) and the readout lines.
 * @param {HTMLElement} out
 * @param {Bound} bound
 * @param {import('./wasm.js').Posterior} post
 */
function showFigures(out, bound, post) {
  Object.assign(out.dataset, {
    logPx: String(bound.log_px), iwae: post.iwae == null ? '' : String(post.iwae), elbo: String(bound.elbo), gap: String(bound.gap),
    approximationGap: String(bound.approximation_gap), amortizationGap: String(bound.amortization_gap),
    fullCovarianceGain: String(bound.full_covariance_gain), evaluations: String(bound.evaluations), sure: String(bound.sure),
    draft: String(bound.draft),
  });
  $('exact-unsure').hidden = bound.sure;
  render($('exact-figures'), 'exact.chain', { logpx: fmt(bound.log_px), iwae: post.iwae == null ? '—' : fmt(post.iwae), elbo: fmt(bound.elbo) });
  render($('exact-gap'), 'exact.gap', { gap: fmt(bound.gap, 3), approx: fmt(bound.approximation_gap, 3), amort: fmt(bound.amortization_gap, 3) });
  render($('exact-full'), 'exact.full', { full: fmt(bound.full_covariance_gain, 3), rho: fmt(correlation(bound.best_full.cov)) });
  $('exact-gaps').hidden = false;
  out.dispatchEvent(new Event('exact-change'));
}

/**
 * p(z|x) as filled contours over window `w`, with q*'s and q**'s 1σ and 2σ ellipses.
 * @param {Float32Array} logDensity n × n, rows from the top
 * @param {import('./bound-protocol.js').PictureWindow} w
 * @param {Bound} bound
 * @returns {import('./plane.js').Drawable}
 */
function boundDrawable(logDensity, n, w, bound) {
  const peak = logDensity.reduce((a, v) => (v > a ? v : a), -Infinity);
  const [r, g, b] = STYLE.posterior;
  const picture = pictureDrawable(heatmapCanvas(logDensity, n, (v) => {
    const level = LEVELS.find(([below]) => v - peak >= below);
    return level ? [r, g, b, level[1]] : [0, 0, 0, 0];
  }), { cx: w.cx, cy: w.cy, half: gridExtent(n, w.half) }, { alpha: 1, smooth: true });
  return (ctx, view) => {
    picture(ctx, view);
    ellipses(ctx, view, bound.best_diagonal, STYLE.diagonal, []);
    ellipses(ctx, view, bound.best_full, STYLE.full, [2, 3]);
  };
}

/**
 * The 1σ and 2σ ellipses of N(mean, cov), tilted as the covariance says.
 * @param {CanvasRenderingContext2D} ctx
 * @param {import('./plane.js').View} view
 * @param {Gaussian} q
 */
export function ellipses(ctx, view, q, color, dash) {
  const [[a, b], [, c]] = q.cov;
  const mid = (a + c) / 2, spread = Math.hypot((a - c) / 2, b);
  const [major, minor] = [Math.sqrt(Math.max(mid + spread, 0)), Math.sqrt(Math.max(mid - spread, 0))];
  const angle = 0.5 * Math.atan2(2 * b, a - c); // of the major axis, from z₁ towards z₂
  const centre = view.toPx({ x: q.mean[0], y: q.mean[1] });
  ctx.strokeStyle = color;
  ctx.lineWidth = Math.max(1.5, view.unit / 45);
  ctx.setLineDash(dash.map((d) => d * ctx.lineWidth));
  for (const k of [1, 2]) {
    ctx.beginPath();
    // The canvas's y points down: a tilt towards +z₂ is a rotation the other way on screen.
    ctx.ellipse(centre.x, centre.y, Math.max(0.5, k * major * view.scale), Math.max(0.5, k * minor * view.scale), -angle, 0, 2 * Math.PI);
    ctx.stroke();
  }
  ctx.setLineDash([]);
}

/** Correlation of a 2-D covariance. @param {number[][]} cov */
const correlation = (cov) => cov[0][1] / Math.sqrt(cov[0][0] * cov[1][1]);

// lesson.js — a guided lesson that answers the two VAE exercises on the page. Each step sets up
// a view (model, layers, point, an encoded example, samples from the prior, a training preset)
// and says what to try and what to notice, with the page's own figures; the explorer stays
// usable at every step. Texts come from the message catalogues (web/src/messages-en.js,
// web/i18n/fa.js); `#lesson=N` opens step N.

import { $, fmt } from './dom.js';
import { language, onLanguage, render } from './i18n.js';
import { RANGE } from './plane.js';
import { posteriorWindow } from './zoom.js';
import { setTrainingControls } from './train-controls.js';

/**
 * A step: its messages (`<key>.title`, `.text`, `.try`, `.notice`, and `.figure` when it has
 * figures), the view it sets up, and the figures' values.
 * @typedef {{
 *   key: string, model: string, layers: string[], point: {x: number, y: number},
 *   example?: boolean | string, zoomToExample?: boolean, zoomToBound?: boolean, samplePrior?: boolean, run?: RunPreset,
 *   paragraphs?: string[][], figure?: (page: PageReadings) => Record<string, string> | null,
 * }} Step
 * `example`: the step encodes an example digit (true: the lesson's 3; a string: that glyph).
 * @typedef {{pair: boolean, beta: string, betaMean?: string, betaVar?: string, likelihood?: string, sigmaX?: string}} RunPreset
 * A training preset (the training controls' values; Bernoulli pixels unless it says otherwise).
 * @typedef {{spread: (model: string) => number | null, posterior: () => {mu: string, sigma: string, kl: string, recon: string} | null,
 *            exact: () => Record<string, string> | null}} PageReadings
 */

const TRY_AND_NOTICE = [['lesson.label.try', 'try'], ['lesson.label.notice', 'notice']];
/** The bound step's example: a 4, whose true posterior is tilted (correlation ≈ −0.5) and has two lobes, and which the encoder misses by tens of nats (measured in the page; bound.test.mjs checks the tilt). */
const BOUND_EXAMPLE = '4';
/** The sheet's ‖x − x′‖² + KL as a Gaussian decoder: 2σₓ² = 1. */
const SHEET_SIGMA_X = '0.71';

/** @type {Step[]} */
export const STEPS = [
  { key: 'lesson.encoder', model: 'vae', layers: ['prior'], point: { x: 0.6, y: -0.4 }, example: true,
    figure: (page) => page.posterior() && { recon: page.posterior()?.recon ?? '' } },
  { key: 'lesson.holes', model: 'ae', layers: ['prior', 'scatter'], point: { x: 0, y: 0 }, samplePrior: true,
    figure: (page) => (page.spread('ae') == null ? null : { ae: fmt(page.spread('ae')) }) },
  { key: 'lesson.distribution', model: 'vae', layers: ['prior'], point: { x: -1, y: 1 }, example: true, zoomToExample: true,
    figure: (page) => page.posterior() && { mu: page.posterior()?.mu ?? '', sigma: page.posterior()?.sigma ?? '' } },
  { key: 'lesson.kl', model: 'vae-beta4', layers: ['prior', 'scatter'], point: { x: 0, y: 0 },
    figure: (page) => (['vae-beta4', 'vae', 'ae'].some((m) => page.spread(m) == null) ? null
      : { beta4: fmt(page.spread('vae-beta4')), beta1: fmt(page.spread('vae')), ae: fmt(page.spread('ae')) }) },
  { key: 'lesson.live', model: 'vae', layers: ['prior'], point: { x: 0, y: 0 }, run: { pair: true, beta: '1' } },
  { key: 'lesson.diagonal', model: 'vae', layers: ['prior'], point: { x: 1, y: 1 }, example: true, zoomToExample: true,
    figure: (page) => page.posterior() },
  { key: 'lesson.bound', model: 'vae', layers: ['prior', 'true-posterior'], point: { x: 0, y: 0 }, example: BOUND_EXAMPLE, zoomToExample: true, zoomToBound: true,
    figure: (page) => page.exact() },
  { key: 'lesson.reconstruction', model: 'vae', layers: ['prior'], point: { x: 0, y: 0 }, run: { pair: false, beta: '0.01' } },
  { key: 'lesson.sheet', model: 'vae-mse', layers: ['prior', 'scatter'], point: { x: 0, y: 0 }, samplePrior: true,
    run: { pair: false, beta: '1', likelihood: 'gaussian', sigmaX: SHEET_SIGMA_X } },
  { key: 'lesson.pulls', model: 'vae', layers: ['prior'], point: { x: 0, y: 0 }, run: { pair: false, beta: '1', betaMean: '1', betaVar: '0' } },
  { key: 'lesson.properties', model: 'vae', layers: ['prior', 'continuity'], point: { x: 0.5, y: 0.5 }, samplePrior: true },
  { key: 'lesson.summary', model: 'vae', layers: ['prior', 'scatter'], point: { x: 0, y: 0 },
    paragraphs: [['lesson.label.ex1', 'ex1'], ['lesson.label.ex2', 'ex2']] },
];

/**
 * @param {{
 *   store: import('./store.js').Store,
 *   plane: {setPoint: (z: {x: number, y: number}) => void, setWindow: (w: import('./wasm.js').LatentWindow) => void},
 *   layers: {setEnabled: (ids: string[]) => void},
 *   setExample: (glyph: string) => void,
 *   posterior: () => {mu: number[], sigma: number[]} | null,
 *   boundFrame: () => import('./wasm.js').LatentWindow | null,
 *   onChange: () => void,
 * }} page
 */
export function createLesson(page) {
  const { store, onChange } = page;
  const panel = $('lesson');
  const state = { step: 0 }; // 0: closed
  const readings = pageReadings(store);
  const paint = () => { if (state.step) paintStep(STEPS[state.step - 1], state.step, readings); };
  const setUp = stepSetUp(page, paint, () => STEPS[state.step - 1]);
  /** The bound's step shows both q(z|x) and the true posterior, once the bound is known. */
  const reframe = () => { const both = page.boundFrame(); if (both) page.plane.setWindow(both); };

  function show(n) {
    const opening = state.step === 0;
    state.step = Math.max(1, Math.min(STEPS.length, n));
    const step = STEPS[state.step - 1];
    panel.hidden = false;
    Object.assign(panel.dataset, { step: String(state.step), steps: String(STEPS.length) });
    setUp(step);
    paint();
    if (opening) panel.focus(); // keyboard users land in the lesson (arrow keys, Tab to its buttons)
    onChange();
  }

  function close() {
    state.step = 0;
    panel.hidden = true;
    delete panel.dataset.step;
    onChange();
    $('lesson-start').focus();
  }

  $('lesson-start').addEventListener('click', () => show(state.step || 1));
  $('lesson-run').addEventListener('click', () => runPreset(STEPS[state.step - 1].run));
  bindNavigation(panel, (delta) => show(state.step + delta), show, close);
  store.on(['image', 'current'], paint);
  $('exact').addEventListener('exact-change', () => {
    paint(); // the bound's figures arrive between frames
    if (STEPS[state.step - 1]?.zoomToBound) reframe();
  });
  onLanguage(paint);
  return {
    /** Opens step `n` (1-based). */
    open: show,
    /** The open step, 0 when the lesson is closed. */
    step: () => state.step,
  };
}

/**
 * What sets up the view a step promises: layers, point, example, model (one not loaded yet is
 * chosen when it arrives, once), prior samples, and the window. Steps about one image's
 * posterior zoom to it (a trained VAE's σ is a few hundredths: at the whole plane its ellipse is
 * a few pixels); the others show the whole plane.
 * @param {Parameters<typeof createLesson>[0]} page
 * @param {() => void} paint
 * @param {() => Step | undefined} openStep
 * @returns {(step: Step) => void}
 */
function stepSetUp({ store, plane, layers, setExample, posterior }, paint, openStep) {
  /** The window the step shows: its example's posterior, or the whole plane. */
  const frame = (step) => {
    const post = step.zoomToExample ? posterior() : null;
    plane.setWindow(post ? posteriorWindow(post) : { cx: 0, cy: 0, half: RANGE });
  };
  /** Shows the step's model if it is loaded (then samples the prior if the step asks); false if not yet. */
  const chooseModel = (step) => {
    if (!store.get().models.has(step.model)) return false;
    store.set({ current: step.model });
    if (step.samplePrior) $('sample-prior').click();
    paint();
    return true;
  };
  /** @type {Step | null} the step whose model has not arrived yet */
  let waiting = null;
  store.on(['models'], () => {
    if (!waiting || waiting !== openStep() || !chooseModel(waiting)) return;
    frame(waiting); // the example is now encoded by the step's model
    waiting = null;
  });
  return (step) => {
    layers.setEnabled(step.layers);
    plane.setPoint(step.point);
    if (step.example) setExample(typeof step.example === 'string' ? step.example : '3');
    waiting = chooseModel(step) ? null : step;
    frame(step);
  };
}

/** Back/Next/Close, the links between steps, and the keys (arrows in reading direction, Escape). */
function bindNavigation(panel, move, goTo, close) {
  $('lesson-next').addEventListener('click', () => move(1));
  $('lesson-prev').addEventListener('click', () => move(-1));
  $('lesson-close').addEventListener('click', close);
  panel.addEventListener('click', (event) => {
    const link = /** @type {HTMLElement} */ (event.target).closest('a[data-lesson-step]');
    if (!link) return;
    event.preventDefault();
    goTo(Number(link.getAttribute('data-lesson-step')));
  });
  panel.addEventListener('keydown', (event) => {
    // In Persian (right to left) ← is forward.
    const forward = language() === 'fa' ? 'ArrowLeft' : 'ArrowRight';
    const back = language() === 'fa' ? 'ArrowRight' : 'ArrowLeft';
    if (event.key === forward) move(1);
    else if (event.key === back) move(-1);
    else if (event.key === 'Escape') close();
    else return;
    event.preventDefault();
  });
}

/** Writes step `n`'s title, progress, texts and figures into the panel. */
function paintStep(step, n, readings) {
  render($('lesson-title'), `${step.key}.title`);
  render($('lesson-progress-text'), 'lesson.progress', { n, count: STEPS.length });
  const progress = /** @type {HTMLProgressElement} */ ($('lesson-progress'));
  progress.max = STEPS.length;
  progress.value = n;
  const body = $('lesson-body');
  body.replaceChildren();
  if (!step.paragraphs) body.append(paragraph(`${step.key}.text`));
  for (const [label, part] of step.paragraphs || TRY_AND_NOTICE) body.append(paragraph(`${step.key}.${part}`, label));
  if (step.figure) {
    const values = step.figure(readings);
    body.append(values ? paragraph(`${step.key}.figure`, null, values) : paragraph('lesson.figure.pending'));
  }
  $('lesson-run').hidden = !step.run;
  $('lesson-prev').toggleAttribute('disabled', n === 1);
  $('lesson-next').toggleAttribute('disabled', n === STEPS.length);
}

/**
 * The lesson's example: a "3" drawn in dark ink on light paper by the page's own canvas (the
 * upload path then preprocesses it as it would a photo of a handwritten digit).
 * @returns {import('./store.js').RgbaImage}
 */
export function exampleDigit(glyph = '3') {
  const size = 140;
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = size;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#f4f1e8';
  ctx.fillRect(0, 0, size, size);
  ctx.fillStyle = '#151515';
  ctx.font = `bold ${Math.round(size * 0.75)}px sans-serif`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(glyph, size / 2, size / 2);
  const rgba = new Uint8Array(ctx.getImageData(0, 0, size, size).data.buffer);
  return { rgba, width: size, height: size, name: { key: 'lesson.example-name' } };
}

/** A paragraph of the message `key`, after a bold label when `label` names one. */
function paragraph(key, label = null, params = {}) {
  const p = document.createElement('p');
  const text = document.createElement('span');
  render(text, key, params);
  if (label) {
    const strong = document.createElement('strong');
    render(strong, label);
    p.append(strong, ' ', text);
  } else p.append(text);
  return p;
}

/** Sets the training controls to a preset and starts it (side by side, or one VAE). */
function runPreset(run) {
  if (!run) return;
  setTrainingControls({ likelihood: 'bernoulli', sigmaX: '0.1', ...run });
  /** @type {HTMLSelectElement} */ ($('train-model')).value = 'vae';
  if (run.pair) $('train-pair').click();
  else { $('train-reset').click(); $('train-start').click(); }
  $('training').scrollIntoView({ behavior: 'smooth', block: 'start' });
}

/**
 * The figures a step quotes, read from the page as it is: the stored test codes' spread of a
 * model, and the readout of the encoded image.
 * @returns {PageReadings}
 */
function pageReadings(store) {
  return {
    spread: (name) => {
      const model = store.get().models.get(name);
      return model ? model.meanSquaredNorm() : null;
    },
    exact: () => {
      const d = $('exact').dataset;
      if (!d.logPx) return null;
      const f = (v) => fmt(Number(v));
      return { logpx: f(d.logPx), iwae: d.iwae ? f(d.iwae) : '—', elbo: f(d.elbo), approx: fmt(Number(d.approximationGap), 3), amort: fmt(Number(d.amortizationGap), 3), full: fmt(Number(d.fullCovarianceGain), 3) };
    },
    posterior: () => {
      const post = $('posterior').dataset, elbo = $('elbo').dataset;
      if ($('posterior').hidden || !post.mu || !post.sigma) return null;
      const two = (csv) => csv.split(',').map((v) => fmt(Number(v))).join(', ');
      return { mu: two(post.mu), sigma: two(post.sigma), kl: fmt(Number(elbo.kl)), recon: fmt(Number(elbo.recon)) };
    },
  };
}

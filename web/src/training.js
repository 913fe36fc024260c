// training.js — train a model in the page and watch the KL term organise the latent space: the
// controls, the Worker that trains (worker/train-worker.js; the two speak train-protocol.js), the status figures, the chart,
// the live test codes on the plane and the live model in the model switch. The training code and
// the dataset load only when training is first asked for.

import { $, errorMessage, fmt, setStatus, sigmaText } from './dom.js';
import { pageError, render } from './i18n.js';
import { base64Bytes, modelFromBytes, samplePrior, wasmBuild } from './wasm.js';
import { loadScript } from './scripts.js';
import { packBytes } from './testset.js';
import { codesDrawable, drawStill, priorDrawable } from './plane.js';
import { createLossChart } from './chart.js';
import { SHEET_LOSS, setTrainingControls } from './train-controls.js';
import { LIVE, LIVE_AE, fewCores } from './train-protocol.js';

/** @typedef {import('./train-protocol.js').ToWorker} ToWorker */
/** @typedef {import('./train-protocol.js').FromWorker} FromWorker */
/** @typedef {import('./train-protocol.js').Hyperparameters} Hyperparameters */

const PRIOR_SAMPLES = 16;     // decoded by the live model, 4 × 4
const PRIOR_SEED = 2024;
/**
 * Machines where the Worker holds its steps while the user drags (the page decides, and tells the
 * Worker in `init`): a report of the live codes that arrives mid-drag was sent just before the
 * Worker heard of the drag, and waits for the pointer to come up as snapshots do.
 */
const FEW_CORES = fewCores();
/** How the status line says each state of the Worker. */
const STATE_MESSAGES = { idle: 'training.state.idle', running: 'training.state.running', paused: 'training.state.paused', stopped: 'training.state.stopped' };

/** The training module of each build of the page's module (its matrix products with relaxed SIMD where the browser has it). */
const TRAIN_SCRIPTS = { 'relaxed-simd': 'pkg/train-relaxed.js', simd128: 'pkg/train.js' };

/**
 * Loads the training module and the dataset pack (pkg/train.js or pkg/train-relaxed.js,
 * pkg/data-mnist.js) and starts the Worker from a blob (the only kind a page opened from file://
 * may start).
 * @param {(message: FromWorker) => void} onMessage
 * @returns {Promise<Worker>}
 */
async function startWorker(onMessage) {
  const script = TRAIN_SCRIPTS[wasmBuild()];
  await loadScript(script);
  const pack = await packBytes();
  const train = self.VAE_TRAIN;
  if (!train) throw pageError('error.missing-script', { file: script });
  const url = URL.createObjectURL(new Blob([train.source], { type: 'text/javascript' }));
  const worker = new Worker(url);
  URL.revokeObjectURL(url);
  worker.onmessage = (event) => onMessage(event.data);
  worker.onerror = (event) => onMessage({ type: 'error', error: event.message ? { message: event.message } : pageError('error.training.worker') });
  const prior = samplePrior(PRIOR_SAMPLES, PRIOR_SEED);
  post(worker, { type: 'init', wasm: base64Bytes(train.wasm), pack, prior, fewCores: FEW_CORES });
  return worker;
}

/**
 * @param {Worker} worker
 * @param {ToWorker} message
 */
function post(worker, message) {
  worker.postMessage(message);
}

/**
 * What may change while a run goes on, as the controls say (the training module's
 * `setHyperparameters`): the likelihood with its σₓ, the KL's two pulls, the learning rate.
 * @returns {Hyperparameters}
 */
function readHyperparameters() {
  return {
    likelihood: $('train-likelihood').value,
    sigmaX: Number($('train-sigma-x').value),
    sigmaLearned: $('train-sigma-mode').value === 'learned',
    betaMean: Number($('train-beta-mean').value),
    betaVar: Number($('train-beta-var').value),
    learningRate: Number($('train-lr').value),
  };
}

/**
 * The run's settings as the controls say (the training module's `LiveTrainer` constructor).
 * @returns {import('./train-protocol.js').Settings}
 */
function readSettings() {
  return {
    kind: $('train-model').value,
    ...readHyperparameters(),
    batchSize: Number($('train-batch').value),
    seed: Number($('train-seed').value) >>> 0,
  };
}

/**
 * @param {import('./store.js').Store} store
 * @param {{setLayer: Function}} plane
 */
export function createTrainingPanel(store, plane) {
  const chart = createLossChart($('train-chart'));
  const status = $('train-status');
  const run = { worker: /** @type {Promise<Worker> | null} */ (null), started: false, pair: false, step: 0, hyper: readHyperparameters(), kind: 'vae' };
  const held = holdDuringDrags(messageHandler(store, plane, chart, run));
  const handle = held.handle;

  /** @param {ToWorker} message */
  function send(message) {
    run.worker = run.worker || startWorker(handle);
    run.worker.then((w) => post(w, message), (err) => {
      run.worker = null;
      setStatus('status.training-start-failed', { reason: errorMessage(err) }, true);
    });
  }
  /** A new run from random weights: one model, or (`pair`) a VAE and an AE side by side. */
  function reset(pair = false) {
    const settings = readSettings();
    Object.assign(run, { started: true, pair, step: 0, hyper: readHyperparameters(), kind: pair ? 'vae' : settings.kind });
    chart.clear();
    // The last run's figures go; the new run's arrive with its first report.
    for (const key of Object.keys(status.dataset)) if (key !== 'state') delete status.dataset[key];
    status.dataset.pair = String(pair);
    $('train-pair-view').hidden = !pair;
    if (!pair) dropModel(store, LIVE_AE);
    send({ type: 'reset', settings, pair });
  }
  $('train-start').addEventListener('click', () => { if (!run.started) reset(); send({ type: 'start' }); });
  $('train-pair').addEventListener('click', () => { reset(true); send({ type: 'start' }); });
  $('train-pause').addEventListener('click', () => send({ type: 'pause' }));
  $('train-step').addEventListener('click', () => { if (!run.started) reset(); send({ type: 'step' }); });
  $('train-reset').addEventListener('click', () => reset()); // a single run with the controls' settings
  $('train-download').addEventListener('click', () => {
    // The live model shown in the switch (the AE of a side-by-side run when that one is shown).
    if (run.started) send({ type: 'snapshot', name: store.get().current === LIVE_AE ? LIVE_AE : LIVE, purpose: 'download' });
  });
  watchHyperparameters(run, chart, send);
  $('train-sheet-loss').addEventListener('click', () => setTrainingControls(SHEET_LOSS));
  // Tells a running Worker when the user drags on the plane (interaction first: on ≤ 2 cores it
  // holds its steps until the pointer is up, else it yields half its time);
  // never starts one.
  const interacting = (on) => {
    held.dragging(on);
    run.worker?.then((w) => post(w, { type: 'interacting', on }), () => {});
  };
  $('latent-plane').addEventListener('pointerdown', () => interacting(true));
  for (const type of ['pointerup', 'pointercancel']) $('latent-plane').addEventListener(type, () => interacting(false));
  status.dataset.state = 'idle';
}

/**
 * Wraps the Worker's message handler so that a snapshot for the explorer waits while the user
 * drags on the plane: making a model of its weights is the page's longest task (≈ 40 ms,
 * measured in a drag), and the Worker may have sent one just before it heard of the drag. On
 * machines where the Worker holds its steps during drags, a report of the live codes waits too
 * (drawing a thousand codes and their σ and committing the plane made a move's frame 13–20 ms,
 * measured). The latest of each kind per run is applied once the pointer comes up; everything
 * else (and a download the user asked for) goes through at once.
 * @param {(message: FromWorker) => void} handle
 */
function holdDuringDrags(handle) {
  /** @type {Map<string, FromWorker>} `type name` → the latest such message held back */
  const waiting = new Map();
  /** @param {FromWorker} message */
  const waits = (message) => (message.type === 'snapshot' && message.purpose !== 'download') || (message.type === 'view' && FEW_CORES);
  let dragging = false;
  return {
    /** @param {FromWorker} message */
    handle(message) {
      if (dragging && waits(message) && 'name' in message) waiting.set(`${message.type} ${message.name}`, message);
      else handle(message);
    },
    /** @param {boolean} on */
    dragging(on) {
      dragging = on;
      if (on || waiting.size === 0) return;
      // A task of its own after the pointer event, so the release itself stays quick.
      setTimeout(() => {
        if (dragging) return; // a new drag began: they wait for its end
        for (const message of waiting.values()) handle(message);
        waiting.clear();
      }, 0);
    },
  };
}

/** The marks a change of each hyperparameter leaves on the chart. */
const MARKS = {
  betaMean: (h) => ({ key: 'training.mark-beta-mean', params: { beta: h.betaMean } }),
  betaVar: (h) => ({ key: 'training.mark-beta-var', params: { beta: h.betaVar } }),
  sigmaX: (h) => ({ key: 'training.mark-sigma-x', params: { sigma: h.sigmaX } }),
  sigmaLearned: (h) => (h.sigmaLearned ? { key: 'training.mark-sigma-learned', params: {} } : { key: 'training.mark-sigma-x', params: { sigma: h.sigmaX } }),
  learningRate: (h) => ({ key: 'training.mark-lr', params: { lr: h.learningRate } }),
};

/**
 * β (both pulls, or each on its own), σₓ and the learning rate may change while training runs;
 * each change is marked on the chart. The likelihood itself is the run's: another one waits for
 * the next Reset.
 */
function watchHyperparameters(run, chart, send) {
  const apply = () => {
    const hyper = readHyperparameters();
    $('train-sigma-mode').toggleAttribute('disabled', hyper.likelihood !== 'gaussian');
    // A learned σₓ is the run's to set: the number is only where it starts.
    $('train-sigma-x').toggleAttribute('disabled', hyper.likelihood !== 'gaussian' || hyper.sigmaLearned);
    if (!run.started || hyper.likelihood !== run.hyper.likelihood) return;
    const gaussianOnly = ['sigmaX', 'sigmaLearned'];
    const changed = Object.keys(MARKS).filter((key) => hyper[key] !== run.hyper[key] && !(gaussianOnly.includes(key) && hyper.likelihood !== 'gaussian')
      && !(key === 'sigmaX' && hyper.sigmaLearned));
    if (changed.length === 0) return;
    const both = changed.includes('betaMean') && changed.includes('betaVar') && hyper.betaMean === hyper.betaVar;
    chart.mark(run.step, both ? { key: 'training.mark-beta', params: { beta: hyper.betaVar } } : MARKS[changed[0]](hyper));
    run.hyper = hyper;
    send({ type: 'set', hyperparameters: hyper });
  };
  for (const id of ['train-beta-mean', 'train-beta-var', 'train-sigma-mode', 'train-sigma-x', 'train-lr', 'train-likelihood']) $(id).addEventListener('change', apply);
  // β sets both pulls, as it always did.
  $('train-beta').addEventListener('change', () => setTrainingControls({ beta: $('train-beta').value }));
  $('train-beta-slider').addEventListener('input', () => {
    const t = Number($('train-beta-slider').value); // 0 → β = 0, else 10^(t/10 − 2): 0.01 … 10
    $('train-beta').value = t === 0 ? '0' : String(Number((10 ** (t / 10 - 2)).toPrecision(2)));
  });
  $('train-beta-slider').addEventListener('change', () => $('train-beta').dispatchEvent(new Event('change')));
  apply();
}

/**
 * What to do with each message of the Worker (each names its run: `live` or `live-ae`).
 * @returns {(message: FromWorker) => void}
 */
function messageHandler(store, plane, chart, run) {
  const status = $('train-status');
  /** @param {import('./train-protocol.js').RunState} state */
  const setState = (state) => { status.dataset.state = state; render($('train-state'), STATE_MESSAGES[state]); };
  return (message) => {
    switch (message.type) {
      case 'progress': return message.name === LIVE_AE ? showPairFigures(message) : showProgress(message, chart, run);
      case 'view': return showView(message, plane, run);
      case 'test': return showTest(message);
      case 'snapshot': return useSnapshot(store, message);
      case 'state': return setState(message.state);
      case 'diverged':
        setState('stopped');
        return setStatus(message.pair ? 'status.training-failed-in' : 'status.training-failed', { model: message.kind, reason: errorMessage(message.error) }, true);
      case 'error': return setStatus('status.training-failed', { reason: errorMessage(message.error) }, true);
      default: return undefined;
    }
  };
}

/** `#train-status` data keys of run `name`: `recon` for the live model, `aeRecon` for the side-by-side AE. */
const statusKey = (name, key) => (name === LIVE_AE ? `ae${key[0].toUpperCase()}${key.slice(1)}` : key);

/** Sets `figures` (camelCase keys) on `#train-status` for run `name`. */
function setFigures(name, figures) {
  const data = $('train-status').dataset;
  for (const [key, value] of Object.entries(figures)) data[statusKey(name, key)] = String(value);
}

function showProgress({ name, progress: p, imagesPerS }, chart, run) {
  run.step = p.step;
  chart.add(p);
  setFigures(name, { step: p.step, imagesPerS: Math.round(imagesPerS), recon: p.recon, kl: p.kl, klMean: p.klMean, klVar: p.klVar, elbo: -(p.recon + p.kl) });
  // The σₓ in use: a learned one's running value, else the fixed one (none for Bernoulli pixels).
  const sigmaX = p.sigmaX ?? (run.hyper.likelihood === 'gaussian' ? run.hyper.sigmaX : undefined);
  if (sigmaX === undefined) delete $('train-status').dataset.sigmaX;
  else setFigures(name, { sigmaX });
  const terms = { elbo: fmt(p.recon + p.kl), recon: fmt(p.recon), kl: fmt(p.kl) };
  const figures = { step: p.step, epoch: p.epoch, rate: Math.round(imagesPerS), ...terms };
  if (p.sigmaX === undefined) render($('train-figures'), 'training.figures', figures);
  else render($('train-figures'), 'training.figures-learned', { ...figures, sigma: sigmaText(p.sigmaX) });
  if (run.pair) render($('train-pair-vae-figures'), 'training.pair-vae-figures', terms);
}

/** The side-by-side AE's training figures (it has no KL term in its loss; its KL is still shown). */
function showPairFigures({ name, progress: p }) {
  setFigures(name, { step: p.step, recon: p.recon, kl: p.kl, klMean: p.klMean, klVar: p.klVar, elbo: -(p.recon + p.kl) });
  render($('train-pair-ae-figures'), 'training.pair-ae-figures', { recon: fmt(p.recon) });
}

/** Live test codes and prior samples: on the plane (the live model) and, side by side, in the pair view. */
function showView({ name, codes, samples, meanSquaredNorm, meanSigma, step }, plane, run) {
  const kind = name === LIVE_AE ? 'ae' : run.kind;
  const drawable = codesDrawable(codes, kind === 'vae');
  if (name === LIVE) {
    plane.setLayer('training', drawable);
    paintSheet($('train-samples'), samples);
    $('live-codes').hidden = false;
    render($('live-codes'), kind === 'vae' ? 'training.codes' : 'training.codes-ae', { sigma: fmt(meanSigma, 3), mu2: fmt(meanSquaredNorm) });
  }
  setFigures(name, { codesStep: step, codesMeanSquaredNorm: meanSquaredNorm, meanSigma, meanMu2: meanSquaredNorm });
  if (!run.pair) return;
  drawStill($(`train-scatter-${kind}`), [priorDrawable(), drawable]);
  paintSheet($(`train-samples-${kind}`), samples);
  render($(`train-pair-${kind}-spread`), 'training.spread', { value: fmt(meanSquaredNorm) });
}

function showTest({ name, terms, step }) {
  setFigures(name, { testStep: step, testRecon: terms.recon, testKl: terms.kl, testElbo: -(terms.recon + terms.kl) });
  if (name === LIVE) render($('train-test'), 'training.test', { value: fmt(terms.recon + terms.kl) });
}

/** A live model joins the switch under its run's name (replacing its previous snapshot), or is downloaded. */
function useSnapshot(store, { name, purpose, bytes }) {
  if (purpose === 'download') {
    const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = `${name}.vaew`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    return;
  }
  const { models, current } = store.get();
  const old = models.get(name);
  let model;
  try {
    model = modelFromBytes(bytes, { key: name === LIVE_AE ? 'model.source.live-ae' : 'model.source.live' });
  } catch (err) {
    setStatus('status.live-failed', { reason: errorMessage(err) }, true);
    return;
  }
  models.set(name, model);
  store.touch('models');
  if (current === name) store.set({ current: name });
  old?.free();
}

/** Takes model `name` out of the switch (the side-by-side AE once a single run starts). */
function dropModel(store, name) {
  const { models, current } = store.get();
  const old = models.get(name);
  if (!old) return;
  models.delete(name);
  if (current === name) store.set({ current: models.has(LIVE) ? LIVE : models.keys().next().value });
  store.touch('models');
  old.free();
}

/** Paints an RGBA sheet (4 images per row, from the training module) into `canvas`. */
function paintSheet(canvas, rgba) {
  if (rgba.length === 0) return;
  const width = 4 * 28;
  canvas.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(rgba.buffer, rgba.byteOffset, rgba.length), width, rgba.length / 4 / width), 0, 0);
}

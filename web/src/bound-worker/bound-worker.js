// bound-worker.js — the exact bound's Worker: vae-core's quadrature for an image, then the picture
// of p(z|x) coarse and refined, and Optimise q's ascent, all off the main thread. `cargo xtask web`
// writes pkg/bound.js with this Worker's source (the page module's bindings, which define
// `wasm_bindgen`, followed by this bundle); the page starts it from a blob (the only kind a page
// opened from file:// may start) and posts it the wasm module it compiled for itself.
//
// A job is a generator that yields between steps; the Worker steps the jobs under way in turn,
// one step per task, so that a newer message (a new image's job, a cancel) is heard within a step.

import { endsJob } from '../bound-protocol.js';
import { errorReport } from '../error-report.js';

/** Decoder evaluations per step of the bound (≈ 10 ms on a 2-core laptop): what a newer job waits at most. */
const STEP_BUDGET = 384;
/** Steps of gradient ascent per step of Optimise q (each ≈ 144 decodes). */
const ASCENT_STEPS = 2;
/** A hold (the user dragging) lasts at most this long, should its end never arrive. */
const HOLD_AT_MOST_MS = 30_000;
/** The first picture of p(z|x): COARSE_CELLS² points, sent with the figures … */
const COARSE_CELLS = 24;
/** … then PICTURE_CELLS², computed a band of rows at a time (so that a newer job waits a band at most). */
const PICTURE_CELLS = 64;
const PICTURE_BAND_ROWS = 8;
/** The picture covers the posterior's mean ± PICTURE_SIGMAS of its widest σ. */
const PICTURE_SIGMAS = 4;

/** @typedef {import('../bound-protocol.js').ToBoundWorker} ToBoundWorker */
/** @typedef {import('../bound-protocol.js').FromBoundWorker} FromBoundWorker */
/** @typedef {{job: number, steps: Generator<void, void, void>}} Running */

/** @type {Promise<unknown> | null} the module, once `init` has loaded it */
let ready = null;
/** @type {{id: number, explorer: wasm_bindgen.Explorer} | null} the one model the Worker holds */
let held = null;
/** @type {Map<'bound' | 'optimise', Running>} the jobs under way, one of each kind */
const running = new Map();
/** @type {ReturnType<typeof setTimeout> | null} while the page holds the jobs: the hold's time limit */
let holding = null;

/**
 * @param {FromBoundWorker} message
 * @param {Transferable[]} [transfer]
 */
function post(message, transfer = []) {
  self.postMessage(message, transfer);
}

/**
 * The explorer for the page's model `recipe.id`, made once: a new model stops the jobs of the one
 * before and frees it.
 * @param {import('../bound-protocol.js').ModelRecipe} recipe
 */
function explorerFor(recipe) {
  if (held?.id === recipe.id) return held.explorer;
  for (const kind of [...running.keys()]) stop(kind);
  held?.explorer.free();
  held = null;
  if (!recipe.bytes && !recipe.name) throw new Error(`the bound's Worker was never sent model ${recipe.id}`);
  const explorer = recipe.bytes ? wasm_bindgen.Explorer.fromBytes(recipe.bytes) : new wasm_bindgen.Explorer(String(recipe.name));
  held = { id: recipe.id, explorer };
  return explorer;
}

/**
 * The bound of `image`: the draft figures (the rule's, unchecked) as soon as the quadrature has
 * them, with the picture of p(z|x) over its mean ± PICTURE_SIGMAS σ at once; then the checked
 * figures, and the picture refined a band of rows per step.
 * @param {number} job
 * @param {wasm_bindgen.Explorer} explorer
 * @param {import('../bound-protocol.js').BoundImage} image
 * @returns {Generator<void, void, void>}
 */
function* boundSteps(job, explorer, image) {
  const { input, mu, sigma } = image;
  const started = performance.now();
  const ms = () => performance.now() - started;
  const quadrature = explorer.exactBoundJob(input, mu[0], mu[1], sigma[0], sigma[1]);
  let bound;
  try {
    bound = yield* answer(quadrature, explorer);
    post({ type: 'figures', job, bound, ms: ms() });
    const coarse = pictureRows(explorer, input, bound, COARSE_CELLS, 0, COARSE_CELLS);
    post({ type: 'picture', job, state: 'coarse', n: COARSE_CELLS, window: pictureWindow(bound), logDensity: coarse, ms: ms() }, [coarse.buffer]);
    while (bound.draft) bound = yield* answer(quadrature, explorer);
    post({ type: 'figures', job, bound, ms: ms() });
  } finally {
    quadrature.free();
  }
  const fine = new Float32Array(PICTURE_CELLS * PICTURE_CELLS);
  for (let row = 0; row < PICTURE_CELLS; row += PICTURE_BAND_ROWS) {
    yield;
    const count = Math.min(PICTURE_BAND_ROWS, PICTURE_CELLS - row);
    fine.set(pictureRows(explorer, input, bound, PICTURE_CELLS, row, count), row * PICTURE_CELLS);
  }
  post({ type: 'picture', job, state: 'done', n: PICTURE_CELLS, window: pictureWindow(bound), logDensity: fine, ms: ms() }, [fine.buffer]);
}

/**
 * Steps the quadrature a budget at a time until it answers (a draft, or the checked bound).
 * @param {wasm_bindgen.ExactBoundJob} quadrature
 * @param {wasm_bindgen.Explorer} explorer
 * @returns {Generator<void, import('../bound-protocol.js').Bound, void>}
 */
function* answer(quadrature, explorer) {
  for (;;) {
    /** @type {import('../bound-protocol.js').Bound | null} */
    const bound = quadrature.step(explorer, STEP_BUDGET);
    if (bound !== null) return bound;
    yield;
  }
}

/**
 * `count` rows from `first` of the n × n picture of log p(z|x) over {@link pictureWindow}.
 * @param {wasm_bindgen.Explorer} explorer
 * @param {Float32Array} input
 * @param {import('../bound-protocol.js').Bound} bound
 * @param {number} n
 * @param {number} first
 * @param {number} count
 */
function pictureRows(explorer, input, bound, n, first, count) {
  const w = pictureWindow(bound);
  return explorer.logPosteriorRows(input, bound.log_px, n, w.cx, w.cy, w.half, first, count);
}

/**
 * The window the picture of p(z|x) covers: the posterior's mean ± PICTURE_SIGMAS of its widest σ.
 * @param {import('../bound-protocol.js').Bound} bound
 * @returns {import('../bound-protocol.js').PictureWindow}
 */
function pictureWindow(bound) {
  const m = bound.posterior_moments;
  const widest = Math.sqrt(Math.max(m.cov[0][0], m.cov[1][1], 1e-8));
  return { cx: m.mean[0], cy: m.mean[1], half: Math.min(10, Math.max(1e-3, PICTURE_SIGMAS * widest)) };
}

/**
 * Optimise q: gradient ascent on the image's ELBO from the encoder's q, a report per step.
 * @param {number} job
 * @param {wasm_bindgen.Explorer} explorer
 * @param {import('../bound-protocol.js').BoundImage} image
 * @returns {Generator<void, void, void>}
 */
function* ascentSteps(job, explorer, image) {
  const { input, mu, sigma } = image;
  const ascent = explorer.optimiseJob(input, mu[0], mu[1], sigma[0], sigma[1]);
  try {
    for (;;) {
      /** @type {import('../bound-protocol.js').AscentReport} */
      const report = ascent.step(explorer, ASCENT_STEPS);
      const message = /** @type {FromBoundWorker} */ ({ type: 'ascent', job, report });
      post(message);
      if (endsJob(message)) return;
      yield;
    }
  } finally {
    ascent.free();
  }
}

/**
 * Stops the job of `kind` under way (its generator's `finally` frees its wasm job).
 * @param {'bound' | 'optimise'} kind
 */
function stop(kind) {
  running.get(kind)?.steps.return();
  running.delete(kind);
}

// One step of each job per task: a MessageChannel's message is a task that does not wait
// out setTimeout's clamping, and the page's messages are heard between two.
const pump = new MessageChannel();
let pumping = false;
pump.port1.onmessage = () => {
  pumping = false;
  for (const [kind, { job, steps }] of [...running]) {
    try {
      if (steps.next().done) running.delete(kind);
    } catch (err) {
      running.delete(kind);
      post({ type: 'failed', job, error: errorReport(err) });
    }
  }
  schedule();
};

function schedule() {
  if (pumping || running.size === 0 || holding !== null) return;
  pumping = true;
  pump.port2.postMessage(null);
}

/**
 * Holds the jobs (no step taken) while the user drags, on a machine whose other core the drag
 * needs; lets them go on when the drag ends or after HOLD_AT_MOST_MS.
 * @param {boolean} on
 */
function hold(on) {
  if (holding !== null) clearTimeout(holding);
  holding = on ? setTimeout(() => hold(false), HOLD_AT_MOST_MS) : null;
  schedule();
}

/**
 * Makes the model's explorer and the decoder's coarse grid every bound of it starts from (61²
 * decodes, made with its first job): a throwaway job for a blank image makes them.
 * @param {import('../bound-protocol.js').ModelRecipe} recipe
 */
function warm(recipe) {
  if (held?.id === recipe.id) return;
  const explorer = explorerFor(recipe);
  if (explorer.info().kind === 'vae') explorer.exactBoundJob(new Float32Array(784), 0, 0, 1, 1).free();
}

/** @param {ToBoundWorker} message */
async function handle(message) {
  if (message.type === 'init') {
    ready = wasm_bindgen({ module_or_path: message.module });
    return void (await ready);
  }
  if (message.type === 'hold') return hold(message.on);
  if (message.type === 'cancel') {
    for (const [kind, { job }] of [...running]) if (job === message.job) stop(kind);
    return;
  }
  if (!ready) throw new Error('the bound\'s Worker has not been set up yet');
  await ready;
  if (message.type === 'warm') return warm(message.model);
  if (message.type === 'bound') for (const kind of [...running.keys()]) stop(kind);
  else stop('optimise');
  const explorer = explorerFor(message.model);
  const steps = message.type === 'bound' ? boundSteps(message.job, explorer, message.image) : ascentSteps(message.job, explorer, message.image);
  running.set(message.type, { job: message.job, steps });
  schedule();
}

/** Messages are handled one after another: a job must wait for `init` to finish loading. */
let queue = Promise.resolve();
self.onmessage = (event) => {
  /** @type {ToBoundWorker} */
  const message = event.data;
  queue = queue.then(() => handle(message)).catch((err) => {
    post({ type: 'failed', job: 'job' in message ? message.job : 0, error: errorReport(err) });
  });
};

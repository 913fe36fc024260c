// train-worker.js — trains in a Worker, off the page's main thread. esbuild bundles this module
// (with train-protocol.js) into web/js/train-worker.js; the page builds the Worker from a blob:
// the wasm-bindgen glue of the training module (pkg/vae_train_wasm.js, which defines
// `wasm_bindgen`) followed by that bundle, and posts the module's bytes and the dataset pack to
// it (a page opened from file:// can neither fetch files nor start a Worker from one).
//
// Training runs in slices of about SLICE_MS, so messages (pause, β_μ, β_σ, σₓ, learning rate) are read
// between slices; after each slice the figures go to the page, and every so often the live
// test codes, prior samples and a snapshot of the model as a weights file.

import { LIVE, LIVE_AE } from '../train-protocol.js';
import { errorReport } from '../error-report.js';

/** @typedef {import('../train-protocol.js').ToWorker} ToWorker */
/** @typedef {import('../train-protocol.js').FromWorker} FromWorker */

const SLICE_MS = 40;            // training between two looks at the message queue
const VIEW_EVERY_MS = 300;      // live test codes and decoded prior samples
const TEST_EVERY_MS = 1500;     // test-set terms (a forward pass over every test image)
const SNAPSHOT_EVERY_MS = 2500; // the live model as a weights file, for the explorer

/**
 * The runs being trained: one, or a VAE and an AE side by side (same initial weights, same
 * batches, their steps interleaved). `name` is the model's name in the page's switch.
 * @type {{trainer: wasm_bindgen.LiveTrainer, name: string, kind: string}[]}
 */
let runs = [];
let running = false;
/**
 * While the user drags on the page, interaction comes first. With two cores or fewer (`fewCores`,
 * the page's decision, sent in `init`) the page's main thread, its compositor and the browser's
 * own drawing share one core with this Worker, and every step taken during a drag slows the
 * frames around it (≈ 20 ms of main-thread time per move, measured): there training waits while
 * the pointer is down, for at most HOLD_AT_MOST_MS. With more cores it rests as long as it
 * trained after each slice.
 */
let interacting = false;
let interactingSince = 0;
let fewCores = true;
const HOLD_AT_MOST_MS = 30_000;
const HOLD_POLL_MS = 50;
let lastSliceMs = 0;
let stepsPerSlice = 1;
/** @type {Float32Array | null} */
let priorPoints = null;
const last = { view: 0, test: 0, snapshot: 0 };
/** Images per second (all runs together), smoothed over the last slices; the steps it was last measured at. */
const rate = { images: 0, steps: 0 };

/**
 * @param {FromWorker} message
 * @param {Transferable[]} [transfer]
 */
function post(message, transfer = []) {
  self.postMessage(message, transfer);
}

/** Trains one slice (each run `stepsPerSlice` steps, in turn); returns false when training cannot go on. */
function slice() {
  const t0 = performance.now();
  /** @type {import('../train-protocol.js').Progress[]} */
  const progress = [];
  for (const run of runs) {
    try {
      progress.push(run.trainer.train(stepsPerSlice));
    } catch (err) {
      running = false;
      // The kept model's figures first: when the page shows "stopped", they are already there.
      report(true);
      post({ type: 'diverged', name: run.name, kind: run.kind.toUpperCase(), pair: runs.length > 1, error: errorReport(err) });
      return false;
    }
  }
  const ms = performance.now() - t0;
  lastSliceMs = ms;
  // Aim the next slice at SLICE_MS, from this one's time per step.
  stepsPerSlice = Math.max(1, Math.min(200, Math.round((stepsPerSlice * SLICE_MS) / Math.max(ms, 1))));
  const imagesPerS = measureRate(ms);
  runs.forEach((run, i) => post({ type: 'progress', name: run.name, progress: progress[i], imagesPerS }));
  return true;
}

/**
 * Images per second over every run, smoothed over the last few slices.
 * @param {number} ms
 */
function measureRate(ms) {
  const steps = runs.reduce((sum, run) => sum + run.trainer.stepCount(), 0);
  const images = (steps - rate.steps) * runs[0].trainer.batchSize();
  rate.steps = steps;
  const now = (1000 * images) / Math.max(ms, 1e-3);
  rate.images = rate.images ? 0.7 * rate.images + 0.3 * now : now;
  return rate.images;
}

/** Sends the views that are due (all of them when `force`). */
function report(force = false) {
  const now = performance.now();
  /** @type {(key: keyof typeof last, every: number) => boolean} */
  const due = (key, every) => {
    if (!force && now - last[key] < every) return false;
    last[key] = now;
    return true;
  };
  // A snapshot carries the test figures and codes: the views due with it reuse them (the
  // training module computes them once per step), so a snapshot brings the others along.
  const snap = !interacting && due('snapshot', SNAPSHOT_EVERY_MS);
  const view = due('view', VIEW_EVERY_MS) || snap;
  const test = due('test', TEST_EVERY_MS) || snap;
  for (const { trainer, name } of runs) {
    const step = trainer.stepCount();
    if (view) {
      const { codes, meanSquaredNorm, meanSigma } = trainer.testCodes();
      const points = new Float32Array(codes);
      const samples = priorPoints ? new Uint8Array(trainer.decodeSheet(priorPoints, 4)) : new Uint8Array(0); // RGBA, 4 × 4 images
      post({ type: 'view', name, codes: points, samples, meanSquaredNorm, meanSigma, step }, [points.buffer, samples.buffer]);
    }
    if (test) post({ type: 'test', name, terms: trainer.testTerms(), step });
    if (snap) snapshot(name, name);
  }
}

/**
 * The run `name`'s model as weights bytes, for the explorer (`purpose` = its name) or a download.
 * A model with a non-finite test loss cannot be saved: the explorer then keeps the previous
 * snapshot, and a download says why it failed.
 * @param {string} name
 * @param {string} purpose
 */
function snapshot(name, purpose) {
  const run = runs.find((r) => r.name === name) || runs[0];
  let bytes;
  try {
    bytes = new Uint8Array(run.trainer.snapshot(purpose === 'download' ? `${run.name}-download` : run.name));
  } catch (err) {
    if (purpose === 'download') throw err;
    return;
  }
  post({ type: 'snapshot', name: run.name, purpose, bytes }, [bytes.buffer]);
}

function loop() {
  if (!running) return;
  if (interacting && fewCores && performance.now() - interactingSince < HOLD_AT_MOST_MS) {
    setTimeout(loop, HOLD_POLL_MS);
    return;
  }
  if (slice()) {
    report();
    setTimeout(loop, interacting ? lastSliceMs : 0);
  }
}

/**
 * The dataset pack's bytes (from `init`).
 * @type {Uint8Array}
 */
let pack = new Uint8Array(0);

/**
 * What each message does; `message` is the one of that type.
 * @type {{[T in ToWorker['type']]: (message: Extract<ToWorker, {type: T}>) => void | Promise<void>}}
 */
const handlers = {
  async init(message) {
    // Kept so the long-run test can watch the module's memory.
    /** @type {any} */ (self).wasmExports = await wasm_bindgen({ module_or_path: message.wasm });
    pack = message.pack;
    priorPoints = message.prior;
    fewCores = message.fewCores;
    post({ type: 'ready' });
  },
  reset({ settings, pair }) {
    running = false;
    for (const run of runs) run.trainer.free();
    runs = [];
    /** @type {[import('../train-protocol.js').Kind, string][]} */
    const kinds = pair ? [['vae', LIVE], ['ae', LIVE_AE]] : [[settings.kind, LIVE]];
    for (const [kind, name] of kinds) {
      // The same seed: the same initial weights and the same batches for both models.
      const trainer = new wasm_bindgen.LiveTrainer(pack, { ...settings, kind });
      runs.push({ trainer, name, kind });
    }
    stepsPerSlice = 1;
    rate.images = rate.steps = 0;
    report(true);
    post({ type: 'state', state: 'idle' });
  },
  start() {
    if (running) return;
    running = true;
    post({ type: 'state', state: 'running' });
    loop();
  },
  pause() {
    running = false;
    report(true);
    post({ type: 'state', state: 'paused' });
  },
  step() {
    running = false;
    const saved = stepsPerSlice;
    stepsPerSlice = 1;
    if (slice()) report(true);
    stepsPerSlice = saved;
    post({ type: 'state', state: 'paused' });
  },
  set({ hyperparameters }) {
    // The side-by-side AE has no KL: only the VAE's pulls change, but both take the learning rate and σₓ.
    for (const run of runs) run.trainer.setHyperparameters(hyperparameters);
  },
  snapshot({ name, purpose }) {
    snapshot(name, purpose);
  },
  interacting({ on }) {
    if (on && !interacting) interactingSince = performance.now();
    interacting = Boolean(on);
  },
};

/** Messages are handled one after another: `reset` must wait for `init` to finish loading. */
let queue = Promise.resolve();

/** @param {MessageEvent<ToWorker>} event */
self.onmessage = (event) => {
  const message = event.data;
  queue = queue.then(async () => {
    try {
      if (message.type === 'interacting') return handlers.interacting(message); // needs no run
      if (message.type !== 'init' && message.type !== 'reset' && runs.length === 0) throw Object.assign(new Error('training has not been set up yet'), { key: 'error.training.not-set-up' });
      await handlers[message.type](/** @type {any} */ (message));
    } catch (err) {
      running = false;
      post({ type: 'error', error: errorReport(err) });
    }
  });
};

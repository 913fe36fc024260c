// train-worker.js — trains in a Worker, off the page's main thread. The page builds this Worker
// from a blob: the wasm-bindgen glue of the training module (pkg/vae_train_wasm.js, which
// defines `wasm_bindgen`) followed by this file, and posts the module's bytes and the dataset
// pack to it (a page opened from file:// can neither fetch files nor start a Worker from one).
//
// Training runs in slices of about SLICE_MS, so messages (pause, β, learning rate) are read
// between slices; after each slice the figures go to the page, and every so often the live
// test codes, prior samples and a snapshot of the model as a weights file.
/* global wasm_bindgen */
'use strict';

const SLICE_MS = 40;            // training between two looks at the message queue
const VIEW_EVERY_MS = 300;      // live test codes and decoded prior samples
const TEST_EVERY_MS = 1500;     // test-set terms (a forward pass over every test image)
const SNAPSHOT_EVERY_MS = 2500; // the live model as a weights file, for the explorer

/** @type {any} */
let trainer = null;
let running = false;
let stepsPerSlice = 1;
/** @type {Float32Array | null} */
let priorPoints = null;
const last = { view: 0, test: 0, snapshot: 0 };
/** Images per second, smoothed over the last slices; the step count it was last measured at. */
const rate = { images: 0, step: 0 };

function post(message, transfer = []) {
  self.postMessage(message, transfer);
}

/** Trains one slice; returns false when training cannot go on. */
function slice() {
  const t0 = performance.now();
  let progress;
  try {
    progress = trainer.train(stepsPerSlice);
  } catch (err) {
    running = false;
    post({ type: 'diverged', message: String((err && err.message) || err) });
    report(true);
    return false;
  }
  const ms = performance.now() - t0;
  // Aim the next slice at SLICE_MS, from this one's time per step.
  stepsPerSlice = Math.max(1, Math.min(200, Math.round((stepsPerSlice * SLICE_MS) / Math.max(ms, 1))));
  post({ type: 'progress', progress, imagesPerS: measureRate(ms, progress) });
  return true;
}

/** Images per second, smoothed over the last few slices. */
function measureRate(ms, progress) {
  const images = (progress.step - rate.step) * trainer.batchSize();
  rate.step = progress.step;
  const now = (1000 * images) / Math.max(ms, 1e-3);
  rate.images = rate.images ? 0.7 * rate.images + 0.3 * now : now;
  return rate.images;
}

/** Sends the views that are due (all of them when `force`). */
function report(force = false) {
  const now = performance.now();
  if (force || now - last.view >= VIEW_EVERY_MS) {
    last.view = now;
    const view = trainer.testCodes();
    const codes = new Float32Array(view.codes);
    const samples = priorPoints ? new Float32Array(trainer.decode(priorPoints)) : new Float32Array(0);
    post({ type: 'view', codes, samples, meanSquaredNorm: view.meanSquaredNorm, step: trainer.stepCount() }, [codes.buffer, samples.buffer]);
  }
  if (force || now - last.test >= TEST_EVERY_MS) {
    last.test = now;
    post({ type: 'test', terms: trainer.testTerms(), step: trainer.stepCount() });
  }
  if (force || now - last.snapshot >= SNAPSHOT_EVERY_MS) {
    last.snapshot = now;
    snapshot('live');
  }
}

function snapshot(purpose) {
  const bytes = new Uint8Array(trainer.snapshot(purpose === 'download' ? 'live-download' : 'live'));
  post({ type: 'snapshot', purpose, bytes }, [bytes.buffer]);
}

function loop() {
  if (!running) return;
  if (slice()) {
    report();
    setTimeout(loop, 0);
  }
}

const handlers = {
  async init({ wasm, pack, prior }) {
    // Kept so the long-run test can watch the module's memory.
    self.wasmExports = await wasm_bindgen({ module_or_path: wasm });
    self.pack = pack;
    priorPoints = prior;
    post({ type: 'ready' });
  },
  reset({ settings }) {
    running = false;
    if (trainer) trainer.free();
    trainer = new wasm_bindgen.LiveTrainer(self.pack, settings.kind, settings.beta, settings.lr, settings.batch, settings.seed);
    stepsPerSlice = 1;
    rate.images = rate.step = 0;
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
  set({ beta, lr }) {
    trainer.setHyperparameters(beta, lr);
  },
  snapshot({ purpose }) {
    snapshot(purpose);
  },
};

/** Messages are handled one after another: `reset` must wait for `init` to finish loading. */
let queue = Promise.resolve();

self.onmessage = (event) => {
  const message = event.data;
  queue = queue.then(async () => {
    try {
      if (message.type !== 'init' && !trainer && message.type !== 'reset') throw new Error('training has not been set up yet');
      await handlers[message.type](message);
    } catch (err) {
      running = false;
      post({ type: 'error', message: String((err && err.message) || err) });
    }
  });
};

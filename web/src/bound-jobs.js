// bound-jobs.js — the page's side of the bound's Worker (bound-worker/bound-worker.js; the two speak
// bound-protocol.js): started from pkg/bound.js the first time a bound is asked for, given the
// page's own compiled wasm module, then handed jobs. Each job's messages go to the callback that
// started it until its last, or until the job is cancelled (a newer image, model or click).

import { errorReport } from './error-report.js';
import { pageError } from './i18n.js';
import { loadScript } from './scripts.js';
import { compiledModule } from './wasm.js';
import { endsJob } from './bound-protocol.js';
import { fewCores } from './train-protocol.js';

const SCRIPT = 'pkg/bound.js';

/** @typedef {import('./bound-protocol.js').FromBoundWorker} FromBoundWorker */
/** @typedef {import('./bound-protocol.js').ToBoundWorker} ToBoundWorker */
/** @typedef {{cancel: () => void, running: () => boolean}} Job a job started in the Worker */

/** @type {Promise<Worker> | null} */
let started = null;
let jobs = 0;
/** The model the Worker was last sent whole: later messages name it by its id alone (no 2 MB copy per stroke). */
let sentModel = 0;
/** Whether the Worker's jobs are held (the user drags on the plane, on two cores or fewer). */
let holding = false;
/** @type {Map<number, (message: FromBoundWorker) => void>} the jobs whose messages the page still wants */
const listening = new Map();

/** Starts the Worker once, from pkg/bound.js's source, and sends it the page's module. */
function worker() {
  started = started || (async () => {
    await loadScript(SCRIPT);
    const source = self.VAE_BOUND_SOURCE;
    if (typeof source !== 'string') throw pageError('error.missing-script', { file: SCRIPT });
    const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
    const w = new Worker(url);
    sentModel = 0; // a new Worker holds no model yet
    URL.revokeObjectURL(url);
    w.onmessage = (event) => deliver(event.data);
    w.onerror = (event) => {
      event.preventDefault();
      const error = { message: event.message || 'the bound\'s Worker stopped' };
      for (const job of [...listening.keys()]) deliver({ type: 'failed', job, error });
    };
    send(w, { type: 'init', module: await compiledModule() });
    if (holding) send(w, { type: 'hold', on: true }); // a drag began before the Worker did
    return w;
  })();
  started.catch(() => { started = null; });
  return started;
}

/**
 * @param {Worker} w
 * @param {ToBoundWorker} message
 */
function send(w, message) {
  w.postMessage(message);
}

/**
 * How the Worker makes `model`: whole the first time, by its id after.
 * @param {import('./wasm.js').Model} model
 * @returns {import('./bound-protocol.js').ModelRecipe}
 */
function recipeFor(model) {
  if (model.recipe.id === sentModel) return { id: sentModel };
  sentModel = model.recipe.id;
  return model.recipe;
}

/** @param {FromBoundWorker} message */
function deliver(message) {
  const on = listening.get(message.job);
  if (endsJob(message)) listening.delete(message.job);
  on?.(message);
}

/**
 * Starts a job in the Worker for the image `post` was encoded from, under `model`: `bound` (the
 * figures, then the picture) stops every job under way; `optimise` an earlier ascent. Its
 * messages go to `on`.
 * @param {'bound' | 'optimise'} type
 * @param {import('./wasm.js').Model} model
 * @param {import('./wasm.js').Posterior} post
 * @param {(message: FromBoundWorker) => void} on
 * @returns {Job}
 */
export function startJob(type, model, post, on) {
  const job = ++jobs;
  listening.set(job, on);
  const image = { input: new Float32Array(post.input), mu: post.mu, sigma: post.sigma };
  worker()
    .then((w) => send(w, { type, job, model: recipeFor(model), image }))
    .catch((err) => deliver({ type: 'failed', job, error: errorReport(err) }));
  return {
    cancel() {
      if (!listening.delete(job)) return;
      started?.then((w) => send(w, { type: 'cancel', job })).catch(() => {});
    },
    running: () => listening.has(job),
  };
}

/**
 * Has the Worker (started if need be) make `model`'s explorer and coarse grid before its first
 * job, so that the first image's bound comes as fast as the next ones.
 * @param {import('./wasm.js').Model} model
 */
export function warm(model) {
  worker().then((w) => send(w, { type: 'warm', model: recipeFor(model) })).catch(() => {}); // a failure shows with the first job
}

/**
 * Tells the Worker the user drags on the plane (`on`) or has stopped: with two cores or fewer
 * its steps would take the core the drag needs, so it holds them until the pointer is up, as the
 * training Worker does (interaction first). Starts no Worker.
 * @param {boolean} on
 */
export function holdWhileDragging(on) {
  if (!fewCores() || holding === on) return;
  holding = on;
  started?.then((w) => send(w, { type: 'hold', on })).catch(() => {});
}

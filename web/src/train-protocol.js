// train-protocol.js — what the page (training.js) and the training Worker (worker/train-worker.js)
// say to each other, typed once: esbuild puts this module into both bundles and tsc checks both
// against it. The objects the training module returns (progress, test terms) are typed by the
// declarations wasm-bindgen writes for it (pkg/vae_train_wasm.d.ts, from the Rust crate).

/** The live model's name in the model switch. */
export const LIVE = 'live';
/** The side-by-side run's AE. */
export const LIVE_AE = 'live-ae';

/**
 * Whether this machine has two cores or fewer: there the Worker holds its steps while the user
 * drags, and the page holds back reports of the live codes that arrive mid-drag. The page decides
 * and tells the Worker in `init`.
 * @returns {boolean}
 */
export function fewCores() {
  return (self.navigator?.hardwareConcurrency || 2) <= 2;
}

/**
 * @typedef {'vae' | 'ae'} Kind
 * @typedef {{likelihood: 'bernoulli' | 'gaussian', sigmaX: number, sigmaLearned: boolean, betaMean: number, betaVar: number, learningRate: number}} Hyperparameters
 * @typedef {Hyperparameters & {kind: Kind, batchSize: number, seed: number}} Settings
 * @typedef {{step: number, epoch: number, recon: number, kl: number, klMean: number, klVar: number, betaMean: number, betaVar: number}} Progress
 * @typedef {{recon: number, kl: number}} Terms
 * @typedef {import('./error-report.js').ErrorReport} ErrorReport
 * @typedef {'idle' | 'running' | 'paused' | 'stopped'} RunState
 * @typedef {'download' | string} Purpose a download, or the model's name in the switch
 */

/**
 * A message from the page to the Worker.
 * @typedef {{type: 'init', wasm: Uint8Array, pack: Uint8Array, prior: Float32Array, fewCores: boolean}
 *   | {type: 'reset', settings: Settings, pair: boolean}
 *   | {type: 'start'}
 *   | {type: 'pause'}
 *   | {type: 'step'}
 *   | {type: 'set', hyperparameters: Hyperparameters}
 *   | {type: 'snapshot', name: string, purpose: Purpose}
 *   | {type: 'interacting', on: boolean}} ToWorker
 */

/**
 * A message from the Worker to the page (`name`: the run, LIVE or LIVE_AE).
 * @typedef {{type: 'ready'}
 *   | {type: 'progress', name: string, progress: Progress, imagesPerS: number}
 *   | {type: 'view', name: string, codes: Float32Array, samples: Uint8Array, meanSquaredNorm: number, meanSigma: number, step: number}
 *   | {type: 'test', name: string, terms: Terms, step: number}
 *   | {type: 'snapshot', name: string, purpose: Purpose, bytes: Uint8Array}
 *   | {type: 'state', state: RunState}
 *   | {type: 'diverged', name: string, kind: string, pair: boolean, error: ErrorReport}
 *   | {type: 'error', error: ErrorReport}} FromWorker
 */

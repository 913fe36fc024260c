// bound-protocol.js — what the page (bound-jobs.js) and the bound's Worker (bound-worker/bound-worker.js)
// say to each other, typed once: esbuild puts this module into both bundles and tsc checks both
// against it. The Worker computes the exact bound (vae-core's quadrature), the picture of p(z|x)
// and Optimise q's ascent with the page's own wasm module, so none of it runs on the main thread.

/**
 * @typedef {{mean: number[], cov: number[][]}} Gaussian
 * @typedef {{log_px: number, log_px_error: number, elbo: number, elbo_best_diagonal: number,
 *   elbo_best_full: number, gap: number, approximation_gap: number, amortization_gap: number,
 *   full_covariance_gain: number, best_diagonal: Gaussian, best_full: Gaussian,
 *   posterior_moments: Gaussian, modes: number, evaluations: number, sure: boolean,
 *   methods: string[], draft: boolean}} Bound the bound of one image (vae-wasm's BoundReport):
 *   a job sends a draft first (the rule's shares unchecked), then the checked bound
 * @typedef {{mean: number[], sigma: number[], elbo: number, steps: number, done: boolean, evaluations: number}} AscentReport
 *   where Optimise q stands (vae-wasm's AscentReport)
 * @typedef {{cx: number, cy: number, half: number}} PictureWindow
 * @typedef {{id: number, name?: string, bytes?: Uint8Array}} ModelRecipe how the Worker makes the
 *   page's model `id`: the embedded model `name`, or a weights file's `bytes`
 * @typedef {{input: Float32Array, mu: number[], sigma: number[]}} BoundImage a preprocessed
 *   input and its encoder's q(z|x) = N(mu, diag sigma²)
 * @typedef {import('./error-report.js').ErrorReport} ErrorReport
 */

/**
 * @typedef {{type: 'init', module: WebAssembly.Module}
 *   | {type: 'bound' | 'optimise', job: number, model: ModelRecipe, image: BoundImage}
 *   | {type: 'warm', model: ModelRecipe}
 *   | {type: 'cancel', job: number}
 *   | {type: 'hold', on: boolean}} ToBoundWorker
 *   `bound` stops every job under way (a new image or model); `optimise` stops an earlier ascent;
 *   `warm` makes the model's explorer and its coarse grid ahead of a first job (the layer was
 *   turned on, or the model switched, before an image came); `hold` pauses the jobs while the user drags on the plane, on machines of two cores or fewer.
 */

/**
 * @typedef {{type: 'figures', job: number, bound: Bound, ms: number}
 *   | {type: 'picture', job: number, state: 'coarse' | 'done', n: number, window: PictureWindow, logDensity: Float32Array, ms: number}
 *   | {type: 'ascent', job: number, report: AscentReport}
 *   | {type: 'failed', job: number, error: ErrorReport}} FromBoundWorker
 *   `ms`: the Worker's own time on the job so far (a job waits while another's step runs).
 */

/**
 * Whether `message` is the last the page hears of its job.
 * @param {FromBoundWorker} message
 */
export function endsJob(message) {
  return message.type === 'failed' || (message.type === 'picture' && message.state === 'done') || (message.type === 'ascent' && message.report.done);
}

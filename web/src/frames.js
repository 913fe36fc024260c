// frames.js — the page's one animation-frame queue, and work between frames. Panels redraw in an animation frame only
// after something changed: an idle page asks for no frames at all (four perpetual
// requestAnimationFrame loops cost ≈ 33 ms of main-thread time a second with nothing to draw).

/** @type {Set<(now: number) => void>} redraws due in the next frame, in the order asked */
const due = new Set();
let requested = false;

/**
 * Runs `redraw` in the next animation frame, once however often it is asked for before then.
 * @param {(now: number) => void} redraw
 */
export function redrawNextFrame(redraw) {
  due.add(redraw);
  if (requested) return;
  requested = true;
  requestAnimationFrame(runDue);
}

/** @param {number} now */
function runDue(now) {
  requested = false;
  const redraws = [...due];
  due.clear();
  for (const redraw of redraws) {
    try {
      redraw(now);
    } catch (err) {
      reportError(err); // one panel's failure must not keep the others from drawing
    }
  }
}

/**
 * Runs `fn` in a later task, behind input, frames and the page's other tasks where the browser
 * can say so: the step of a picture or a figure made between frames.
 * @param {() => void} fn
 */
export function later(fn) {
  if (globalThis.scheduler?.postTask) globalThis.scheduler.postTask(fn, { priority: 'background' });
  else setTimeout(fn, 0);
}

/**
 * Runs a wasm job a slice per background task ({@link later}): `slice()` (one call of the job's
 * `step`) until `finished(result)`, each result handed to `progress`, the last to `done`; a throw
 * goes to `failed`. The job is freed when it ends, fails, or is no longer `current()` (a newer
 * image or model stopped it).
 * @template T
 * @param {{free: () => void}} job
 * @param {() => T} slice
 * @param {(result: T) => boolean} finished
 * @param {() => boolean} current
 * @param {{progress?: (result: T) => void, done: (result: T) => void, failed: (err: unknown) => void}} on
 */
export function runInTasks(job, slice, finished, current, { progress, done, failed }) {
  const step = () => {
    if (!current()) return job.free();
    let result;
    try {
      result = slice();
    } catch (err) {
      job.free();
      return failed(err);
    }
    progress?.(result);
    if (!finished(result)) return void later(step);
    job.free();
    done(result);
  };
  later(step);
}

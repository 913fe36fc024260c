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

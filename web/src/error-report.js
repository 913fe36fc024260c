// error-report.js — an error as a Worker posts it to the page (and as the page reports a Worker's
// failure): its catalogue key and parameters where it has them, and its message. Structured-clone
// safe, and read back by dom.js's `errorMessage` like any other error. Both Workers use it.

/** @typedef {{key?: string, params?: Record<string, unknown>, message: string}} ErrorReport */

/**
 * What was thrown, as plain fields a message can carry (an Error's own `key` and `params`, which
 * the wasm modules' errors have for the page's catalogues, would not survive the copy).
 * @param {any} err
 * @returns {ErrorReport}
 */
export function errorReport(err) {
  return { key: err && err.key, params: err && err.params, message: String((err && err.message) || err) };
}

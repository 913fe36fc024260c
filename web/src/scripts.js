// scripts.js — runs the page's other scripts (the wasm module, the models, Persian, the training
// module) as plain script tags, which work from file:// as well as over http. It imports nothing,
// so every module may use it (i18n.js for its catalogue, wasm.js for the module) without a circle.

/** @type {Map<string, Promise<unknown>>} */
const loaded = new Map();

/**
 * Runs the script at `src` once. A failure is an `Error` keyed for the catalogue
 * (`error.missing-script`), as the page's other errors are.
 * @param {string} src
 */
export function loadScript(src) {
  if (loaded.has(src)) return loaded.get(src);
  const done = addScript(src);
  loaded.set(src, done);
  done.catch(() => loaded.delete(src));
  return done;
}

/** @param {string} src */
function addScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    script.onload = () => resolve(undefined);
    script.onerror = () => reject(Object.assign(new Error(`missing script ${src}`), { key: 'error.missing-script', params: { file: src } }));
    document.head.append(script);
  });
}

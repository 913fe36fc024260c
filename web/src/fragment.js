// fragment.js — the view in the URL fragment:
// `#model=…&z=x,y&layers=a,b&view=cx,cy,halfwidth&lang=fa&lesson=3`, so a view (with its zoomed
// window, language and lesson step) can be shared and restored, and the page follows the fragment
// when it changes (a pasted link, the Back button). A link may also name an MNIST test digit
// (`test=33`), shown once as if uploaded.

import { RANGE as WHOLE_PLANE_HALF, windowText } from './plane.js';

const FRAGMENT_DELAY_MS = 250; // the fragment follows the view at most this often

/**
 * Reads the fragment into {model, z, layers} (missing parts are undefined); unknown layers are
 * dropped.
 * @param {string[]} layerIds
 */
export function readFragment(layerIds) {
  const params = new URLSearchParams(location.hash.slice(1));
  const z = (params.get('z') || '').split(',').map(Number);
  const view = (params.get('view') || '').split(',').map(Number);
  return {
    model: params.get('model') || undefined,
    z: z.length === 2 && z.every(Number.isFinite) ? { x: z[0], y: z[1] } : undefined,
    layers: params.has('layers') ? params.get('layers').split(',').filter((l) => layerIds.includes(l)) : undefined,
    view: view.length === 3 && view.every(Number.isFinite) && view[2] > 0 ? { cx: view[0], cy: view[1], half: view[2] } : undefined,
    lang: params.get('lang') || undefined,
    lesson: Number(params.get('lesson')) >= 1 ? Math.floor(Number(params.get('lesson'))) : undefined,
    test: /^\d+$/.test(params.get('test') || '') ? Number(params.get('test')) : undefined,
  };
}

/**
 * A function that writes the view `describe()` returns into the fragment, a moment after the
 * last call. A call during a drag only moves the deadline (one timer in flight, not one cleared
 * and set per pointer move).
 * @param {() => {model: string, z: {x: number, y: number}, layers: string[], lang: string, lesson: number,
 *                 view: import('./wasm.js').LatentWindow}} describe
 */
export function fragmentWriter(describe) {
  let timer = 0;
  let due = 0;
  function write() {
    const wait = due - performance.now();
    if (wait > 0) { timer = setTimeout(write, wait); return; }
    timer = 0;
    const { model, z, layers, lang, lesson, view } = describe();
    const whole = view.cx === 0 && view.cy === 0 && view.half === WHOLE_PLANE_HALF;
    const extra = `${whole ? '' : `&view=${windowText(view)}`}${lang === 'en' ? '' : `&lang=${lang}`}${lesson ? `&lesson=${lesson}` : ''}`;
    try {
      history.replaceState(null, '', `#model=${encodeURIComponent(model)}&z=${z.x.toFixed(3)},${z.y.toFixed(3)}&layers=${layers.join(',')}${extra}`);
    } catch (_) { /* some file:// setups refuse; the view still works */ }
  }
  return () => {
    due = performance.now() + FRAGMENT_DELAY_MS;
    if (!timer) timer = setTimeout(write, FRAGMENT_DELAY_MS);
  };
}

/**
 * Calls `follow(fragment)` whenever the fragment changes other than by {@link fragmentWriter}
 * (which replaces it without a `hashchange`): a link pasted into the open page, the Back button.
 * @param {string[]} layerIds
 * @param {(fragment: ReturnType<typeof readFragment>) => void} follow
 */
export function watchFragment(layerIds, follow) {
  self.addEventListener('hashchange', () => follow(readFragment(layerIds)));
}

// store.js — the page's small shared state: which models are loaded, which one is shown, the
// point on the plane and the last encoded image. Panels read it and subscribe to the keys they
// draw; nothing else is shared between them.

/**
 * @typedef {import('./wasm.js').Model} Model
 * @typedef {{x: number, y: number}} Point
 * @typedef {{rgba: Uint8Array, width: number, height: number, name: import('./i18n.js').MessageParam}} RgbaImage
 * @typedef {{
 *   models: Map<string, Model>,
 *   current: string,
 *   point: Point,
 *   image: RgbaImage | null,
 * }} State
 * @typedef {keyof State} Key
 */

/**
 * A store over `initial`: `get()` the state, `set(patch)` to change keys (listeners of the keys
 * that changed run once per call), `on(keys, fn)` to listen.
 * @param {State} initial
 */
export function createStore(initial) {
  const state = { ...initial };
  /** @type {{keys: Key[], fn: (state: State) => void}[]} */
  const listeners = [];
  return {
    /** @returns {State} */
    get: () => state,
    /** The model shown now. */
    model: () => state.models.get(state.current),
    /** @param {Partial<State>} patch */
    set(patch) {
      const changed = /** @type {Key[]} */ (Object.keys(patch));
      Object.assign(state, patch);
      for (const l of listeners) if (l.keys.some((k) => changed.includes(k))) l.fn(state);
    },
    /**
     * Calls `fn(state)` whenever one of `keys` is set.
     * @param {Key[]} keys
     * @param {(state: State) => void} fn
     */
    on(keys, fn) {
      listeners.push({ keys, fn });
    },
    /** Tells the listeners of `key` that the value changed in place (e.g. a model joined the map). */
    touch(key) {
      for (const l of listeners) if (l.keys.includes(key)) l.fn(state);
    },
  };
}

/** @typedef {ReturnType<typeof createStore>} Store */

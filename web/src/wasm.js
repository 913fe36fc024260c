// wasm.js — loads the wasm module (default model embedded) and wraps the Rust Explorer API.
// Every number about the latent space comes from here; the page only maps pointers and paints.

import { pageError } from './i18n.js';
import { loadScript } from './scripts.js';

/** @typedef {{name: string, label: string, embedded?: boolean, script?: string}} ModelEntry */
/** A square window on the latent plane: centre (cx, cy) and half-width, latent units. @typedef {{cx: number, cy: number, half: number}} LatentWindow */
/** Where a model came from, as a catalogue message (null: shipped with the page). @typedef {{key: string, params?: Record<string, string>} | null} ModelSource */
/**
 * What a weights file says about its model (vae-core's WeightsMeta).
 * @typedef {{name: string, kind: 'vae' | 'ae', beta: number, epochs: number, dataset: string,
 *            classes: string[], preprocessing: string, test_recon: number, test_kl: number,
 *            likelihood?: {kind: 'gaussian', sigma_x: number, learned?: boolean}}} ModelInfo
 */
/**
 * One image's posterior and ELBO terms (vae-core's readout::Posterior).
 * @typedef {{mu: number[], sigma: number[], recon: number, kl: number, elbo: number,
 *            iwae: number | null, input: number[], reconstruction: number[], samples: number[],
 *            inverted: boolean, likelihood: {kind: string, sigma_x?: number, learned?: boolean}}} Posterior
 */


/** Bytes of a base64 string (the inlined wasm, the model scripts, the training module and data). */
export function base64Bytes(b64) {
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * The shipped models from pkg/models.js (weights/manifest.json), in the switch's order.
 * @returns {ModelEntry[]}
 */
export function modelEntries() {
  return Array.isArray(self.VAE_MODELS) ? self.VAE_MODELS : [];
}

/**
 * The smallest module that uses `f32x4.relaxed_madd` (relaxed SIMD): it validates only where the
 * browser has relaxed SIMD (Chrome and Edge since 114; others as they ship it), and so tells which
 * of our builds runs.
 */
const RELAXED_SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // \0asm, version 1
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // types: () → v128
  0x03, 0x02, 0x01, 0x00, // one function of that type
  0x0a, 0x0f, 0x01, 0x0d, 0x01, 0x01, 0x7b, // code: one body, one v128 local
  0x20, 0x00, 0x20, 0x00, 0x20, 0x00, 0xfd, 0x85, 0x02, 0x0b, // local.get ×3, f32x4.relaxed_madd, end
]);

/**
 * Which build of the page's module runs here: `relaxed-simd` (the decoder's tiles with fused
 * multiply-add) where the browser validates it, else `simd128`. `?wasm=simd128` (or
 * `?wasm=relaxed-simd`) in the address chooses one, for comparing them.
 * @returns {'relaxed-simd' | 'simd128'}
 */
export function wasmBuild() {
  const asked = new URLSearchParams(self.location?.search || '').get('wasm');
  if (asked === 'simd128' || asked === 'relaxed-simd') return asked;
  return WebAssembly.validate(RELAXED_SIMD_PROBE) ? 'relaxed-simd' : 'simd128';
}

/** The script that inlines each build's module. */
const WASM_SCRIPTS = { 'relaxed-simd': 'pkg/vae_wasm_relaxed_bytes.js', simd128: 'pkg/vae_wasm_bytes.js' };

/** @type {Promise<{exports: {memory: WebAssembly.Memory}, module: WebAssembly.Module}> | null} */
let initialised = null;

/**
 * Initialises the wasm module once: the build this browser runs best, loaded as a script and
 * compiled here, so that the bound's Worker can be handed the same compiled module.
 */
function init() {
  if (typeof wasm_bindgen === 'undefined') throw pageError('error.missing-script', { file: 'pkg/vae_wasm.js' });
  initialised = initialised || (async () => {
    const script = WASM_SCRIPTS[wasmBuild()];
    await loadScript(script);
    const b64 = self.VAE_WASM_BASE64;
    if (typeof b64 !== 'string') throw pageError('error.missing-script', { file: script });
    delete self.VAE_WASM_BASE64; // the text is no longer needed once decoded
    const module = await WebAssembly.compile(base64Bytes(b64));
    return { exports: await wasm_bindgen({ module_or_path: module }), module };
  })();
  return initialised;
}

/**
 * The page's compiled wasm module, for a Worker that runs the same code (the bound's).
 * @returns {Promise<WebAssembly.Module>}
 */
export async function compiledModule() {
  return (await init()).module;
}

/**
 * The Explorer for the shipped model `name`: the embedded default at once, the others from
 * their scripts, loaded when first asked for.
 * @param {string} name
 * @returns {Promise<Model>}
 */
export async function loadModel(name) {
  await init();
  const entry = modelEntries().find((m) => m.name === name);
  if (!entry) throw pageError('error.no-model', { name, names: modelEntries().map((m) => m.name).join(', ') });
  if (entry.embedded) return new Model(new wasm_bindgen.Explorer(name), null, { name });
  const store = (self.VAE_MODEL_BASE64 = self.VAE_MODEL_BASE64 || {});
  if (typeof store[name] !== 'string') await loadScript(entry.script);
  const b64 = store[name];
  if (typeof b64 !== 'string') throw pageError('error.missing-script', { file: String(entry.script) });
  delete store[name]; // the text is no longer needed once decoded
  const bytes = base64Bytes(b64);
  return new Model(wasm_bindgen.Explorer.fromBytes(bytes), null, { bytes });
}

/**
 * A model from the bytes of a `.vaew` weights file (a live snapshot, a file the user opened).
 * @param {Uint8Array} bytes
 * @param {ModelSource} source where it came from, as the model switch says it
 */
export function modelFromBytes(bytes, source) {
  return new Model(wasm_bindgen.Explorer.fromBytes(bytes), source, { bytes });
}

/**
 * Bytes of linear memory the wasm module holds now: the long-session tests watch it for leaks.
 * @returns {Promise<number>}
 */
export async function wasmMemoryBytes() {
  return (await init()).exports.memory.buffer.byteLength;
}

/**
 * `n` draws from the prior N(0, I) as `[x0, y0, …]`, repeatable by `seed`.
 * @returns {Float32Array}
 */
export function samplePrior(n, seed) {
  return wasm_bindgen.Explorer.samplePrior(n, seed);
}

/**
 * `n` evenly spaced points from a to b, both included.
 * @param {{x: number, y: number}} a
 * @param {{x: number, y: number}} b
 * @returns {Float32Array}
 */
export function interpolate(a, b, n) {
  return wasm_bindgen.Explorer.interpolate(a.x, a.y, b.x, b.y, n);
}

/** Half-width of the square a picture of an n × n grid of half-width `range` covers around its centre. */
export function gridExtent(n, range) {
  return wasm_bindgen.Explorer.gridExtent(n, range);
}

/** The prior's density N(z; 0, I). */
export function priorDensity(x, y) {
  return wasm_bindgen.Explorer.priorDensity(x, y);
}

let models = 0;

/** One model: decode latent points, encode images, and the maps drawn over the plane. */
export class Model {
  /**
   * @param {wasm_bindgen.Explorer} explorer
   * @param {ModelSource} source where it came from (null: shipped with the page)
   * @param {{name?: string, bytes?: Uint8Array}} made how it was made: the embedded model `name`
   *   or a weights file's `bytes` (the bound's Worker makes its own copy the same way)
   */
  constructor(explorer, source, made) {
    this.explorer = explorer;
    this.source = source;
    /** @type {import('./bound-protocol.js').ModelRecipe} */
    this.recipe = { id: ++models, ...made };
    /** @type {ModelInfo} */
    this.info = explorer.info();
  }

  /** Frees the model's memory in the wasm module; the model is unusable afterwards. */
  free() {
    this.explorer.free();
  }

  /** Decodes z = (x, y) straight into 28×28 ImageData. */
  decodeImageData(x, y) {
    return this.explorer.decodeImageData(x, y);
  }

  /**
   * Decodes points `[x0, y0, …]` into one ImageData of 28×28 tiles, `cols` per row.
   * @param {Float32Array} zs
   */
  decodeTiles(zs, cols) {
    return this.explorer.decodeTiles(zs, cols);
  }

  /**
   * The decoder's manifold: one decoding per point of an n × n grid over the window `w`.
   * @param {LatentWindow} w
   */
  decodeGrid(n, w) {
    return this.explorer.decodeGrid(n, w.cx, w.cy, w.half);
  }

  /** Mean ‖μ‖² of the stored test posteriors (2 for codes spread like N(0, I)). */
  meanSquaredNorm() {
    return this.explorer.meanSquaredNorm();
  }

  /** Test-set posteriors, flattened `[μ₁, μ₂, σ₁, σ₂, label, …]` (may be empty). */
  testPosteriors() {
    return this.explorer.testPosteriors();
  }

  /**
   * log₂ q(z)/p(z) of the aggregate posterior at the points of an n × n grid over the window `w`.
   * @param {LatentWindow} w
   */
  aggregateVsPrior(n, w) {
    return this.explorer.aggregateVsPrior(n, w.cx, w.cy, w.half);
  }

  /**
   * Mean |Δpixel| per latent unit at the points of an n × n grid over the window `w`.
   * @param {LatentWindow} w
   */
  continuityMap(n, w) {
    return this.explorer.continuityMap(n, w.cx, w.cy, w.half);
  }

  /**
   * {@link continuityMap} of `rows` grid rows from `firstRow` (from the top) only.
   * @param {LatentWindow} w
   */
  continuityMapRows(n, w, firstRow, rows) {
    return this.explorer.continuityMapRows(n, w.cx, w.cy, w.half, firstRow, rows);
  }

  /**
   * Preprocesses RGBA pixels MNIST-style and returns the posterior with its ELBO terms.
   * @param {Uint8Array} rgba
   * @returns {Posterior}
   */
  encodeImage(rgba, width, height) {
    return this.explorer.encodeImage(rgba, width, height);
  }
}

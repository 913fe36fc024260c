// model.js — loads the wasm module (weights embedded) and wraps the Rust Explorer API.
// Classic script: everything hangs off the global `VaeExplorer` namespace (file:// has no modules).
(function (ns) {
  'use strict';

  /** Bytes of a base64 string (the inlined wasm and the model scripts). */
  function base64Bytes(b64) {
    const binary = atob(b64);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  /** Decodes the inlined base64 wasm (see `cargo xtask web`) into bytes. */
  function inlinedWasmBytes() {
    const b64 = self.VAE_WASM_BASE64;
    if (typeof b64 !== 'string') {
      throw new Error('pkg/vae_wasm_bytes.js is missing: build the page with `cargo xtask web`');
    }
    return base64Bytes(b64);
  }

  /** Runs the script at `src` (a plain script tag: works from file:// as well as http). */
  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const script = document.createElement('script');
      script.src = src;
      script.onload = () => resolve();
      script.onerror = () => reject(new Error(`${src} is missing: build the page with \`cargo xtask web\``));
      document.head.append(script);
    });
  }

  /** The shipped models from pkg/models.js: `{name, embedded}` or `{name, script}`. */
  function shippedModels() {
    return Array.isArray(self.VAE_MODELS) ? self.VAE_MODELS : [{ name: 'vae', embedded: true }];
  }

  let initialised = null;

  /**
   * Initialises the wasm module once and returns the Explorer for model `name`.
   * @param {string} name a shipped model's name, e.g. "vae" (see modelNames)
   * @returns {Promise<Model>}
   */
  ns.loadModel = async function loadModel(name) {
    if (typeof wasm_bindgen === 'undefined') {
      throw new Error('pkg/vae_wasm.js is missing: build the page with `cargo xtask web`');
    }
    initialised = initialised || wasm_bindgen({ module_or_path: inlinedWasmBytes() });
    await initialised;
    const entry = shippedModels().find((m) => m.name === name);
    if (!entry) throw new Error(`no model named “${name}”; the page ships ${ns.modelNames().join(', ')}`);
    if (entry.embedded) return new Model(new wasm_bindgen.Explorer(name));
    // Other models arrive as scripts holding their weights file, loaded when first asked for.
    if (typeof (self.VAE_MODEL_BASE64 || {})[name] !== 'string') await loadScript(entry.script);
    const b64 = (self.VAE_MODEL_BASE64 || {})[name];
    if (typeof b64 !== 'string') throw new Error(`${entry.script} holds no model “${name}”: rebuild with \`cargo xtask web\``);
    delete self.VAE_MODEL_BASE64[name]; // the text is no longer needed once decoded
    return new Model(wasm_bindgen.Explorer.fromBytes(base64Bytes(b64)));
  };

  /**
   * Bytes of linear memory the wasm module holds now (after loadModel has run once): the
   * long-session tests watch it for leaks.
   * @returns {Promise<number>}
   */
  ns.wasmMemoryBytes = async function wasmMemoryBytes() {
    return (await initialised).memory.buffer.byteLength;
  };

  /** Names of the shipped models, the embedded default first. */
  ns.modelNames = function modelNames() {
    return shippedModels().map((m) => m.name);
  };

  /**
   * `n` draws from the prior N(0, I) as `[x0, y0, …]`, repeatable by `seed` (drawn in Rust).
   * @returns {Float32Array}
   */
  ns.samplePrior = function samplePrior(n, seed) {
    return wasm_bindgen.Explorer.samplePrior(n, seed);
  };

  /**
   * `n` evenly spaced points from a to b (computed in Rust).
   * @returns {Float32Array}
   */
  ns.interpolate = function interpolate(a, b, n) {
    return wasm_bindgen.Explorer.interpolate(a.x, a.y, b.x, b.y, n);
  };

  /** One embedded model: decode latent points, encode images. */
  class Model {
    constructor(explorer) {
      this.explorer = explorer;
      /** @type {{name: string, kind: string, beta: number, epochs: number, test_recon: number, test_kl: number}} */
      this.info = explorer.info();
    }

    /**
     * Decodes z = (x, y) straight into 28×28 ImageData.
     * @returns {ImageData}
     */
    decodeImageData(x, y) {
      return this.explorer.decodeImageData(x, y);
    }

    /**
     * Decodes many points in one call.
     * @param {Float32Array} zs [x0, y0, x1, y1, …]
     * @returns {Float32Array} n × 784 intensities in [0, 1]
     */
    decodeBatch(zs) {
      return this.explorer.decodeBatch(zs);
    }

    /**
     * Decodes points into one ImageData of 28×28 tiles, `cols` per row.
     * @param {Float32Array} zs [x0, y0, x1, y1, …]
     * @returns {ImageData}
     */
    decodeTiles(zs, cols) {
      return this.explorer.decodeTiles(zs, cols);
    }

    /**
     * The decoder's manifold: an n × n grid over [−range, range]² as one ImageData.
     * @returns {ImageData}
     */
    decodeGrid(n, range) {
      return this.explorer.decodeGrid(n, range);
    }

    /** Test-set posteriors, flattened `[μ₁, μ₂, σ₁, σ₂, label, …]` (may be empty). */
    testPosteriors() {
      return this.explorer.testPosteriors();
    }

    /** log₂ q(z)/p(z) of the aggregate posterior on an n × n grid over [−range, range]². */
    aggregateVsPrior(n, range) {
      return this.explorer.aggregateVsPrior(n, range);
    }

    /** Mean |Δpixel| per latent unit on an n × n grid over [−range, range]². */
    continuityMap(n, range) {
      return this.explorer.continuityMap(n, range);
    }

    /**
     * Preprocesses RGBA pixels MNIST-style and returns the posterior with its ELBO terms.
     * @returns {{mu: number[], sigma: number[], recon: number, kl: number, elbo: number,
     *            input: number[], reconstruction: number[], inverted: boolean}}
     */
    encodeImage(rgba, width, height) {
      return this.explorer.encodeImage(rgba, width, height);
    }
  }

  /**
   * Paints 784 grey intensities in [0, 1] into a 28×28 canvas (white ink on black).
   * @param {HTMLCanvasElement} canvas
   * @param {ArrayLike<number>} grey
   */
  ns.paintGrey = function paintGrey(canvas, grey) {
    const ctx = canvas.getContext('2d');
    const img = ctx.createImageData(28, 28);
    for (let i = 0; i < 784; i++) {
      const v = Math.round(Math.min(1, Math.max(0, grey[i])) * 255);
      img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = v;
      img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  };
})(self.VaeExplorer = self.VaeExplorer || {});

// model.js — loads the wasm module (weights embedded) and wraps the Rust Explorer API.
// Classic script: everything hangs off the global `VaeExplorer` namespace (file:// has no modules).
(function (ns) {
  'use strict';

  /** Decodes the inlined base64 wasm (see `cargo xtask web`) into bytes. */
  function inlinedWasmBytes() {
    const b64 = self.VAE_WASM_BASE64;
    if (typeof b64 !== 'string') {
      throw new Error('pkg/vae_wasm_bytes.js is missing: build the page with `cargo xtask web`');
    }
    const binary = atob(b64);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  let initialised = null;

  /**
   * Initialises the wasm module once and returns the Explorer for model `name`.
   * @param {string} name embedded model name, e.g. "vae"
   * @returns {Promise<Model>}
   */
  ns.loadModel = async function loadModel(name) {
    if (typeof wasm_bindgen === 'undefined') {
      throw new Error('pkg/vae_wasm.js is missing: build the page with `cargo xtask web`');
    }
    initialised = initialised || wasm_bindgen({ module_or_path: inlinedWasmBytes() });
    await initialised;
    return new Model(new wasm_bindgen.Explorer(name));
  };

  /**
   * Bytes of linear memory the wasm module holds now (after loadModel has run once): the
   * long-session tests watch it for leaks.
   * @returns {Promise<number>}
   */
  ns.wasmMemoryBytes = async function wasmMemoryBytes() {
    return (await initialised).memory.buffer.byteLength;
  };

  /** Names of the models compiled into the module (after loadModel has run once). */
  ns.modelNames = function modelNames() {
    return wasm_bindgen.Explorer.models();
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

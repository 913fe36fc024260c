// Globals the page's modules use: the no-modules wasm-bindgen glue (pkg/vae_wasm.js) and the
// scripts `cargo xtask web` writes (pkg/vae_wasm_bytes.js, pkg/models.js, pkg/model-*.js).

/** The Rust `Explorer` (crates/vae-wasm) as wasm-bindgen exposes it. */
interface WasmExplorer {
  info(): any;
  free(): void;
  decodeBatch(zs: Float32Array): Float32Array;
  decodeImageData(x: number, y: number): ImageData;
  decodeTiles(zs: Float32Array, cols: number): ImageData;
  decodeGrid(n: number, cx: number, cy: number, range: number): ImageData;
  testPosteriors(): Float32Array;
  meanSquaredNorm(): number;
  aggregateVsPrior(n: number, cx: number, cy: number, range: number): Float32Array;
  continuityMap(n: number, cx: number, cy: number, range: number): Float32Array;
  continuityMapRows(n: number, cx: number, cy: number, range: number, firstRow: number, rows: number): Float32Array;
  encodeImage(rgba: Uint8Array, width: number, height: number): any;
  exactBoundJob(input: Float32Array, mu0: number, mu1: number, sigma0: number, sigma1: number): WasmExactBoundJob;
  logPosteriorRows(input: Float32Array, logPx: number, n: number, cx: number, cy: number, range: number, firstRow: number, rows: number): Float32Array;
}

/** The Rust `ExactBoundJob`: one image's exact bound, a budget of decodes per step. */
interface WasmExactBoundJob {
  step(explorer: WasmExplorer, budget: number): any;
  evaluations(): number;
  free(): void;
}

interface WasmExplorerClass {
  new (name: string): WasmExplorer;
  fromBytes(bytes: Uint8Array): WasmExplorer;
  samplePrior(n: number, seed: number): Float32Array;
  interpolate(ax: number, ay: number, bx: number, by: number, n: number): Float32Array;
  gridExtent(n: number, range: number): number;
  priorDensity(x: number, y: number): number;
}

declare const wasm_bindgen: ((options: { module_or_path: BufferSource }) => Promise<{ memory: WebAssembly.Memory }>) & {
  Explorer: WasmExplorerClass;
};

interface Window {
  /** pkg/vae_wasm_bytes.js or pkg/vae_wasm_relaxed_bytes.js: the page's module, base64 (read once, then deleted). */
  VAE_WASM_BASE64?: string;
  VAE_MODELS?: { name: string; label: string; embedded?: boolean; script?: string }[];
  VAE_MODEL_BASE64?: Record<string, string>;
  VaeExplorer?: { modelNames(): string[]; wasmMemoryBytes(): Promise<number>; wasmBuild(): 'relaxed-simd' | 'simd128' };
  /** pkg/train.js: the Worker's source (bindings + web/worker/train-worker.js) and the training wasm. */
  VAE_TRAIN?: { source: string; wasm: string };
  /** pkg/data-mnist.js: the gzipped dataset pack, base64. */
  VAE_DATA_MNIST?: string;
  /** web/i18n/fa.js: the Persian message catalogue. */
  VAE_MESSAGES_FA?: Record<string, string>;
  /** web/i18n/vazirmatn.js: the Persian font, base64 WOFF2 faces. */
  VAE_FONT_VAZIRMATN?: { family: string; faces: { weight: number; woff2: string }[]; added?: boolean };
}

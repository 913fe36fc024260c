// Globals the page's modules use from the scripts `cargo xtask web` writes (pkg/vae_wasm_bytes.js,
// pkg/models.js, pkg/model-*.js, pkg/train.js, pkg/bound.js, pkg/data-mnist.js). The wasm module's own API
// (`wasm_bindgen`, `wasm_bindgen.Explorer`, …) is typed by the declarations wasm-bindgen writes,
// pkg/vae_wasm.d.ts, which tsconfig.json includes: it is not re-typed here.

interface Window {
  /** pkg/vae_wasm_bytes.js or pkg/vae_wasm_relaxed_bytes.js: the page's module, base64 (read once, then deleted). */
  VAE_WASM_BASE64?: string;
  VAE_MODELS?: { name: string; label: string; embedded?: boolean; script?: string }[];
  VAE_MODEL_BASE64?: Record<string, string>;
  VaeExplorer?: {
    modelNames(): string[]; wasmMemoryBytes(): Promise<number>; wasmBuild(): 'relaxed-simd' | 'simd128';
    /** A message as plain text in the page's language (tooltips, aria labels). */
    message(key: string, params?: Record<string, any>): string;
  };
  /** pkg/train.js: the Worker's source (bindings + web/js/train-worker.js) and the training wasm. */
  VAE_TRAIN?: { source: string; wasm: string };
  /** pkg/bound.js: the bound's Worker's source (bindings + web/js/bound-worker.js). */
  VAE_BOUND_SOURCE?: string;
  /** pkg/data-mnist.js: the gzipped dataset pack, base64. */
  VAE_DATA_MNIST?: string;
  /** web/i18n/fa.js: the Persian message catalogue. */
  VAE_MESSAGES_FA?: Record<string, string>;
  /** web/i18n/vazirmatn.js: the Persian font, base64 WOFF2 faces. */
  VAE_FONT_VAZIRMATN?: { family: string; faces: { weight: number; woff2: string }[]; added?: boolean };
}

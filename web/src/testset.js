// testset.js — the dataset pack the page trains on (pkg/data-mnist.js: datasets/mnist.vaed.gz,
// base64; the first 10,000 training and 1,000 test digits), loaded and decompressed once: for the
// training Worker, and for a test digit a link names (`#test=N`), shown as an upload would be.

import { pageError } from './i18n.js';
import { loadScript } from './scripts.js';
import { base64Bytes } from './wasm.js';

/** @type {Promise<Uint8Array> | null} */
let pack = null;

/** Gunzips `bytes` with the browser's own decompressor. @param {Uint8Array} bytes */
async function gunzip(bytes) {
  const stream = new Blob([/** @type {BlobPart} */ (bytes)]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The pack's bytes, decompressed (the script loaded and decoded once). */
export function packBytes() {
  pack = pack || (async () => {
    await loadScript('pkg/data-mnist.js');
    const data = self.VAE_DATA_MNIST;
    if (typeof data !== 'string') throw pageError('error.missing-script', { file: 'pkg/data-mnist.js' });
    return gunzip(base64Bytes(data));
  })();
  pack.catch(() => { pack = null; });
  return pack;
}

/**
 * MNIST test digit `n` (one of the pack's first 1,000) as an image the page encodes like an
 * upload: white ink on black, 28×28.
 * @param {number} n
 */
export async function testImage(n) {
  const grey = wasm_bindgen.Explorer.packTestImage(await packBytes(), n);
  const rgba = new Uint8Array(grey.length * 4);
  grey.forEach((v, i) => rgba.set([v, v, v, 255], 4 * i));
  return { rgba, width: 28, height: 28, name: { key: 'test.image-name', params: { n } } };
}

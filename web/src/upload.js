// upload.js — turns a user's image file into RGBA pixels, entirely in the browser.
// The file is decoded by the browser's own image decoder (as an <img>, so an SVG's scripts never
// run), drawn into an off-screen canvas no larger than MAX_SIDE, and read back as RGBA.

import { pageError } from './i18n.js';

const MAX_SIDE = 1024; // larger images are scaled down first: preprocessing fits 20×20 anyway
const MAX_BYTES = 64 * 1024 * 1024; // bigger files are refused before the browser decodes them
const SVG_FALLBACK_SIDE = 512; // an SVG without width/height is rendered at this size

/**
 * Decodes an image file to RGBA pixels.
 * @param {File} file
 * @returns {Promise<{rgba: Uint8Array, width: number, height: number}>}
 */
export async function fileToRgba(file) {
  if (file.size === 0) throw pageError('error.image.file-empty', { file: file.name });
  if (file.size > MAX_BYTES) {
    throw pageError('error.image.file-too-large', { file: file.name, size: (file.size / 1048576).toFixed(0), max: MAX_BYTES / 1048576 });
  }
  const url = URL.createObjectURL(file);
  try {
    const img = new Image();
    img.src = url;
    try {
      await img.decode();
    } catch (_) {
      throw pageError('error.image.unreadable', { file: file.name });
    }
    let w0 = img.naturalWidth, h0 = img.naturalHeight;
    if ((!w0 || !h0) && file.type === 'image/svg+xml') w0 = h0 = SVG_FALLBACK_SIDE; // no intrinsic size
    if (!w0 || !h0) throw pageError('error.image.no-pixels', { file: file.name });
    const k = Math.min(1, MAX_SIDE / Math.max(w0, h0));
    const width = Math.max(1, Math.round(w0 * k)), height = Math.max(1, Math.round(h0 * k));
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(img, 0, 0, width, height);
    const data = ctx.getImageData(0, 0, width, height).data;
    return { rgba: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width, height };
  } finally {
    URL.revokeObjectURL(url);
  }
}

/**
 * Calls `onImage(file)` whenever the user picks a file in `input`.
 * @param {HTMLInputElement} input
 * @param {(file: File) => void} onImage
 */
export function attachUpload(input, onImage) {
  input.addEventListener('change', () => {
    const file = input.files && input.files[0];
    input.value = ''; // so choosing the same file again encodes it again
    if (file) onImage(file);
  });
}

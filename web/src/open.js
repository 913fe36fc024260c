// open.js — your own models in the page: a `.vaew` written by the trainer (or downloaded from
// the training panel), picked with the button or dropped anywhere on the page, is checked by the
// same Rust code as the trainer's (magic, version, checksum, architecture, finite weights, a 2-D
// latent) and joins the model switch under the name in its header. Nothing leaves the browser.

import { $, errorMessage, setStatus } from './dom.js';
import { modelFromBytes } from './wasm.js';

/** Larger files are refused before reading: the biggest model the trainer makes is a few MB. */
const MAX_WEIGHTS_BYTES = 64 * 2 ** 20;

/** `name`, or `name-2`, `name-3`, … : the first one no loaded model has. */
function uniqueName(models, name) {
  if (!models.has(name)) return name;
  let k = 2;
  while (models.has(`${name}-${k}`)) k++;
  return `${name}-${k}`;
}

/**
 * Opens one weights file: on success it joins the switch and becomes the current model; on
 * failure `#status` says why and what to do, and the page goes on as it was.
 * @param {import('./store.js').Store} store
 * @param {File} file
 */
async function openWeights(store, file) {
  if (file.size > MAX_WEIGHTS_BYTES) {
    setStatus('status.open-too-large', { file: file.name, size: (file.size / 2 ** 20).toFixed(0), max: MAX_WEIGHTS_BYTES / 2 ** 20 }, true);
    return;
  }
  let model;
  try {
    model = modelFromBytes(new Uint8Array(await file.arrayBuffer()), { key: 'model.source.opened', params: { file: file.name } });
  } catch (err) {
    setStatus('status.open-failed', { file: file.name, reason: errorMessage(err) }, true);
    return;
  }
  const { models } = store.get();
  const name = uniqueName(models, model.info.name);
  models.set(name, model);
  store.touch('models');
  store.set({ current: name });
  setStatus('status.opened', { file: file.name, name });
}

/**
 * The open button (`input#open-weights`) and dropping a file anywhere on the page.
 * @param {import('./store.js').Store} store
 */
export function createOpenWeights(store) {
  const input = /** @type {HTMLInputElement} */ ($('open-weights'));
  input.addEventListener('change', async () => {
    for (const file of input.files || []) await openWeights(store, file);
    input.value = ''; // the same file may be opened again
  });
  const carriesFiles = (event) => [...(event.dataTransfer?.types || [])].includes('Files');
  document.addEventListener('dragover', (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault(); // lets the drop happen here instead of the browser opening the file
    if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
  });
  document.addEventListener('drop', async (event) => {
    if (!carriesFiles(event) || event.defaultPrevented) return; // a panel of its own took it (e.g. upload)
    event.preventDefault();
    for (const file of event.dataTransfer?.files || []) await openWeights(store, file);
  });
}

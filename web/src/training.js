// training.js — train a model in the page and watch the KL term organise the latent space: the
// controls, the Worker that trains (web/worker/train-worker.js), the status figures, the chart,
// the live test codes on the plane and the live model in the model switch. The training code and
// the dataset load only when training is first asked for.

import { $, errorText, fmt, setStatus } from './dom.js';
import { base64Bytes, loadScript, modelFromBytes, samplePrior } from './wasm.js';
import { codesDrawable } from './plane.js';
import { createLossChart } from './chart.js';

const LIVE = 'live';          // the live model's name in the model switch
const PRIOR_SAMPLES = 16;     // decoded by the live model, 4 × 4
const PRIOR_SEED = 2024;
const BUILD_HINT = 'build the page with `cargo xtask web`';

/** Gunzips `bytes` with the browser's own decompressor. */
async function gunzip(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Loads the training module and the dataset pack (pkg/train.js, pkg/data-mnist.js) and starts
 * the Worker from a blob (the only kind a page opened from file:// may start).
 * @param {(message: any) => void} onMessage
 * @returns {Promise<Worker>}
 */
async function startWorker(onMessage) {
  await loadScript('pkg/train.js');
  await loadScript('pkg/data-mnist.js');
  const train = self.VAE_TRAIN, data = self.VAE_DATA_MNIST;
  if (!train || typeof data !== 'string') throw new Error(`the training module or its data is missing: ${BUILD_HINT}`);
  const url = URL.createObjectURL(new Blob([train.source], { type: 'text/javascript' }));
  const worker = new Worker(url);
  URL.revokeObjectURL(url);
  worker.onmessage = (event) => onMessage(event.data);
  worker.onerror = (event) => onMessage({ type: 'error', message: event.message || 'the training worker failed' });
  const prior = samplePrior(PRIOR_SAMPLES, PRIOR_SEED);
  worker.postMessage({ type: 'init', wasm: base64Bytes(train.wasm), pack: await gunzip(base64Bytes(data)), prior });
  return worker;
}

/** The run's settings as the controls say. */
function readSettings() {
  return {
    kind: $('train-model').value,
    beta: Number($('train-beta').value),
    lr: Number($('train-lr').value),
    batch: Number($('train-batch').value),
    seed: Number($('train-seed').value) >>> 0,
  };
}

/**
 * @param {import('./store.js').Store} store
 * @param {{setLayer: Function}} plane
 */
export function createTrainingPanel(store, plane) {
  const chart = createLossChart($('train-chart'));
  const status = $('train-status');
  const run = { worker: /** @type {Promise<Worker> | null} */ (null), started: false, step: 0, beta: 1, lr: 1e-3, kind: 'vae' };
  const handle = messageHandler(store, plane, chart, run);

  function send(message) {
    run.worker = run.worker || startWorker(handle);
    run.worker.then((w) => w.postMessage(message), (err) => {
      run.worker = null;
      setStatus(`Could not start training: ${errorText(err)}`, true);
    });
  }
  function reset() {
    const settings = readSettings();
    Object.assign(run, { started: true, step: 0, beta: settings.beta, lr: settings.lr, kind: settings.kind });
    chart.clear();
    // The last run's figures go; the new run's arrive with its first report.
    for (const key of Object.keys(status.dataset)) if (key !== 'state') delete status.dataset[key];
    send({ type: 'reset', settings });
  }
  $('train-start').addEventListener('click', () => { if (!run.started) reset(); send({ type: 'start' }); });
  $('train-pause').addEventListener('click', () => send({ type: 'pause' }));
  $('train-step').addEventListener('click', () => { if (!run.started) reset(); send({ type: 'step' }); });
  $('train-reset').addEventListener('click', reset);
  $('train-download').addEventListener('click', () => { if (run.started) send({ type: 'snapshot', purpose: 'download' }); });
  for (const id of ['train-beta', 'train-lr']) {
    $(id).addEventListener('change', () => {
      const { beta, lr } = readSettings();
      if (!run.started || (beta === run.beta && lr === run.lr)) return;
      chart.mark(run.step, beta !== run.beta ? `β = ${beta}` : `lr = ${lr}`);
      Object.assign(run, { beta, lr });
      send({ type: 'set', beta, lr });
    });
  }
  $('train-beta-slider').addEventListener('input', () => {
    const t = Number($('train-beta-slider').value); // 0 → β = 0, else 10^(t/10 − 2): 0.01 … 10
    $('train-beta').value = t === 0 ? '0' : String(Number((10 ** (t / 10 - 2)).toPrecision(2)));
  });
  $('train-beta-slider').addEventListener('change', () => $('train-beta').dispatchEvent(new Event('change')));
  status.dataset.state = 'idle';
}

/** What to do with each message of the Worker. */
function messageHandler(store, plane, chart, run) {
  const status = $('train-status');
  const setState = (state) => { status.dataset.state = state; $('train-state').textContent = state; };
  return (message) => {
    switch (message.type) {
      case 'progress': return showProgress(message, chart, run);
      case 'view':
        plane.setLayer('training', codesDrawable(message.codes, run.kind === 'vae'));
        Object.assign(status.dataset, { codesStep: String(message.step), codesMeanSquaredNorm: String(message.meanSquaredNorm) });
        return paintSamples($('train-samples'), message.samples);
      case 'test':
        Object.assign(status.dataset, {
          testStep: String(message.step), testRecon: String(message.terms.recon), testKl: String(message.terms.kl),
          testElbo: String(-(message.terms.recon + message.terms.kl)),
        });
        $('train-test').textContent = `test −ELBO ${fmt(message.terms.recon + message.terms.kl)} nats`;
        return undefined;
      case 'snapshot': return useSnapshot(store, message);
      case 'state': return setState(message.state);
      case 'diverged':
        setState('stopped');
        return setStatus(message.message, true);
      case 'error': return setStatus(`Training: ${message.message}`, true);
      default: return undefined;
    }
  };
}

function showProgress({ progress, imagesPerS }, chart, run) {
  const p = progress;
  run.step = p.step;
  chart.add(p.step, p.recon, p.kl, p.beta);
  Object.assign($('train-status').dataset, {
    step: String(p.step), imagesPerS: String(Math.round(imagesPerS)), recon: String(p.recon), kl: String(p.kl), elbo: String(-(p.recon + p.kl)),
  });
  $('train-figures').textContent = `step ${p.step} · epoch ${p.epoch} · ${Math.round(imagesPerS)} images/s · ` +
    `−ELBO ${fmt(p.recon + p.kl)} = reconstruction ${fmt(p.recon)} + KL ${fmt(p.kl)} nats`;
}

/** The live model joins the switch (replacing its previous snapshot), or is downloaded. */
function useSnapshot(store, { purpose, bytes }) {
  if (purpose === 'download') {
    const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = `${LIVE}.vaew`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    return;
  }
  const { models, current } = store.get();
  const old = models.get(LIVE);
  models.set(LIVE, modelFromBytes(bytes, 'trained in this page'));
  store.touch('models');
  if (current === LIVE) store.set({ current: LIVE });
  old?.free();
}

/** 16 decoded images (784 intensities each) as a 4 × 4 sheet. */
function paintSamples(canvas, grey) {
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(112, 112);
  for (let k = 0; k * 784 < grey.length; k++) {
    for (let i = 0; i < 784; i++) {
      const x = (k % 4) * 28 + (i % 28), y = Math.floor(k / 4) * 28 + Math.floor(i / 28);
      const v = Math.round(Math.min(1, Math.max(0, grey[k * 784 + i])) * 255);
      img.data.set([v, v, v, 255], 4 * (y * 112 + x));
    }
  }
  ctx.putImageData(img, 0, 0);
}

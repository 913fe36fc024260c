// posterior.js — encode an uploaded or drawn image: its preprocessed input, reconstruction,
// posterior ellipse on the plane, reparameterised samples and ELBO readout. Re-encodes the last
// image when the model changes.

import { $, errorMessage, fmt, paintGrey, setStatus, sigmaText } from './dom.js';
import { render } from './i18n.js';
import { attachUpload, fileToRgba } from './upload.js';
import { createDrawPad } from './draw.js';
import { posteriorDrawable } from './plane.js';

const SHOWN_SAMPLES = 8; // decoded reparameterised samples in the strip

/**
 * @param {import('./store.js').Store} store
 * @param {{setLayer: Function, setPoint: (z: {x: number, y: number}) => void}} plane
 */
export function createPosteriorPanel(store, plane) {
  /** @type {import('./wasm.js').Posterior | null} the posterior shown now */
  let shown = null;
  /** Encodes `image` with the current model and shows everything about its posterior. */
  function encode(image) {
    const model = store.model();
    const post = model.encodeImage(image.rgba, image.width, image.height);
    shown = post;
    showReadout(post, model.info);
    $('posterior-samples').getContext('2d').putImageData(model.decodeTiles(new Float32Array(post.samples), SHOWN_SAMPLES), 0, 0);
    plane.setLayer('posterior', post.sigma[0] > 0 ? posteriorDrawable(post) : null);
    plane.setPoint({ x: post.mu[0], y: post.mu[1] });
    setStatus(post.inverted ? 'status.encoded-inverted' : 'status.encoded', { image: image.name, model: model.info.name });
  }

  let uploadSeq = 0; // only the latest upload is shown when several decode at once
  attachUpload($('upload'), async (file) => {
    const seq = ++uploadSeq;
    setStatus('status.encoding', { image: file.name });
    try {
      const image = { ...(await fileToRgba(file)), name: file.name };
      if (seq !== uploadSeq) return;
      encode(image);
      store.set({ image });
    } catch (err) {
      if (seq === uploadSeq) setStatus('status.encode-failed', { image: file.name, reason: errorMessage(err) }, true);
    }
  });

  const pad = createDrawPad($('draw'), (drawn) => {
    const image = { ...drawn, name: { key: 'draw.name' } };
    try {
      encode(image);
      store.set({ image });
    } catch (err) {
      setStatus('status.drawing', { reason: errorMessage(err) }); // mid-stroke "no ink yet" is expected: say it quietly
    }
  });
  $('draw-clear').addEventListener('click', () => pad.clear());

  store.on(['current'], ({ image }) => {
    if (!image) return;
    try { encode(image); } catch (err) { setStatus('status.encode-failed', { image: image.name, reason: errorMessage(err) }, true); }
  });
  return {
    /** The posterior shown now (null before the first image). */
    current: () => shown,
    /** Encodes an image given by the page itself (the lesson's example), as an upload would be. */
    show(image) {
      encode(image);
      store.set({ image });
    },
  };
}

/**
 * The readout: μ, σ, the ELBO terms against the test-set means, input and reconstruction.
 * @param {import('./wasm.js').Posterior} post
 * @param {import('./wasm.js').ModelInfo} info
 */
function showReadout(post, info) {
  const el = $('posterior');
  el.hidden = false;
  el.dataset.mu = `${post.mu[0]},${post.mu[1]}`;
  el.dataset.sigma = `${post.sigma[0]},${post.sigma[1]}`;
  el.dataset.samples = post.samples.join(','); // the reparameterised samples drawn on the plane, [x0, y0, …]
  $('mu').textContent = `${fmt(post.mu[0])}, ${fmt(post.mu[1])}`;
  if (info.kind === 'ae') render($('sigma'), 'posterior.sigma-ae');
  else $('sigma').textContent = `${fmt(post.sigma[0], 3)}, ${fmt(post.sigma[1], 3)}`;
  const elbo = $('elbo');
  Object.assign(elbo.dataset, { recon: String(post.recon), kl: String(post.kl), elbo: String(post.elbo), iwae: post.iwae == null ? '' : String(post.iwae) });
  render($('elbo-recon'), 'posterior.nats-vs-test', { value: fmt(post.recon), mean: fmt(info.test_recon) });
  render($('elbo-kl'), 'posterior.nats-vs-test', { value: fmt(post.kl), mean: fmt(info.test_kl) });
  render($('elbo-value'), 'posterior.nats-vs-test', { value: fmt(post.elbo), mean: fmt(-(info.test_recon + info.test_kl)) });
  if (post.iwae == null) render($('elbo-iwae'), 'posterior.iwae-ae');
  else render($('elbo-iwae'), 'posterior.nats', { value: fmt(post.iwae) });
  paintGrey($('input-preview'), post.input);
  paintGrey($('reconstruction'), post.reconstruction);
  showLikelihood(post.likelihood);
}

/**
 * Says which likelihood the figures are in: a Gaussian decoder's are nats of grey images, not to
 * be read beside the Bernoulli models' nats.
 * @param {{kind: string, sigma_x?: number, learned?: boolean}} likelihood
 */
function showLikelihood(likelihood) {
  const gaussian = likelihood.kind === 'gaussian';
  $('elbo').dataset.likelihood = likelihood.kind;
  $('exact').dataset.likelihood = likelihood.kind;
  $('likelihood-note').hidden = !gaussian;
  const key = likelihood.learned ? 'posterior.likelihood-gaussian-learned' : 'posterior.likelihood-gaussian';
  if (gaussian) render($('likelihood-note'), key, { sigma: sigmaText(likelihood.sigma_x) });
}

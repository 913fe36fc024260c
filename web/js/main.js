// main.js — wires the model, the latent plane and the upload together.
(function (ns) {
  'use strict';

  const DEFAULT_MODEL = 'vae';
  const $ = (id) => document.getElementById(id);
  const fmt = (v, digits = 2) => Number(v).toFixed(digits);

  function setStatus(text, isError = false) {
    const el = $('status');
    el.textContent = text;
    el.classList.toggle('error', isError);
  }

  async function start() {
    let model;
    try {
      model = await ns.loadModel(DEFAULT_MODEL);
    } catch (err) {
      setStatus(`Could not load the model: ${err.message || err}`, true);
      return;
    }
    const info = model.info;
    $('model-info').textContent = `Model “${info.name}”: ${info.kind.toUpperCase()}, β = ${info.beta}, ` +
      `${info.epochs} epochs on ${info.dataset}; test ELBO ${fmt(-(info.test_recon + info.test_kl))} nats ` +
      `(reconstruction ${fmt(info.test_recon)} + KL ${fmt(info.test_kl)}).`;

    const decodedCtx = $('decoded').getContext('2d');
    let pending = null; // the latest point to decode; decoding happens once per animation frame
    const plane = ns.createLatentPlane($('latent-plane'), (z) => {
      pending = z;
      $('z1').textContent = fmt(z.x);
      $('z2').textContent = fmt(z.y);
      $('prior-density').textContent = `prior density p(z) = ${(Math.exp(-(z.x * z.x + z.y * z.y) / 2) / (2 * Math.PI)).toExponential(2)}`;
    });
    function frame() {
      if (pending) {
        const z = pending;
        pending = null;
        try {
          decodedCtx.putImageData(model.decodeImageData(z.x, z.y), 0, 0);
        } catch (err) {
          setStatus(`Decoding failed: ${err.message || err}`, true);
        }
      }
      requestAnimationFrame(frame);
    }
    requestAnimationFrame(frame);
    plane.setPoint({ x: 0, y: 0 });

    ns.attachUpload($('upload'), async (file) => {
      setStatus(`Encoding “${file.name}”…`);
      try {
        const { rgba, width, height } = await ns.fileToRgba(file);
        const post = model.encodeImage(rgba, width, height);
        showPosterior(post);
        plane.setPosterior(post);
        plane.setPoint({ x: post.mu[0], y: post.mu[1] });
        setStatus(`Encoded “${file.name}”${post.inverted ? ' (dark ink on light paper: inverted to MNIST’s white on black)' : ''}.`);
      } catch (err) {
        setStatus(`Could not encode “${file.name}”: ${err.message || err}`, true);
      }
    });

    document.body.dataset.ready = 'true';
    setStatus('Ready: drag the point, or encode an image.');
  }

  function showPosterior(post) {
    const el = $('posterior');
    el.hidden = false;
    el.dataset.mu = `${post.mu[0]},${post.mu[1]}`;
    el.dataset.sigma = `${post.sigma[0]},${post.sigma[1]}`;
    $('mu').textContent = `${fmt(post.mu[0])}, ${fmt(post.mu[1])}`;
    $('sigma').textContent = `${fmt(post.sigma[0], 3)}, ${fmt(post.sigma[1], 3)}`;
    const elbo = $('elbo');
    elbo.dataset.recon = String(post.recon);
    elbo.dataset.kl = String(post.kl);
    elbo.dataset.elbo = String(post.elbo);
    $('elbo-recon').textContent = `${fmt(post.recon)} nats`;
    $('elbo-kl').textContent = `${fmt(post.kl)} nats`;
    $('elbo-value').textContent = `${fmt(post.elbo)} nats`;
    ns.paintGrey($('input-preview'), post.input);
    ns.paintGrey($('reconstruction'), post.reconstruction);
  }

  start();
})(self.VaeExplorer = self.VaeExplorer || {});

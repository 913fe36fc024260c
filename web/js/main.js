// main.js — wires the models, the latent plane, the comparison views and the upload together.
(function (ns) {
  'use strict';

  const DEFAULT_MODEL = 'vae';
  const GRID_CELLS = 20;       // manifold grid: GRID_CELLS² decodings
  const GRID_RANGE = 3;        // … over [−GRID_RANGE, GRID_RANGE]²
  const PRIOR_SAMPLES = 16;    // prior samples per click, shown 4 × 4
  const INTERPOLATION_STEPS = 10;
  const MAP_CELLS = 64;        // aggregate-posterior map: MAP_CELLS² cells …
  const MAP_RANGE = 4;         // … over the whole plane
  const CONTINUITY_CELLS = 49; // continuity map: grid points over [−GRID_RANGE, GRID_RANGE]²
  /** log₂ q/p → colour: red where codes crowd, blue in holes, clear where they agree. */
  const divergingColor = (v) => {
    if (!Number.isFinite(v)) return [0, 0, 0, 0];
    const t = Math.max(-1, Math.min(1, v / 4));
    return t > 0 ? [214, 39, 40, Math.round(200 * t)] : [31, 119, 180, Math.round(-200 * t)];
  };
  const $ = (id) => document.getElementById(id);
  const fmt = (v, digits = 2) => Number(v).toFixed(digits);

  const LAYERS = ['prior', 'grid', 'scatter', 'aggregate', 'continuity'];
  const FRAGMENT_DELAY_MS = 250; // the URL fragment follows the view at most this often

  /** Reads `#model=…&z=x,y&layers=a,b` into {model, z, layers} (missing parts are undefined). */
  function readFragment() {
    const params = new URLSearchParams(location.hash.slice(1));
    const z = (params.get('z') || '').split(',').map(Number);
    return {
      model: params.get('model') || undefined,
      z: z.length === 2 && z.every(Number.isFinite) ? { x: z[0], y: z[1] } : undefined,
      layers: params.has('layers') ? params.get('layers').split(',').filter((l) => LAYERS.includes(l)) : undefined,
    };
  }

  /** Saves `canvas` as a PNG download, scaled up `scale`× with crisp pixels. */
  function savePng(canvas, name, scale) {
    const out = document.createElement('canvas');
    out.width = canvas.width * scale;
    out.height = canvas.height * scale;
    const ctx = out.getContext('2d');
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(canvas, 0, 0, out.width, out.height);
    const link = document.createElement('a');
    link.href = out.toDataURL('image/png');
    link.download = name;
    link.click();
  }

  function setStatus(text, isError = false) {
    const el = $('status');
    el.textContent = text;
    el.classList.toggle('error', isError);
  }

  /** A labelled canvas in a `.tiles` container. */
  function tile(container, label, width, height, className = '') {
    const fig = document.createElement('figure');
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    canvas.className = className;
    canvas.dataset.model = label;
    const cap = document.createElement('figcaption');
    cap.textContent = label;
    fig.append(canvas, cap);
    container.append(fig);
    return canvas;
  }

  async function start() {
    // The default model is compiled into the wasm module: it draws the first image. The others
    // load after that, each joining the model switch and the comparisons as it arrives.
    const models = new Map();
    let model;
    try {
      model = await ns.loadModel(DEFAULT_MODEL);
    } catch (err) {
      setStatus(`Could not load the model: ${err.message || err}`, true);
      return;
    }
    let lastImage = null;       // the last encoded upload, re-encoded when the model changes
    let sampleSeed = 1;

    const select = $('model');
    const compare = new Map(); // model name → its canvas context in the same-z comparison
    function addModel(name, m) {
      models.set(name, m);
      const opt = document.createElement('option');
      opt.value = name;
      opt.textContent = m.info.kind === 'ae' ? `${name} (plain autoencoder)` : `${name} (VAE, β = ${m.info.beta})`;
      select.append(opt);
      compare.set(name, tile($('compare'), name, 28, 28).getContext('2d'));
    }
    addModel(DEFAULT_MODEL, model);
    select.value = DEFAULT_MODEL;
    const decodedCtx = $('decoded').getContext('2d');
    const miniCtx = $('decoded-mini').getContext('2d');
    let pending = null; // the latest point to decode; decoding happens once per animation frame
    let fragmentTimer = null;
    function scheduleFragment() {
      clearTimeout(fragmentTimer);
      fragmentTimer = setTimeout(() => {
        const z = plane.getPoint();
        const layers = LAYERS.filter((l) => $(`layer-${l}`).checked).join(',');
        try {
          history.replaceState(null, '', `#model=${encodeURIComponent(select.value)}&z=${z.x.toFixed(3)},${z.y.toFixed(3)}&layers=${layers}`);
        } catch (_) { /* some file:// setups refuse; the view still works */ }
      }, FRAGMENT_DELAY_MS);
    }

    const plane = ns.createLatentPlane($('latent-plane'), (z) => {
      pending = z;
      scheduleFragment();
      $('z1').textContent = fmt(z.x);
      $('z2').textContent = fmt(z.y);
      $('prior-density').textContent = `prior density p(z) = ${(Math.exp(-(z.x * z.x + z.y * z.y) / 2) / (2 * Math.PI)).toExponential(2)}`;
    });

    // HUD: time of the last decode (all models, with drawing) and frames per second.
    let frames = 0, fpsSince = performance.now(), fps = 0, decodeMs = 0;
    function frame(now) {
      if (pending) {
        const z = pending;
        pending = null;
        try {
          const t0 = performance.now();
          const image = model.decodeImageData(z.x, z.y);
          decodedCtx.putImageData(image, 0, 0);
          miniCtx.putImageData(image, 0, 0);
          for (const [name, ctx] of compare) ctx.putImageData(models.get(name).decodeImageData(z.x, z.y), 0, 0);
          decodeMs = (performance.now() - t0) / (1 + compare.size);
        } catch (err) {
          setStatus(`Decoding failed: ${err.message || err}`, true);
        }
      }
      frames++;
      if (now - fpsSince >= 500) {
        fps = (1000 * frames) / (now - fpsSince);
        frames = 0;
        fpsSince = now;
        $('hud').textContent = `${decodeMs.toFixed(2)} ms/decode · ${Math.round(fps)} fps`;
      }
      requestAnimationFrame(frame);
    }
    requestAnimationFrame(frame);

    function describeModel() {
      const info = model.info;
      const figures = info.kind === 'ae'
        ? `test reconstruction ${fmt(info.test_recon)} nats (no KL term, so no ELBO)`
        : `test ELBO ${fmt(-(info.test_recon + info.test_kl))} nats (reconstruction ${fmt(info.test_recon)} + KL ${fmt(info.test_kl)})`;
      $('model-info').textContent = `Model “${info.name}”: ${info.kind.toUpperCase()}${info.kind === 'ae' ? '' : `, β = ${info.beta}`}, ` +
        `${info.epochs} epochs on ${info.dataset}; ${figures}.`;
    }

    const layerCache = new Map();
    /** A layer picture for the current model, computed once per model. */
    function cached(layer, make) {
      const key = `${select.value}:${layer}`;
      if (!layerCache.has(key)) layerCache.set(key, make());
      return layerCache.get(key);
    }

    function updateLayers() {
      const on = (id) => $(`layer-${id}`).checked;
      for (const id of ['grid', 'scatter', 'aggregate', 'continuity']) $(`${id}-explain`).hidden = !on(id);
      try {
        plane.setLayer('grid', on('grid') ? cached('grid', () => {
          const img = model.decodeGrid(GRID_CELLS, GRID_RANGE);
          const canvas = document.createElement('canvas');
          canvas.width = img.width;
          canvas.height = img.height;
          canvas.getContext('2d').putImageData(img, 0, 0);
          return canvas;
        }) : null, GRID_RANGE + GRID_RANGE / (GRID_CELLS - 1)); // tiles are centred on grid points

        const posteriors = model.testPosteriors();
        plane.setScatter(on('scatter') && posteriors.length ? posteriors : null);
        $('legend').hidden = !on('scatter');

        plane.setLayer('aggregate', on('aggregate') && posteriors.length ? cached('aggregate',
          () => ns.heatmapCanvas(model.aggregateVsPrior(MAP_CELLS, MAP_RANGE), MAP_CELLS, divergingColor)) : null,
        MAP_RANGE, { alpha: 1, smooth: true });

        plane.setLayer('continuity', on('continuity') ? cached('continuity', () => {
          const rates = model.continuityMap(CONTINUITY_CELLS, GRID_RANGE);
          const max = rates.reduce((m, v) => Math.max(m, v), 1e-6);
          return ns.heatmapCanvas(rates, CONTINUITY_CELLS, (v) => {
            const t = Math.min(1, v / max);
            return [255, Math.round(200 * (1 - t)), 0, Math.round(230 * Math.sqrt(t))];
          });
        }) : null, GRID_RANGE + GRID_RANGE / (CONTINUITY_CELLS - 1), { alpha: 1, smooth: true });
      } catch (err) {
        setStatus(`Could not draw a layer: ${err.message || err}`, true);
      }
    }

    const legend = $('legend');
    ns.DIGIT_COLORS.forEach((color, digit) => {
      const span = document.createElement('span');
      span.style.setProperty('--swatch', color);
      span.textContent = String(digit);
      legend.append(span);
    });

    function sampleFromPrior() {
      const zs = ns.samplePrior(PRIOR_SAMPLES, sampleSeed++);
      const box = $('samples');
      box.replaceChildren();
      for (const [name, m] of models) {
        const canvas = tile(box, name, 112, 112, 'sheet');
        canvas.getContext('2d').putImageData(m.decodeTiles(zs, 4), 0, 0);
      }
      $('samples-explain').hidden = false;
      plane.setSamples(zs);
    }

    const ends = { a: null, b: null };
    function updateInterpolation() {
      plane.setSegment(ends.a, ends.b);
      const box = $('interpolation');
      box.replaceChildren();
      if (!ends.a || !ends.b) return;
      const zs = ns.interpolate(ends.a, ends.b, INTERPOLATION_STEPS);
      for (const [name, m] of models) {
        tile(box, name, 28 * INTERPOLATION_STEPS, 28, 'strip10').getContext('2d').putImageData(m.decodeTiles(zs, INTERPOLATION_STEPS), 0, 0);
      }
      $('interpolation-explain').hidden = false;
    }
    $('set-a').addEventListener('click', () => { ends.a = plane.getPoint(); updateInterpolation(); });
    $('set-b').addEventListener('click', () => { ends.b = plane.getPoint(); updateInterpolation(); });

    function encode(image, label) {
      const post = model.encodeImage(image.rgba, image.width, image.height);
      showPosterior(post, model.info);
      $('posterior-samples').getContext('2d').putImageData(model.decodeTiles(post.samples, 8), 0, 0);
      plane.setPosterior(post.sigma[0] > 0 ? post : null);
      plane.setPoint({ x: post.mu[0], y: post.mu[1] });
      setStatus(`Encoded “${label}” with ${model.info.name}` +
        `${post.inverted ? ' (dark ink on light paper: inverted to MNIST’s white on black)' : ''}.`);
    }

    select.addEventListener('change', () => {
      model = models.get(select.value);
      scheduleFragment();
      describeModel();
      updateLayers();
      pending = plane.getPoint();
      if (lastImage) {
        try { encode(lastImage, lastImage.name); } catch (err) { setStatus(`Could not encode: ${err.message || err}`, true); }
      }
    });
    for (const id of ['grid', 'scatter', 'aggregate', 'continuity']) $(`layer-${id}`).addEventListener('change', updateLayers);
    $('layer-prior').addEventListener('change', () => plane.showPrior($('layer-prior').checked));
    for (const id of LAYERS) $(`layer-${id}`).addEventListener('change', scheduleFragment);
    $('save-decoded').addEventListener('click', () => {
      const z = plane.getPoint();
      savePng($('decoded'), `${select.value}-z${z.x.toFixed(2)},${z.y.toFixed(2)}.png`, 10);
    });
    $('save-plane').addEventListener('click', () => savePng($('latent-plane'), `${select.value}-latent-plane.png`, 1));
    $('sample-prior').addEventListener('click', sampleFromPrior);

    let uploadSeq = 0; // only the latest upload is shown when several decode at once
    ns.attachUpload($('upload'), async (file) => {
      const seq = ++uploadSeq;
      setStatus(`Encoding “${file.name}”…`);
      try {
        const image = await ns.fileToRgba(file);
        if (seq !== uploadSeq) return;
        image.name = file.name;
        encode(image, file.name);
        lastImage = image;
      } catch (err) {
        if (seq === uploadSeq) setStatus(`Could not encode “${file.name}”: ${err.message || err}`, true);
      }
    });

    const pad = ns.createDrawPad($('draw'), (image) => {
      image.name = 'your drawing';
      try {
        encode(image, image.name);
        lastImage = image;
      } catch (err) {
        // Mid-stroke "no ink yet" is expected; say it quietly.
        setStatus(`Drawing: ${err.message || err}`);
      }
    });
    $('draw-clear').addEventListener('click', () => { pad.clear(); });

    // Restore the view from the URL fragment (model, point, layers), if any; a model that is
    // not loaded yet is selected when it arrives.
    const restored = readFragment();
    if (restored.layers) {
      for (const id of LAYERS) $(`layer-${id}`).checked = restored.layers.includes(id);
      plane.showPrior($('layer-prior').checked);
    }
    updateLayers();
    describeModel();
    const range = plane.range;
    const clamp = (t) => Math.max(-range, Math.min(range, t));
    plane.setPoint(restored.z ? { x: clamp(restored.z.x), y: clamp(restored.z.y) } : { x: 0, y: 0 });
    // Time to interactive, for the benchmark: page start → first decoded image on screen.
    requestAnimationFrame(() => { document.body.dataset.readyMs = performance.now().toFixed(1); });
    setStatus('Ready: drag the point, or encode an image.');

    for (const name of ns.modelNames()) {
      if (models.has(name)) continue;
      try {
        addModel(name, await ns.loadModel(name));
      } catch (err) {
        setStatus(`Could not load the model “${name}”: ${err.message || err}`, true);
        continue;
      }
      pending = plane.getPoint(); // draw the current point in the new comparison tile
      if (name === restored.model) {
        select.value = name;
        select.dispatchEvent(new Event('change'));
      }
    }
    document.body.dataset.ready = 'true'; // every model is loaded
  }

  function showPosterior(post, info) {
    const el = $('posterior');
    el.hidden = false;
    el.dataset.mu = `${post.mu[0]},${post.mu[1]}`;
    el.dataset.sigma = `${post.sigma[0]},${post.sigma[1]}`;
    $('mu').textContent = `${fmt(post.mu[0])}, ${fmt(post.mu[1])}`;
    $('sigma').textContent = info.kind === 'ae' ? '— (an AE encodes a point, not a distribution)'
      : `${fmt(post.sigma[0], 3)}, ${fmt(post.sigma[1], 3)}`;
    const elbo = $('elbo');
    elbo.dataset.recon = String(post.recon);
    elbo.dataset.kl = String(post.kl);
    elbo.dataset.elbo = String(post.elbo);
    $('elbo-recon').textContent = `${fmt(post.recon)} nats (test mean ${fmt(info.test_recon)})`;
    $('elbo-kl').textContent = `${fmt(post.kl)} nats (test mean ${fmt(info.test_kl)})`;
    $('elbo-value').textContent = `${fmt(post.elbo)} nats (test mean ${fmt(-(info.test_recon + info.test_kl))})`;
    elbo.dataset.iwae = post.iwae == null ? '' : String(post.iwae);
    $('elbo-iwae').textContent = post.iwae == null ? '— (an AE defines no p(x))' : `${fmt(post.iwae)} nats`;
    ns.paintGrey($('input-preview'), post.input);
    ns.paintGrey($('reconstruction'), post.reconstruction);
  }

  start();
})(self.VaeExplorer = self.VaeExplorer || {});

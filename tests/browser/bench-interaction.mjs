// What `cargo xtask bench` measures about interaction and in-page training: main-thread work
// per pointer move (Chrome's own counters, not frame intervals), training speed in the page, and
// TensorFlow.js training the same model in the same browser. Figures only; nothing asserted.
import { readFileSync, existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { ROOT, serveWeb, trainingStatus as trainStatus } from './harness.mjs';

/** Digits the TF.js peer trains on: the first 10,000 MNIST training images (those the page's pack holds). */
const PEER_TRAIN_IMAGES = 10_000;
/** Drags per drag-work figure (of 100 moves each, as issue 15 measured it: 3 × 100). */
const DRAG_ROUNDS = 3;
/** Moves at the start of each drag left out of the figures. */
const WARM_UP_MOVES = 5;

/**
 * Main-thread time of each pointer move over `selector` in `rounds` drags of `moves` moves each
 * (button held): Chrome's TaskDuration and ScriptDuration counters (Performance.getMetrics) read
 * before a move and after the frame it causes has run. Each move waits for its frame, so the
 * figures are per move, and the same procedure on an empty page gives the cost of the measuring
 * itself and of input dispatch. Several drags, so one burst from a neighbour on a shared machine
 * weighs less in the tail. `cpu` is the main thread's own CPU time per move (ThreadTime): where a
 * move's `work` is much longer, the thread was waiting for a core, not working.
 * @returns {Promise<{work: number[], script: number[], cpu: number[]}>} milliseconds per move
 */
export async function dragWork(page, selector, moves = 100, rounds = DRAG_ROUNDS) {
  const { read: metrics, detach } = await mainThreadCounters(page);
  await page.locator(selector).scrollIntoViewIfNeeded();
  const box = await page.locator(selector).boundingBox();
  const work = [], script = [], cpu = [];
  for (let round = 0; round < rounds; round++) {
    await page.mouse.move(...dragPoint(box, 0));
    await page.mouse.down();
    for (let i = 1; i <= moves; i++) {
      const spent = await frameWork(page, metrics, () => page.mouse.move(...dragPoint(box, i)));
      if (i <= WARM_UP_MOVES) continue; // the first moves of a drag warm caches up
      work.push(spent.task);
      script.push(spent.script);
      cpu.push(spent.cpu);
    }
    await page.mouse.up();
  }
  await detach();
  return { work, script, cpu };
}

/** The i-th point of the benchmark's drag path over `box` (a Lissajous loop inside it). */
function dragPoint(box, i) {
  return [box.x + box.width * (0.5 + 0.35 * Math.cos(i / 20)), box.y + box.height * (0.5 + 0.35 * Math.sin(i / 13))];
}

/**
 * Main-thread time (ms) of `act` (an input event) and the frame it causes: Chrome's counters
 * read before it and after that frame has run.
 * @param {() => Promise<unknown>} act
 * @returns {Promise<{task: number, script: number, cpu: number}>}
 */
async function frameWork(page, metrics, act) {
  const before = await metrics();
  await act();
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0))));
  const after = await metrics();
  return { task: 1000 * (after.task - before.task), script: 1000 * (after.script - before.script), cpu: 1000 * (after.cpu - before.cpu) };
}

/**
 * Main-thread time of a zoom step on the plane (one wheel notch over it, with every layer the
 * page has on), read as {@link dragWork} reads a move: from the wheel event to the end of the
 * frame it causes. The layers' pictures for the new window are made afterwards, between frames;
 * `refinedMs` is how long after each step the last of them was done (`data-refining` empty).
 * Zooms in `steps` notches about a point, then back out.
 * @returns {Promise<{work: number[], refinedMs: number[]}>}
 */
export async function zoomWork(page, steps = 12) {
  const { read: metrics, detach } = await mainThreadCounters(page);
  const box = await page.locator('#latent-plane').boundingBox();
  await page.mouse.move(box.x + box.width * 0.55, box.y + box.height * 0.4);
  const work = [], refinedMs = [];
  for (const direction of [-1, 1]) {
    for (let i = 0; i < steps; i++) {
      let t0 = 0;
      const step = () => { t0 = Date.now(); return page.mouse.wheel(0, direction * 100); };
      work.push((await frameWork(page, metrics, step)).task);
      await page.waitForFunction(() => !document.getElementById('latent-plane').dataset.refining, null, { polling: 10 });
      refinedMs.push(Date.now() - t0);
    }
  }
  await page.click('#plane-zoom-reset');
  await detach();
  return { work, refinedMs };
}

/**
 * Chrome's counters of `page`'s main thread (Performance.getMetrics), in seconds: TaskDuration,
 * ScriptDuration and ThreadTime (its own CPU time) as `task`, `script` and `cpu`.
 */
async function mainThreadCounters(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  return {
    async read() {
      const { metrics: list } = await cdp.send('Performance.getMetrics');
      const value = (name) => list.find((m) => m.name === name)?.value ?? 0;
      return { task: value('TaskDuration'), script: value('ScriptDuration'), cpu: value('ThreadTime') };
    },
    detach: () => cdp.detach(),
  };
}

/** The same drag over a bare canvas of the plane's size: what measuring and input dispatch cost alone. */
export async function emptyPageDragWork(browser, size) {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  await page.setContent(`<canvas id="plane" width="${size}" height="${size}" style="width:${size}px;height:${size}px"></canvas>`);
  const figures = await dragWork(page, '#plane');
  await page.close();
  return figures;
}

/**
 * The floor under the explorer's drag figure: a bare page that makes the changes the explorer
 * makes per move and nothing else — its point's ring shifted (a layer of its own, as in the
 * explorer), the three numbers under the plane rewritten (fixed-size boxes, as there), and a new
 * 28×28 image put into each decoded canvas the explorer shows, at the sizes it shows them, once
 * per frame. No decoding, no layers, no other panels. What these changes cost the browser here,
 * above the empty page, no code of ours can remove; the explorer's figure above it is ours.
 * @param {import('playwright-core').Browser} browser
 * @param {import('playwright-core').Page} explorer the explorer, whose sizes the bare page copies
 */
export async function floorPageDragWork(browser, explorer) {
  const layout = await explorer.evaluate(() => {
    const size = (el) => { const r = el.getBoundingClientRect(); return { w: r.width, h: r.height }; };
    const shown = [...document.querySelectorAll('#decoded, #decoded-mini, #compare canvas')].filter((c) => c.getClientRects().length > 0);
    return { plane: size(document.getElementById('latent-plane')), ring: size(document.querySelector('.plane-point')), canvases: shown.map(size) };
  });
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  await page.setContent(floorPageHtml(layout));
  const figures = await dragWork(page, '#plane');
  await page.close();
  return figures;
}

/** The floor page's markup and script (see {@link floorPageDragWork}). */
function floorPageHtml({ plane, ring, canvases }) {
  const digits = canvases.map(({ w, h }) => `<canvas width="28" height="28" style="width:${w}px;height:${h}px;image-rendering:pixelated"></canvas>`).join('');
  return `<style>.num { display: inline-block; contain: strict; height: 1lh; width: 8ch; vertical-align: bottom; text-align: right; }
  #ring { position: absolute; top: 0; left: 0; pointer-events: none; border-radius: 50%; border: 2px solid #1f6fd2; will-change: transform;
    box-shadow: 0 0 0 2px #fff, inset 0 0 0 1px #fff; width: ${ring.w - 4}px; height: ${ring.h - 4}px; }</style>
  <div style="position:relative"><canvas id="plane" width="${Math.round(plane.w)}" height="${Math.round(plane.h)}" style="width:${plane.w}px;height:${plane.h}px"></canvas><div id="ring"></div></div>
  <p>z = (<span class="num">0.00</span>, <span class="num">0.00</span>) · p(z) = <span class="num"></span></p>${digits}
  <script>
    const plane = document.getElementById('plane'), ring = document.getElementById('ring');
    const numbers = [...document.querySelectorAll('.num')];
    const contexts = [...document.querySelectorAll('canvas:not(#plane)')].map((c) => c.getContext('2d'));
    const image = new ImageData(28, 28);
    let dragging = false, point = null;
    plane.addEventListener('pointerdown', (e) => { dragging = true; plane.setPointerCapture(e.pointerId); });
    plane.addEventListener('pointerup', () => { dragging = false; });
    plane.addEventListener('pointermove', (e) => {
      if (!dragging) return;
      point = { x: e.offsetX, y: e.offsetY };
      numbers[0].textContent = (point.x / 60).toFixed(2);
      numbers[1].textContent = (point.y / 60).toFixed(2);
      numbers[2].textContent = Math.exp(-point.x / 100).toExponential(2);
    });
    function frame() {
      if (point) {
        image.data.fill(point.x & 255);
        for (const ctx of contexts) ctx.putImageData(image, 0, 0);
        ring.style.transform = 'translate(' + (point.x - ${ring.w / 2}) + 'px, ' + (point.y - ${ring.h / 2}) + 'px)';
        point = null;
      }
      requestAnimationFrame(frame);
    }
    requestAnimationFrame(frame);
  </script>`;
}

/**
 * Main-thread time per second of `page` left alone for `seconds` (Chrome's TaskDuration): what
 * the page costs a laptop's battery while the user reads rather than drags.
 * @returns {Promise<number>} milliseconds per second
 */
export async function idleWork(page, seconds = 5) {
  const counters = await mainThreadCounters(page);
  const before = await counters.read();
  await page.waitForTimeout(seconds * 1000);
  const ms = (1000 * ((await counters.read()).task - before.task)) / seconds;
  await counters.detach();
  return ms;
}

/** Reads #train-status's figures as numbers. */
/**
 * Starts training in the explorer `page` (its defaults: VAE, batch 128) and measures, over
 * `seconds` once the first steps are behind it, images per second two ways: by the wall clock
 * (training and its live views: test codes, test figures, snapshots), and by the Worker's own
 * clock around the training steps alone (what TensorFlow.js's figure compares with). Training
 * goes on when this returns.
 */
export async function inPageTraining(page, seconds = 15) {
  await page.click('#train-start');
  const started = Date.now();
  while (!((await trainStatus(page)).step >= 10)) {
    if (Date.now() - started > 120_000) throw new Error('training in the page did not start');
    await page.waitForTimeout(200);
  }
  const batch = Number(await page.locator('#train-batch').inputValue());
  const a = { step: (await trainStatus(page)).step, t: Date.now() };
  const stepsOnly = [];
  for (let s = 0; s < seconds; s++) {
    await page.waitForTimeout(1000);
    stepsOnly.push((await trainStatus(page)).imagesPerS);
  }
  const b = { step: (await trainStatus(page)).step, t: Date.now() };
  stepsOnly.sort((x, y) => x - y);
  return {
    imagesPerS: ((b.step - a.step) * batch * 1000) / (b.t - a.t),
    stepImagesPerS: stepsOnly[Math.floor(stepsOnly.length / 2)],
    steps: b.step - a.step,
    batch,
  };
}

/** The first 10,000 MNIST training images as bytes, from VAE_DATA_DIR or ../shared/data/mnist; null if absent. */
function mnistTrainImages() {
  const dir = process.env.VAE_DATA_DIR || join(ROOT, '..', 'shared', 'data', 'mnist');
  for (const name of ['train-images-idx3-ubyte', 'train-images-idx3-ubyte.gz']) {
    const file = join(dir, name);
    if (!existsSync(file)) continue;
    const bytes = name.endsWith('.gz') ? gunzipSync(readFileSync(file)) : readFileSync(file);
    return bytes.subarray(16, 16 + PEER_TRAIN_IMAGES * 784); // after the IDX header
  }
  return null;
}

/**
 * TensorFlow.js 4.22 training the same VAE on the same digits (tests/browser/peer/tfjs.html), in
 * a page of `browser`, on its `wasm` and `cpu` backends. Null with a reason when it cannot run.
 */
export async function tfjsPeer(browser, peerDir) {
  if (!existsSync(join(peerDir, 'node_modules/@tensorflow/tfjs-backend-wasm'))) {
    return { skipped: 'TensorFlow.js peer (run `cargo xtask bench`: it installs tests/browser/peer)' };
  }
  const images = mnistTrainImages();
  if (!images) return { skipped: 'TensorFlow.js peer: no MNIST training images (set VAE_DATA_DIR)' };
  const server = await serveWeb(peerDir);
  const page = await browser.newPage();
  await page.route('**/mnist-train.bin', (route) => route.fulfill({ body: Buffer.from(images), contentType: 'application/octet-stream' }));
  await page.goto(`${server.url}tfjs.html`);
  try {
    return await page.evaluate(async () => {
      const bytes = new Uint8Array(await (await fetch('mnist-train.bin')).arrayBuffer());
      const grey = Float32Array.from(bytes, (v) => v / 255);
      const wasm = await self.trainPeer('wasm', grey, { seconds: 15 });
      const cpu = await self.trainPeer('cpu', grey, { seconds: 15, warmup: 1 });
      return { wasm, cpu };
    });
  } finally {
    await page.close();
    await server.close();
  }
}

/**
 * Milliseconds from an action in the page to the end of the frame after it, in the page's clock:
 * `model` switches the model switch to `arg`, `layer` clicks the toggle of layer `arg`. With
 * `full`, `{ms, fullMs}`: fullMs is until the layers made between frames are done (no
 * `#latent-plane[data-refining]`), while frames go on.
 */
function inPageLatency(page, kind, arg, full = false) {
  return page.evaluate(async ({ kind, arg, full }) => {
    const t0 = performance.now();
    if (kind === 'model') {
      const select = document.getElementById('model');
      select.value = arg;
      select.dispatchEvent(new Event('change'));
    } else document.getElementById(`layer-${arg}`).click();
    await new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
    const ms = performance.now() - t0;
    if (!full) return ms;
    while (document.getElementById('latent-plane').dataset.refining) await new Promise((done) => requestAnimationFrame(done));
    return { ms, fullMs: performance.now() - t0 };
  }, { kind, arg, full });
}

/**
 * Arms a timer in the page: from the first `event` on `start` to the frame after the next change
 * of attribute `attribute` on `done`. `read()` resolves to the milliseconds.
 */
async function armLatency(page, start, event, done, attribute) {
  await page.evaluate(({ start, event, done, attribute }) => {
    self.__latency = new Promise((resolve) => {
      let t0 = null;
      document.querySelector(start).addEventListener(event, () => { t0 ??= performance.now(); }, { capture: true, once: true });
      const observer = new MutationObserver(() => {
        if (t0 == null) return;
        observer.disconnect();
        requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0));
      });
      observer.observe(document.querySelector(done), { attributes: true, attributeFilter: [attribute] });
    });
  }, { start, event, done, attribute });
  return {
    read: () => new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`no change of ${attribute} on ${done} within 15 s of ${event} on ${start}`)), 15_000);
      page.evaluate(() => self.__latency).then((ms) => { clearTimeout(timer); ok(ms); }, (err) => { clearTimeout(timer); fail(err); });
    }),
  };
}

/**
 * Latency of the interactions besides dragging, each repeated: switching model, turning on each
 * layer (the first round computes each model's pictures from scratch, the next two find them
 * cached), an upload to its posterior drawn, a drawing stroke to its posterior updated.
 * `digitPng` is an image of a digit.
 */
export async function interactionLatencies(page, models, digitPng) {
  const out = { switch: [], layer: {}, layerFromScratch: [], layerFull: [], upload: [], draw: [] };
  const layers = ['grid', 'aggregate', 'continuity', 'scatter', 'prior'];
  for (const id of layers) await page.uncheck(`#layer-${id}`);
  for (let round = 0; round < 3; round++) {
    for (const name of models) {
      out.switch.push(await inPageLatency(page, 'model', name));
      for (const id of layers) {
        // The first round computes each model's pictures; later rounds find them cached.
        if (round === 0) {
          const { ms, fullMs } = await inPageLatency(page, 'layer', id, true);
          out.layerFromScratch.push(ms);
          out.layerFull.push(fullMs);
        } else (out.layer[id] ||= []).push(await inPageLatency(page, 'layer', id));
        await inPageLatency(page, 'layer', id); // off again
      }
    }
  }
  for (let i = 0; i < 10; i++) {
    const upload = await armLatency(page, '#upload', 'change', '#posterior', 'data-mu');
    await page.setInputFiles('#upload', { name: `digit-${i}.png`, mimeType: 'image/png', buffer: digitPng });
    out.upload.push(await upload.read());
    out.draw.push(await strokeLatency(page));
  }
  return out;
}

/** A stroke on a cleared drawing pad: milliseconds from its first move to its posterior drawn. */
async function strokeLatency(page) {
  await page.locator('#draw').scrollIntoViewIfNeeded();
  const box = await page.locator('#draw').boundingBox();
  await page.click('#draw-clear');
  const stroke = await armLatency(page, '#draw', 'pointermove', '#posterior', 'data-mu');
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.2);
  await page.mouse.down();
  for (let k = 1; k <= 6; k++) await page.mouse.move(box.x + box.width * (0.5 - 0.03 * k), box.y + box.height * (0.2 + 0.1 * k));
  await page.mouse.up();
  return stroke.read();
}

/**
 * The true posterior's layer (the exact bound, computed in its Worker) after each upload of
 * `pngs`, with Chrome's CPU throttled `rate`× (`Emulation.setCPUThrottlingRate`; 4 is a
 * phone-class core): from the upload's `change` to `#exact[data-state]` first `coarse` (the first
 * picture, with the figures) and then `done` (the refined picture); the main thread's longest
 * stall meanwhile (the largest lateness of a 4 ms timer, from its first tick after the task that
 * encoded the image and started the job to `done`: any task of the page's, or a frame's work,
 * over that long, the bound's or not — the upload's address-bar update is one); then a drag over
 * the plane while each image's job runs (main-thread time per move, as {@link dragWork} reads it),
 * the drawing pad's stroke → posterior latency with the layer on, and the same drags with the
 * layer off (`dragAlone`, the peer).
 * @returns {Promise<{coarse: number[], done: number[], stall: number[], drag: number[], dragAlone: number[], draw: number[]}>}
 */
export async function boundFigures(page, pngs, rate = 1) {
  const out = { coarse: [], done: [], stall: [], drag: [], dragAlone: [], draw: [] };
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate });
  try {
    await page.check('#layer-true-posterior');
    for (const [i, png] of pngs.entries()) {
      await page.evaluate(() => {
        self.__bound = new Promise((resolve) => {
          const times = { t0: null, coarse: null, done: null, stall: 0 };
          let last = null;
          const tick = () => {
            const now = performance.now();
            if (last != null) times.stall = Math.max(times.stall, now - last - 4);
            last = now;
            if (times.done == null) setTimeout(tick, 4);
          };
          document.getElementById('upload').addEventListener('change', () => { times.t0 = performance.now(); }, { capture: true, once: true });
          const exact = document.getElementById('exact');
          let started = false;
          const watch = new MutationObserver(() => {
            if (times.t0 == null) return;
            // The job starts in the task that encoded the image: the probe's first tick is after it.
            if (exact.dataset.state === 'pending' && !started) {
              started = true;
              setTimeout(tick, 0);
            }
            const now = performance.now() - times.t0;
            if (exact.dataset.state === 'coarse' && times.coarse == null) times.coarse = now;
            if (exact.dataset.state === 'done') {
              times.done = now;
              watch.disconnect();
              resolve(times);
            }
          });
          watch.observe(exact, { attributes: true, attributeFilter: ['data-state'] });
        });
      });
      await page.setInputFiles('#upload', { name: `bound-${i}.png`, mimeType: 'image/png', buffer: png });
      const t = await page.evaluate(() => self.__bound);
      out.coarse.push(t.coarse ?? t.done);
      out.done.push(t.done);
      out.stall.push(t.stall);
    }
    out.drag = await dragWhileBound(page, pngs, true);
    for (let i = 0; i < 10; i++) out.draw.push(await strokeLatency(page));
    await page.uncheck('#layer-true-posterior');
    // The peer: the same drags after the same uploads with the layer off (no job at all).
    out.dragAlone = await dragWhileBound(page, pngs, false);
  } finally {
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
    await cdp.detach();
  }
  return out;
}

/**
 * Main-thread time per pointer move of a drag over the plane while the bound's job is under way
 * (`withBound`; else the same drags with the layer off, the peer): each image of `pngs` is
 * uploaded (outside the figures), then the plane is dragged DRAG_MOVES moves; with the bound only
 * the moves made before its job was done count. (On two cores or fewer the page holds the job's
 * steps while the pointer is down, so the job is then under way but paused.)
 * @returns {Promise<number[]>}
 */
async function dragWhileBound(page, pngs, withBound) {
  const DRAG_MOVES = 20;
  const { read: metrics, detach } = await mainThreadCounters(page);
  const box = await page.locator('#latent-plane').boundingBox();
  const work = [];
  const running = async () => !withBound || page.evaluate(() => document.getElementById('exact').dataset.state !== 'done');
  for (const [i, png] of [...pngs, ...pngs].entries()) {
    await page.setInputFiles('#upload', { name: `drag-${i}.png`, mimeType: 'image/png', buffer: png });
    await page.mouse.move(...dragPoint(box, 0));
    await page.mouse.down();
    for (let k = 1; k <= DRAG_MOVES && (await running()); k++) {
      const { task } = await frameWork(page, metrics, () => page.mouse.move(...dragPoint(box, k)));
      if (k > 2 && (await running())) work.push(task);
    }
    await page.mouse.up();
    if (withBound) await page.waitForFunction(() => document.getElementById('exact').dataset.state === 'done', null, { timeout: 60_000 });
  }
  await detach();
  return work;
}

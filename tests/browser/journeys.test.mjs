// The page's core journeys, one test body run in two engines (Chromium and Firefox ESR, see
// engines.mjs), over http and from file://: load and the first image, a drag, an upload and its
// posterior, the exact bound from its Worker, drawing, the model switch, wheel zoom about the pointer and zoom-to-posterior, a
// lesson step in Persian, training started and paused, and a `.vaew` opened. Each engine prints
// its version and which wasm build it runs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FILE_URL, ROOT, serveWeb } from './harness.mjs';
import { ENGINES, enginesToRun } from './engines.mjs';

/** A 3 in dark ink on light paper (made once with harness.mjs's renderTextPng): the same bytes for both engines. */
const THREE_PNG = readFileSync(join(ROOT, 'tests', 'browser', 'fixtures', 'three.png'));

/** The page's decoded image as a short fingerprint (its 784 grey values summed in 16 bands). */
const decodedFingerprint = (page) => page.evaluate(() => {
  const d = document.getElementById('decoded').getContext('2d').getImageData(0, 0, 28, 28).data;
  const bands = new Array(16).fill(0);
  for (let i = 0; i < 784; i++) bands[Math.floor(i / 49)] += d[4 * i];
  return bands.join(',');
});

/** `page.waitFor`, failing with what was awaited. */
async function until(page, what, fn, arg, timeout) {
  try {
    await page.waitFor(fn, arg, timeout);
  } catch (err) {
    throw new Error(`${page.engine}: waited in vain for ${what} (${err.message}); problems: ${page.problems.join('; ') || 'none'}`);
  }
}

/** Waits two animation frames. */
const frames = (page) => page.evaluate(() => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok))));

/** The window the plane shows. */
const planeWindow = async (page) => {
  const [cx, cy, half] = (await page.evaluate(() => document.getElementById('latent-plane').dataset.view)).split(',').map(Number);
  return { cx, cy, half };
};

for (const engine of enginesToRun()) {
  describe(`core journeys in ${engine}`, () => {
    let browser, server;
    before(async () => {
      browser = await ENGINES[engine].start();
      server = await serveWeb();
      console.log(`# ${engine}: ${browser.version}`);
    });
    after(async () => {
      await browser?.close();
      await server?.close();
    });

    for (const mode of ['http', 'file']) {
      test(`${engine} over ${mode}: load, drag, upload, draw, switch, zoom, lesson in Persian, training, open weights`, async () => {
        const base = mode === 'http' ? server.url : FILE_URL;
        const page = await browser.newPage();
        try {
          await journeys(page, base, engine);
        } finally {
          await page.close();
        }
      });
    }
  });
}

/** Every journey in turn on one page (and a second for the lesson in Persian). */
async function journeys(page, base, engine) {
  // Load: the first image, every shipped model, the build the engine validates.
  await page.goto(base);
  await until(page, 'the page ready', () => document.body.dataset.ready === 'true', undefined, 60_000);
  const build = await page.evaluate(() => VaeExplorer.wasmBuild());
  console.log(`# ${engine}: the page runs its ${build} build`);
  assert.deepEqual((await page.evaluate(() => VaeExplorer.modelNames())).sort(), ['ae', 'vae', 'vae-beta4', 'vae-mse']);
  const first = await decodedFingerprint(page);
  assert.notEqual(first, new Array(16).fill(0).join(','), 'the first image is drawn');

  // Drag: the decoded image and the coordinates follow the pointer.
  const plane = await page.box('#latent-plane');
  await page.mouse.move(plane.x + plane.width * 0.5, plane.y + plane.height * 0.5);
  await page.mouse.down();
  for (let i = 1; i <= 5; i++) await page.mouse.move(plane.x + plane.width * (0.5 + 0.05 * i), plane.y + plane.height * (0.5 - 0.04 * i));
  await page.mouse.up();
  await frames(page);
  assert.notEqual(await decodedFingerprint(page), first, 'a drag changes the decoded image');
  assert.ok(Number((await page.evaluate(() => document.getElementById('z1').textContent)).replace('\u2212', '-')) > 0.5, 'z₁ follows the drag');

  // Upload: a posterior, its ellipse, its ELBO terms.
  await page.upload('#upload', 'three.png', THREE_PNG);
  await until(page, 'the posterior of the upload', () => document.getElementById('posterior').dataset.mu);
  const sigma = (await page.evaluate(() => document.getElementById('posterior').dataset.sigma)).split(',').map(Number);
  assert.ok(sigma.every((s) => s > 0 && s < 1), `σ = ${sigma}`);

  // The exact bound, computed in a Worker of its own (a blob Worker handed the page's compiled
  // module): its figures arrive, ordered, and the refined picture after them.
  await page.click('#layer-true-posterior');
  await until(page, 'the exact bound of the upload', () => {
    const d = document.getElementById('exact').dataset;
    return d.state === 'done' && Boolean(d.logPx);
  }, undefined, 60_000);
  const exact = await page.evaluate(() => ({ ...document.getElementById('exact').dataset }));
  assert.ok(Number(exact.logPx) >= Number(exact.elbo) && Number(exact.gap) >= 0 && Number(exact.ms) > 0, `the bound: ${JSON.stringify(exact)}`);
  console.log(`# ${engine}: the upload's exact log p(x) ${Number(exact.logPx).toFixed(4)}, ELBO ${Number(exact.elbo).toFixed(4)}, ${exact.evaluations} decodes, ${exact.ms} ms`);
  await page.click('#layer-true-posterior');

  // Zoom to the posterior, then the wheel about the pointer keeps the latent point under it.
  await page.click('#plane-zoom-posterior');
  assert.ok((await planeWindow(page)).half < 0.5, 'zoom-to-posterior frames the ellipse');
  await page.click('#plane-zoom-reset');
  const box = await page.box('#latent-plane'); // where it is now (a click may have scrolled the page)
  const at = { x: Math.round(box.x + box.width * 0.3), y: Math.round(box.y + box.height * 0.6) };
  const latentAt = (w) => ({ x: w.cx + ((at.x - box.x) / box.width * 2 - 1) * w.half, y: w.cy + (1 - (at.y - box.y) / box.height * 2) * w.half });
  await page.mouse.move(at.x, at.y);
  const before = latentAt(await planeWindow(page));
  await page.mouse.wheel(-300);
  await until(page, 'the wheel to zoom', () => document.getElementById('latent-plane').dataset.view !== '0,0,4');
  const zoomed = await planeWindow(page);
  const after = latentAt(zoomed);
  assert.ok(zoomed.half < 4 && zoomed.half > 1, `one wheel gesture zooms by a step, not a jump (±${zoomed.half})`);
  assert.ok(Math.hypot(after.x - before.x, after.y - before.y) < 0.02, `the point under the pointer stays (${JSON.stringify(before)} → ${JSON.stringify(after)})`);
  await page.click('#plane-zoom-reset');

  // A trackpad pinch as Safari reports it (gesture events with a cumulative scale, no wheel):
  // the plane zooms about the fingers, and the page itself does not.
  await until(page, 'the reset view', () => document.getElementById('latent-plane').dataset.view === '0,0,4');
  const pinch = await page.evaluate(({ x, y }) => {
    const canvas = document.getElementById('latent-plane');
    const fire = (type, scale) => {
      const e = new Event(type, { bubbles: true, cancelable: true });
      Object.assign(e, { scale, clientX: x, clientY: y });
      canvas.dispatchEvent(e);
      return e.defaultPrevented;
    };
    return [fire('gesturestart', 1), fire('gesturechange', 1.5), fire('gesturechange', 2), fire('gestureend', 2)];
  }, at);
  assert.deepEqual(pinch, [true, true, true, true], 'each gesture event is the plane\'s, not a page zoom');
  const pinched = await planeWindow(page);
  const underFingers = latentAt(pinched);
  assert.ok(Math.abs(pinched.half - 2) < 1e-6, `a pinch to scale 2 halves the window (±${pinched.half})`);
  assert.ok(Math.hypot(underFingers.x - before.x, underFingers.y - before.y) < 0.02, 'the point under the fingers stays');
  await page.click('#plane-zoom-reset');

  // Drawing: a tap makes a dot and a posterior; a stroke changes it.
  await page.click('#draw-clear');
  const pad = await page.box('#draw');
  const muBefore = await page.evaluate(() => document.getElementById('posterior').dataset.mu);
  await page.mouse.move(pad.x + pad.width * 0.5, pad.y + pad.height * 0.3);
  await page.mouse.down();
  await page.mouse.up();
  await until(page, 'the posterior of a tap', (old) => document.getElementById('posterior').dataset.mu !== old, muBefore);
  const afterTap = await page.evaluate(() => document.getElementById('posterior').dataset.mu);
  await page.mouse.move(pad.x + pad.width * 0.3, pad.y + pad.height * 0.2);
  await page.mouse.down();
  for (let i = 1; i <= 6; i++) await page.mouse.move(pad.x + pad.width * (0.3 + 0.07 * i), pad.y + pad.height * (0.2 + 0.1 * i));
  await page.mouse.up();
  await until(page, 'the posterior of a stroke', (old) => document.getElementById('posterior').dataset.mu !== old, afterTap);

  // The model switch.
  const vaeImage = await decodedFingerprint(page);
  await page.select('select#model', 'ae');
  await frames(page);
  assert.notEqual(await decodedFingerprint(page), vaeImage, 'the AE decodes the same z differently');
  await page.select('select#model', 'vae');

  // Training starts in its Worker and pauses.
  await page.click('#train-start');
  await until(page, '20 training steps', () => Number(document.getElementById('train-status').dataset.step) >= 20, undefined, 60_000);
  await page.click('#train-pause');
  await until(page, 'the paused run', () => document.getElementById('train-status').dataset.state === 'paused');
  // The training panel's selects answer as a user picks: a Gaussian decoder enables its σₓ controls.
  await page.select('#train-likelihood', 'gaussian');
  await until(page, 'the σₓ controls enabled', () => !document.getElementById('train-sigma-mode').disabled && !document.getElementById('train-sigma-x').disabled);
  await page.select('#train-sigma-mode', 'learned');
  await until(page, 'a learned σₓ, its number disabled', () => document.getElementById('train-sigma-x').disabled);
  await page.select('#train-likelihood', 'bernoulli');

  // A .vaew opened with the button joins the switch.
  await page.upload('#open-weights', 'mine.vaew', readFileSync(join(ROOT, 'weights', 'vae-beta4.vaew')));
  await until(page, 'the opened model in the switch', () => [...document.querySelectorAll('select#model option')].some((o) => o.textContent.includes('mine.vaew')));
  assert.deepEqual(page.problems, []);

  // A lesson step in Persian, from the link: right to left, the step's Persian title.
  await page.goto(`${base}#lang=fa&lesson=3`);
  await until(page, 'the Persian lesson step', () => document.documentElement.dir === 'rtl' && document.getElementById('lesson').dataset.step === '3', undefined, 60_000);
  const title = await page.evaluate(() => document.getElementById('lesson-title').textContent);
  assert.match(title, /توزیع/, `the step's title is Persian (${title})`);
  assert.deepEqual(page.problems, []);
}

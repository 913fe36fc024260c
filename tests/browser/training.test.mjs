// Training in the page: a Worker runs vae-core's own training step on the packed MNIST digits;
// the figures, the live codes and the live model reach the page while it stays usable.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeIdxFromPack } from './files.mjs';
import { FILE_URL, ROOT, decodedPixels, latentToPage, meanAbsDiff, nextFrames, openExplorer, sharedBrowser, trainingStatus, waitForTraining } from './harness.mjs';

const shared = sharedBrowser();
const TRAINING_TIMEOUT = 120_000;

const status = trainingStatus;
const waitFor = (page, predicate, what, timeout = TRAINING_TIMEOUT) => waitForTraining(page, predicate, what, timeout);

/**
 * Runs in the page before its scripts: the page's Workers, as it makes them, are listed in
 * `self.trainingWorkers`, so a test can send one a message at a moment of its choosing (while the
 * pointer is down, say).
 */
/**
 * An init script that makes the page's navigator report `cores` cores (the Worker's own
 * navigator is left alone: it must follow the page's decision, sent in `init`).
 * @param {number} cores
 */
function coresSeen(cores) {
  return new Function(`Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', { get: () => ${cores}, configurable: true });`);
}

function exposeWorkers() {
  const PageWorker = self.Worker;
  self.trainingWorkers = [];
  self.Worker = class extends PageWorker {
    constructor(...args) {
      super(...args);
      self.trainingWorkers.push(this);
    }
  };
}

/** Sets the training controls and resets the run (figures at step 0 arrive). */
async function resetWith(page, { model = 'vae', beta = '1', lr = '0.001', seed = '3' } = {}) {
  await page.selectOption('#train-model', model);
  await page.fill('#train-beta', beta);
  await page.fill('#train-lr', lr);
  await page.fill('#train-seed', seed);
  await page.click('#train-reset');
  return waitFor(page, (s) => s.state === 'idle' && s.step === undefined && s.testStep === 0 && s.codesStep === 0, 'the reset run');
}

/** Trains from where the run is until at least `steps` steps, then pauses. */
async function trainUntil(page, steps) {
  await page.click('#train-start');
  await waitFor(page, (s) => s.step >= steps, `${steps} steps`);
  await page.click('#train-pause');
  return waitFor(page, (s) => s.state === 'paused' && s.testStep >= steps && s.codesStep >= steps, 'the paused figures');
}

for (const mode of ['http', 'file']) {
  describe(`training in the page over ${mode}`, () => {
    const url = () => (mode === 'http' ? shared.server.url : FILE_URL);

    test('training lowers the live model’s test −ELBO within a few hundred steps, and the live model joins the switch', async () => {
      const page = await openExplorer(shared.browser, url());
      const before = await resetWith(page);
      assert.ok(before.testElbo < -300, `an untrained model scores ${before.testElbo} nats`);
      const after = await trainUntil(page, 300);
      assert.ok(after.testElbo > before.testElbo + 60, `test ELBO ${before.testElbo} → ${after.testElbo} nats after ${after.step} steps`);
      assert.ok(after.imagesPerS > 0 && after.recon > 0 && after.kl > 0, JSON.stringify(after));
      assert.ok(Math.abs(after.elbo + after.recon + after.kl) < 1e-6 * Math.abs(after.elbo) + 1e-6);
      await page.waitForSelector('select#model option[value="live"]', { state: 'attached' });
      await page.selectOption('select#model', 'live');
      const z = await latentToPage(page, { x: 0.3, y: -0.2 });
      await page.mouse.click(z.x, z.y);
      await nextFrames(page);
      const ink = (await decodedPixels(page)).filter((v) => v > 128).length;
      assert.ok(ink > 10 && ink < 500, `the live model decodes ${ink} ink pixels`);
      assert.deepEqual(page.problems, []);
      await page.close();
    });
  });
}

describe('training in the page: what the KL term does', () => {
  test('raising β mid-run lowers the live KL; the change is marked and pause holds the step', async () => {
    const page = await openExplorer(shared.browser, shared.server.url);
    await resetWith(page, { beta: '1' });
    const low = await trainUntil(page, 150);
    await page.fill('#train-beta', '8');
    await page.dispatchEvent('#train-beta', 'change');
    const paused = (await status(page)).step;
    await page.waitForTimeout(500);
    assert.equal((await status(page)).step, paused, 'a paused run took steps');
    assert.equal(await page.locator('#train-chart').getAttribute('data-marks'), '1', 'the β change is marked on the chart');
    const high = await trainUntil(page, low.step + 150);
    assert.ok(high.kl < 0.8 * low.kl, `KL ${low.kl} at β = 1 → ${high.kl} nats at β = 8`);
    assert.deepEqual(page.problems, []);
    await page.close();
  });

  test('side by side, from the same weights on the same batches, the VAE’s codes sit closer to N(0, I) than the AE’s; switching models while it trains works', async () => {
    const page = await openExplorer(shared.browser, shared.server.url);
    await page.fill('#train-seed', '5');
    await page.click('#train-pair');
    assert.equal(await page.locator('#train-pair-view').isVisible(), true, 'the side-by-side view shows');
    await waitFor(page, (s) => s.step >= 60 && s.aeStep >= 60, 'both models training');
    // While both train, every model in the switch can be shown and dragged over.
    await page.waitForSelector('select#model option[value="live-ae"]', { state: 'attached' });
    const decoded = {};
    for (const name of ['live-ae', 'vae', 'live', 'ae']) {
      await page.selectOption('select#model', name);
      const z = await latentToPage(page, { x: 0.5, y: -0.5 });
      await page.mouse.move(z.x, z.y);
      await page.mouse.down();
      await page.mouse.move(z.x + 40, z.y - 30, { steps: 5 });
      await page.mouse.up();
      await nextFrames(page);
      decoded[name] = await decodedPixels(page);
    }
    // Each switch took effect: the same point decodes differently under each model.
    for (const [a, b] of [['live-ae', 'vae'], ['vae', 'live'], ['live', 'ae']]) {
      assert.ok(meanAbsDiff(decoded[a], decoded[b]) > 1, `${a} and ${b} decode the same image: the switch did not take`);
    }
    const s = await trainUntil(page, 250);
    const both = await waitFor(page, (t) => t.aeCodesStep === s.step && t.aeTestStep === s.step, 'the AE’s paused figures');
    assert.equal(both.aeStep, both.step, 'the two models take their steps in turn');
    assert.ok(both.codesMeanSquaredNorm < 4, `the VAE's codes have mean ‖μ‖² ${both.codesMeanSquaredNorm} (N(0, I): 2)`);
    assert.ok(both.aeCodesMeanSquaredNorm > 2 * both.codesMeanSquaredNorm,
      `mean ‖μ‖²: AE ${both.aeCodesMeanSquaredNorm}, VAE ${both.codesMeanSquaredNorm}`);
    assert.equal(both.aeKl, 0, 'an AE has no KL term');
    assert.ok(both.kl > 0, 'the VAE has one');
    // A single run (Reset) takes the side-by-side AE out of the switch.
    await page.click('#train-reset');
    await page.waitForSelector('select#model option[value="live-ae"]', { state: 'detached' });
    assert.equal(await page.locator('#train-pair-view').isVisible(), false);
    assert.deepEqual(page.problems, []);
    await page.close();
  });

  // The page decides whether the machine has few cores and tells the Worker (train-protocol.js):
  // with the page's navigator saying 2 cores the Worker holds its steps during a drag, with 8 it
  // trains on. Both branches run on any machine.
  for (const cores of [2, 8]) {
    test(`while the pointer is down on the plane, training ${cores <= 2 ? 'holds its steps' : 'goes on'} where the page sees ${cores} cores, and goes on once it is released`, async () => {
      const page = await openExplorer(shared.browser, shared.server.url, { beforeLoad: coresSeen(cores) });
      assert.equal(await page.evaluate(() => navigator.hardwareConcurrency), cores);
      await resetWith(page);
      await page.click('#train-start');
      await waitFor(page, (s) => s.step >= 5, 'training under way');
      await page.locator('#latent-plane').scrollIntoViewIfNeeded(); // the click on Start scrolled the page
      const z = await latentToPage(page, { x: 0, y: 0 });
      await page.mouse.move(z.x, z.y);
      await page.mouse.down();
      await page.waitForTimeout(400); // the slice in flight when the pointer went down ends
      const held = (await status(page)).step;
      await page.mouse.move(z.x + 30, z.y + 20, { steps: 10 });
      await page.waitForTimeout(1500);
      const during = (await status(page)).step - held;
      await page.mouse.up();
      await waitFor(page, (s) => s.step >= held + during + 5, 'training going on after the drag');
      await page.click('#train-pause');
      if (cores <= 2) assert.ok(during <= 1, `${during} steps while the pointer was down, the page seeing ${cores} cores`);
      else assert.ok(during >= 2, `${during} steps while the pointer was down, the page seeing ${cores} cores: only machines with ≤ 2 hold them`);
      assert.deepEqual(page.problems, []);
      await page.close();
    });
  }

  test('live codes that arrive during a drag wait until the pointer is up where the Worker holds its steps (≤ 2 cores)', async () => {
    const page = await openExplorer(shared.browser, shared.server.url, { beforeLoad: exposeWorkers });
    await resetWith(page);
    const paused = await trainUntil(page, 10);
    const planeHash = () => page.evaluate(() => {
      const c = /** @type {HTMLCanvasElement} */ (document.getElementById('latent-plane'));
      const rgba = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let h = 0;
      for (let i = 0; i < rgba.length; i++) h = (Math.imul(h, 31) + rgba[i]) | 0;
      return h;
    });
    await page.locator('#latent-plane').scrollIntoViewIfNeeded();
    const z = await latentToPage(page, { x: -0.5, y: 0.5 });
    await page.mouse.move(z.x, z.y);
    await page.mouse.down();
    await nextFrames(page);
    const before = await planeHash();
    // Five steps asked for while the pointer is down: each reports the live codes (the race this
    // guards against is a report sent just before the Worker heard of the drag).
    await page.evaluate(() => { for (let i = 0; i < 5; i++) self.trainingWorkers[0].postMessage({ type: 'step' }); });
    await waitFor(page, (s) => s.step >= paused.step + 5, 'the five steps');
    await page.waitForTimeout(300);
    await nextFrames(page);
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    const during = await status(page);
    if (cores <= 2) {
      assert.equal(during.codesStep, paused.codesStep, 'live codes applied during the drag');
      assert.equal(await planeHash(), before, 'the plane was drawn again during the drag');
    } else {
      assert.ok(during.codesStep >= paused.step + 5, `on ${cores} cores the codes go through at once`);
    }
    await page.mouse.up();
    await waitFor(page, (s) => s.codesStep >= paused.step + 5, 'the held codes after the pointer came up');
    await nextFrames(page);
    assert.notEqual(await planeHash(), before, 'the plane does not show the newer codes');
    assert.deepEqual(page.problems, []);
    await page.close();
  });

  test('a snapshot of the live model that arrives during a drag waits until the pointer is up', async () => {
    // The Worker is reached through a wrapped constructor, so the test can make it send a
    // snapshot while the pointer is down (the race this guards against: one sent just before the
    // Worker heard of the drag).
    const page = await openExplorer(shared.browser, shared.server.url, { beforeLoad: exposeWorkers });
    await resetWith(page);
    await trainUntil(page, 10);
    await page.waitForSelector('select#model option[value="live"]', { state: 'attached', timeout: TRAINING_TIMEOUT });
    await page.selectOption('#model', 'live');
    await page.locator('#latent-plane').scrollIntoViewIfNeeded();
    const z = await latentToPage(page, { x: 0.5, y: -0.5 });
    await page.mouse.move(z.x, z.y);
    await page.mouse.down();
    await nextFrames(page);
    const before = await decodedPixels(page);
    const stepped = (await status(page)).step;
    // Twenty more steps, then a snapshot for the explorer, while the pointer stays down.
    await page.evaluate(() => {
      const worker = self.trainingWorkers[0];
      for (let i = 0; i < 20; i++) worker.postMessage({ type: 'step' });
      worker.postMessage({ type: 'snapshot', name: 'live', purpose: 'live' });
    });
    await waitFor(page, (s) => s.step >= stepped + 20, 'the twenty steps');
    await page.waitForTimeout(500); // the snapshot follows the steps
    await nextFrames(page);
    assert.equal(meanAbsDiff(await decodedPixels(page), before), 0, 'the live model changed during the drag');
    await page.mouse.up();
    await page.waitForTimeout(300);
    await nextFrames(page);
    assert.ok(meanAbsDiff(await decodedPixels(page), before) > 0, 'the held snapshot was not applied once the pointer came up');
    assert.equal(await page.locator('select#model').inputValue(), 'live');
    assert.deepEqual(page.problems, []);
    await page.close();
  });

  test('a diverging run (learning rate 10) stops with a message and keeps the last good model', async () => {
    const page = await openExplorer(shared.browser, shared.server.url);
    await resetWith(page, { lr: '10' });
    await page.click('#train-start');
    const stopped = await waitFor(page, (s) => s.state === 'stopped', 'the run to stop');
    assert.match(await page.locator('#status').textContent(), /diverged .* lower the learning rate/);
    assert.ok(Number.isFinite(stopped.testElbo), `the kept model scores ${stopped.testElbo}`);
    await page.waitForTimeout(500);
    assert.equal((await status(page)).state, 'stopped');
    // The page goes on working: the plane still decodes.
    const z = await latentToPage(page, { x: -1, y: 1 });
    await page.mouse.click(z.x, z.y);
    assert.deepEqual(page.problems, []);
    await page.close();
  });

  test('memory stays flat while training runs (page and Worker), with the live model replaced every few seconds', async () => {
    const page = await openExplorer(shared.browser, shared.server.url);
    await resetWith(page);
    await page.selectOption('select#model', 'vae');
    await page.click('#train-start');
    await waitFor(page, (s) => s.step >= 100, '100 steps');
    const worker = page.workers()[0];
    assert.ok(worker, 'training runs in a Worker');
    const measure = async () => ({
      page: await page.evaluate(() => self.VaeExplorer.wasmMemoryBytes()),
      worker: await worker.evaluate(() => self.wasmExports.memory.buffer.byteLength),
      heap: await page.evaluate(() => (performance.memory ? performance.memory.usedJSHeapSize : 0)),
      live: await page.locator('select#model option[value="live"]').count(),
    });
    const start = await measure();
    const startStep = (await status(page)).step;
    await page.waitForTimeout(15_000); // six snapshots of the live model
    const end = await measure();
    assert.ok((await status(page)).step > startStep + 50, 'training went on');
    assert.equal(end.live, 1, 'one live model in the switch, replaced, not added');
    assert.ok(end.page <= start.page * 1.1 + 4 * 2 ** 20, `page wasm memory ${start.page} → ${end.page} bytes`);
    assert.ok(end.worker <= start.worker * 1.1 + 8 * 2 ** 20, `Worker wasm memory ${start.worker} → ${end.worker} bytes`);
    assert.ok(start.heap > 0, 'Chromium reports the page\'s JS heap (performance.memory)');
    assert.ok(end.heap < start.heap + 32 * 2 ** 20, `JS heap ${start.heap} → ${end.heap} bytes`);
    await page.click('#train-pause');
    assert.deepEqual(page.problems, []);
    await page.close();
  });

  test('“Download weights” saves a .vaew that `trainer eval` scores', async () => {
    const trainer = join(ROOT, 'target', 'debug', 'trainer');
    const page = await openExplorer(shared.browser, shared.server.url);
    await resetWith(page);
    await trainUntil(page, 100);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#train-download')]);
    const dir = await mkdtemp(join(tmpdir(), 'vae-live-'));
    try {
      const file = join(dir, 'live.vaew');
      await download.saveAs(file);
      // The digits the page trained on, as IDX files: the test needs no MNIST download.
      await writeIdxFromPack(join(ROOT, 'datasets', 'mnist.vaed.gz'), dir);
      const out = execFileSync(trainer, ['eval', '--weights', file, '--data-dir', dir, '--no-download', '--k', '4', '--limit', '200', '--json'], { encoding: 'utf8' });
      const report = JSON.parse(out.trim().split('\n').pop());
      assert.equal(report.kind, 'vae');
      assert.ok(report.elbo < -80 && report.elbo > -400, `trainer eval gives ELBO ${report.elbo}`);
      const log = report.training_log;
      assert.ok(log.length >= 1 && log.at(-1).step >= 100 && log.at(-1).beta === 1, `the training log in the header: ${JSON.stringify(log)}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    assert.deepEqual(page.problems, []);
    await page.close();
  });
});

describe('training with either build of the modules', () => {
  test('Chromium trains with the relaxed-SIMD training module; ?wasm=simd128 trains with the plain one, to the same figures', async () => {
    const STEPS = 25;
    /** The training script a page loaded and its figures after STEPS single steps from the same seed. */
    const run = async (query) => {
      const page = await openExplorer(shared.browser, `${shared.server.url}${query}`);
      const before = await resetWith(page);
      for (let i = 1; i <= STEPS; i++) {
        await page.click('#train-step');
        await waitFor(page, (s) => s.step === i, `step ${i}`);
      }
      const after = await waitFor(page, (s) => s.testStep === STEPS, 'the test figures at the last step');
      assert.ok(after.testElbo > before.testElbo + 20, `test ELBO ${before.testElbo} → ${after.testElbo} after ${STEPS} steps (${query || 'relaxed'})`);
      const scripts = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name.split('/').pop()).filter((n) => n.startsWith('train')));
      assert.deepEqual(page.problems, []);
      await page.close();
      return { scripts, after };
    };
    const relaxed = await run('');
    const plain = await run('?wasm=simd128');
    assert.deepEqual(relaxed.scripts, ['train-relaxed.js']);
    assert.deepEqual(plain.scripts, ['train.js']);
    // Same seed, same batches, same steps: fused multiply-adds only change rounding.
    const gap = Math.abs(relaxed.after.testElbo - plain.after.testElbo);
    assert.ok(gap < 0.01 * Math.abs(plain.after.testElbo), `test ELBO ${relaxed.after.testElbo} (relaxed) vs ${plain.after.testElbo} (plain) after ${STEPS} steps`);
  });
});

// The exercise sheet's own loss in the training panel: ‖x − x′‖² as a Gaussian decoder (σₓ), and
// the KL's pull on the mean (β_μ) and on the variance (β_σ), each switchable while a run goes on.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FILE_URL, ROOT, openExplorer, sharedBrowser, trainingStatus, waitForTraining } from './harness.mjs';

const shared = sharedBrowser();
const TIMEOUT = 150_000;
/** Steps each run of the pulls' comparison trains: "a few hundred". */
const PULL_STEPS = 300;

const status = trainingStatus;
const waitFor = (page, predicate, what, timeout = TIMEOUT) => waitForTraining(page, predicate, what, timeout);

/** Sets the loss controls (as a user types them), resets, trains `steps` steps and pauses; returns the paused figures. */
async function train(page, { likelihood = 'bernoulli', sigmaMode = 'fixed', sigmaX = '0.1', betaMean = '1', betaVar = '1', seed = '3' }, steps) {
  await page.selectOption('#train-likelihood', likelihood);
  if (likelihood === 'gaussian') { // both disabled for a Bernoulli decoder
    await page.fill('#train-sigma-x', sigmaX);
    await page.selectOption('#train-sigma-mode', sigmaMode);
  }
  await page.fill('#train-beta-mean', betaMean);
  await page.fill('#train-beta-var', betaVar);
  await page.fill('#train-seed', seed);
  await page.click('#train-reset');
  await waitFor(page, (s) => s.state === 'idle' && s.step === undefined && s.codesStep === 0, 'the reset run');
  await page.click('#train-start');
  await waitFor(page, (s) => s.step >= steps, `${steps} steps`);
  await page.click('#train-pause');
  return waitFor(page, (s) => s.state === 'paused' && s.codesStep >= steps && s.testStep >= steps, 'the paused figures');
}

for (const mode of ['http', 'file']) {
  describe(`the sheet's loss over ${mode}`, () => {
    test('a Gaussian decoder trains on grey pixels, and its readouts say they are not Bernoulli nats', async () => {
      const page = await openExplorer(shared.browser, mode === 'http' ? shared.server.url : FILE_URL);
      assert.equal(await page.locator('#train-sigma-x').isDisabled(), true, 'σₓ means nothing to a Bernoulli decoder');
      const s = await train(page, { likelihood: 'gaussian', sigmaX: '0.1' }, 150);
      assert.equal(await page.locator('#train-sigma-x').isDisabled(), false);
      assert.ok(Number.isFinite(s.testElbo) && Number.isFinite(s.recon), JSON.stringify(s));
      assert.ok(Math.abs(s.klMean + s.klVar - s.kl) < 1e-6 * Math.max(1, s.kl), `KL ${s.kl} = mean part ${s.klMean} + variance part ${s.klVar}`);
      assert.ok(s.klMean >= 0 && s.klVar >= 0 && s.meanSigma > 0 && s.meanMu2 > 0, JSON.stringify(s));
      await page.waitForSelector('select#model option[value="live"]', { state: 'attached' });
      await page.selectOption('select#model', 'live');
      await page.setInputFiles('#upload', join(ROOT, 'tests', 'browser', 'fixtures', 'three.png'));
      await page.waitForSelector('#elbo[data-likelihood="gaussian"]');
      assert.equal(await page.locator('#likelihood-note').isVisible(), true);
      assert.match(await page.locator('#likelihood-note').textContent(), /Gaussian \(σₓ = 0\.1\).*not comparable/);
      // A Bernoulli model's readout has no such note.
      await page.selectOption('select#model', 'vae');
      await page.waitForSelector('#elbo[data-likelihood="bernoulli"]');
      assert.equal(await page.locator('#likelihood-note').isVisible(), false);
      assert.deepEqual(page.problems, []);
      await page.close();
    });

    test('a learned σₓ moves away from where it starts, and the readouts name it', async () => {
      const page = await openExplorer(shared.browser, mode === 'http' ? shared.server.url : FILE_URL);
      assert.equal(await page.locator('#train-sigma-mode').isDisabled(), true, 'σₓ means nothing to a Bernoulli decoder');
      const fixed = await train(page, { likelihood: 'gaussian', sigmaX: '0.1' }, 20);
      assert.equal(fixed.sigmaX, 0.1, 'a fixed σₓ is the σₓ in use');
      assert.equal(await page.locator('#train-chart').getAttribute('data-sigma-x'), null, 'no σₓ axis for a fixed σₓ');
      const s = await train(page, { likelihood: 'gaussian', sigmaMode: 'learned', sigmaX: '0.1' }, 100);
      assert.equal(await page.locator('#train-sigma-x').isDisabled(), true, 'a learned σₓ is the run\'s to set');
      assert.ok(s.sigmaX >= 0.01 && s.sigmaX <= 1 && Math.abs(s.sigmaX - 0.1) > 0.02, `σₓ ${s.sigmaX} after 100 steps from 0.1`);
      assert.equal(Number(await page.locator('#train-chart').getAttribute('data-sigma-x')), s.sigmaX, 'the chart draws the σₓ the status names');
      const shown = String(Number(s.sigmaX.toPrecision(3)));
      assert.ok((await page.locator('#train-figures').textContent()).includes(`learned σₓ = ${shown}`), await page.locator('#train-figures').textContent());
      // The live model carries it: its readouts say the σₓ was learned, and where it settled.
      // (the switch names the learned σₓ once the paused run's snapshot has replaced the fixed run's)
      await page.waitForFunction(() => /learned σₓ = 0\.\d+/.test(document.querySelector('select#model option[value="live"]')?.textContent ?? ''));
      await page.selectOption('select#model', 'live');
      await page.setInputFiles('#upload', join(ROOT, 'tests', 'browser', 'fixtures', 'three.png'));
      await page.waitForSelector('#elbo[data-likelihood="gaussian"]');
      assert.match(await page.locator('#likelihood-note').textContent(), /learned σₓ \(settled at 0\.\d+\)/);
      assert.deepEqual(page.problems, []);
      await page.close();
    });

    test(`after ${PULL_STEPS} steps: without the variance pull σ collapses, without the mean pull the codes drift apart`, async () => {
      const page = await openExplorer(shared.browser, mode === 'http' ? shared.server.url : FILE_URL);
      const both = await train(page, {}, PULL_STEPS);
      const noVariance = await train(page, { betaVar: '0' }, PULL_STEPS);
      const noMean = await train(page, { betaMean: '0' }, PULL_STEPS);
      const figures = (s) => `mean σ ${s.meanSigma.toFixed(4)}, mean ‖μ‖² ${s.meanMu2.toFixed(2)}, KL_μ ${s.klMean.toFixed(2)}, KL_σ ${s.klVar.toFixed(2)}`;
      console.log(`both pulls: ${figures(both)}\nno variance pull: ${figures(noVariance)}\nno mean pull: ${figures(noMean)}`);
      assert.ok(noVariance.meanSigma < 0.25 * both.meanSigma, `mean σ ${both.meanSigma} with both pulls, ${noVariance.meanSigma} without the variance pull`);
      assert.ok(noMean.meanMu2 > 3 * both.meanMu2, `mean ‖μ‖² ${both.meanMu2} with both pulls, ${noMean.meanMu2} without the mean pull`);
      // The line beside the plane says the same, with the prior's values to compare.
      assert.match(await page.locator('#live-codes').textContent(), /mean σ .*N\(0, I\).*1.*‖μ‖²/);
      assert.deepEqual(page.problems, []);
      await page.close();
    });

  });
}

describe('the sheet’s loss: its scale and the chart', () => {
  test(`the sheet's own sum (σₓ ≈ 0.71) pulls harder than σₓ = 0.1: after ${PULL_STEPS} steps wider σ, a smaller KL`, async () => {
    const page = await openExplorer(shared.browser, shared.server.url);
    const sheet = await train(page, { likelihood: 'gaussian', sigmaX: '0.71' }, PULL_STEPS);
    const practice = await train(page, { likelihood: 'gaussian', sigmaX: '0.1' }, PULL_STEPS);
    console.log(`σₓ 0.71: mean σ ${sheet.meanSigma.toFixed(3)}, ‖μ‖² ${sheet.meanMu2.toFixed(2)}, KL ${sheet.kl.toFixed(2)}; σₓ 0.1: mean σ ${practice.meanSigma.toFixed(3)}, ‖μ‖² ${practice.meanMu2.toFixed(2)}, KL ${practice.kl.toFixed(2)}`);
    assert.ok(sheet.meanSigma > 2.5 * practice.meanSigma, `mean σ ${sheet.meanSigma} (σₓ 0.71) vs ${practice.meanSigma} (σₓ 0.1)`);
    assert.ok(sheet.kl < 0.5 * practice.kl, `KL ${sheet.kl} (σₓ 0.71) vs ${practice.kl} (σₓ 0.1)`);
    assert.deepEqual(page.problems, []);
    await page.close();
  });

  test('changing a pull mid-run is marked on the chart; the sheet’s preset sets a Gaussian decoder with 2σₓ² = 1', async () => {
    const page = await openExplorer(shared.browser, shared.server.url);
    const before = await train(page, {}, 20);
    await page.fill('#train-beta-var', '0');
    await page.dispatchEvent('#train-beta-var', 'change');
    await page.fill('#train-beta-mean', '2');
    await page.dispatchEvent('#train-beta-mean', 'change');
    assert.equal(await page.locator('#train-chart').getAttribute('data-marks'), '2', 'each pull\'s change is marked');
    await page.click('#train-start');
    const after = await waitFor(page, (s) => s.step >= before.step + 10, 'ten more steps');
    await page.click('#train-pause');
    assert.ok(after.klVar >= 0 && after.klMean >= 0, JSON.stringify(after));
    await page.click('#train-sheet-loss');
    assert.deepEqual(
      await page.evaluate(() => ['train-likelihood', 'train-sigma-x', 'train-beta-mean', 'train-beta-var'].map((id) => document.getElementById(id).value)),
      ['gaussian', '0.707', '1', '1'],
    );
    assert.deepEqual(page.problems, []);
    await page.close();
  });
});

// The bound made visible (http and file://): with the true-posterior layer on, an image's exact
// log p(x), its encoder's ELBO and the two gaps fill `#exact` (ordered, summing) from the bound's
// Worker with no long task on the main thread, the picture follows a drawing (each move's job
// stopping the one before), an AE says it has no p(x), and the lesson's step shows it in both languages.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FILE_URL, nextFrames, openExplorer, pageNumber, renderTextPng, sharedBrowser } from './harness.mjs';

const shared = sharedBrowser();
let page;

/** `#exact`'s figures once it is `done` (numbers), after `since` (its previous data-log-px, if any). */
async function exactFigures(since = null) {
  await page.waitForFunction((old) => {
    const d = document.getElementById('exact').dataset;
    return d.state === 'done' && d.logPx && d.logPx !== old;
  }, since, { timeout: 30_000 });
  return page.evaluate(() => {
    const d = document.getElementById('exact').dataset;
    const n = (v) => Number(v);
    return { logPx: n(d.logPx), iwae: n(d.iwae), elbo: n(d.elbo), gap: n(d.gap), approx: n(d.approximationGap), amort: n(d.amortizationGap), full: n(d.fullCovarianceGain), raw: d.logPx };
  });
}

/** The bound's ordering and sum, and every figure finite. */
function assertBound(f, what) {
  for (const [k, v] of Object.entries(f)) if (k !== 'raw') assert.ok(Number.isFinite(v), `${what}: ${k} = ${v}`);
  // IWAE from 64 samples is a random lower bound: it may come within rounding of log p(x).
  assert.ok(f.logPx >= f.iwae - 0.05, `${what}: log p(x) ${f.logPx} ≥ IWAE ${f.iwae}`);
  assert.ok(f.iwae >= f.elbo - 0.05, `${what}: IWAE ${f.iwae} ≥ ELBO ${f.elbo}`);
  assert.ok(f.gap >= 0 && f.approx >= -1e-3 && f.amort >= -1e-3 && f.full >= -1e-3, `${what}: gaps ≥ 0 (${JSON.stringify(f)})`);
  assert.ok(Math.abs(f.gap - (f.approx + f.amort)) < 0.01, `${what}: gap = approximation + amortization`);
  assert.ok(Math.abs(f.logPx - f.elbo - f.gap) < 0.01, `${what}: gap = log p(x) − ELBO`);
}

for (const mode of ['http', 'file']) {
  describe(`the bound over ${mode}`, () => {
    before(async () => {
      page = await openExplorer(shared.browser, mode === 'http' ? shared.server.url : FILE_URL);
    });
    after(() => page.close());

    test('an upload with the layer on fills #exact with a bound that is ordered and sums, from a Worker: no long task on the main thread', async () => {
      await page.check('#layer-true-posterior');
      // The page's long-task observer, from the moment the job starts (`pending`) to the refined
      // picture: the upload's own task (decoding, encoding) ends before it and is not counted.
      await page.evaluate(() => {
        const exact = document.getElementById('exact');
        const seen = (self.__boundTasks = { since: Infinity, tasks: [], drafts: [] });
        new PerformanceObserver((list) => {
          for (const e of list.getEntries()) if (e.startTime >= seen.since) seen.tasks.push(Math.round(e.duration));
        }).observe({ type: 'longtask' });
        new MutationObserver(() => {
          if (exact.dataset.state === 'pending' && seen.since === Infinity) seen.since = performance.now();
          if (exact.dataset.draft && seen.drafts.at(-1) !== exact.dataset.draft) seen.drafts.push(exact.dataset.draft);
        }).observe(exact, { attributes: true, attributeFilter: ['data-state', 'data-draft'] });
      });
      const png = await renderTextPng(page, '2', { size: 180 });
      await page.locator('#upload').setInputFiles({ name: 'two.png', mimeType: 'image/png', buffer: png });
      const f = await exactFigures();
      await nextFrames(page);
      const tasks = await page.evaluate(() => self.__boundTasks);
      assert.ok(Number.isFinite(tasks.since), 'the job started after the upload');
      assert.deepEqual(tasks.tasks, [], `main-thread tasks over 50 ms while the bound ran (ms): ${tasks.tasks}`);
      // The rule's draft figures came first, then the checked ones (the figures read above).
      assert.deepEqual(tasks.drafts, ['true', 'false'], 'a draft, then the checked bound');
      assertBound(f, 'an uploaded 2');
      assert.match(await page.locator('#exact-figures').textContent(), /log p\(x\) ≥ IWAE ≥ ELBO/);
      // The search says whether it is sure it found every mode, and what the bound cost.
      const { sure, evaluations, unsureHidden } = await page.evaluate(() => ({
        sure: document.getElementById('exact').dataset.sure,
        evaluations: Number(document.getElementById('exact').dataset.evaluations),
        unsureHidden: document.getElementById('exact-unsure').hidden,
      }));
      assert.equal(sure, 'true', 'a digit\'s few modes are all climbed');
      assert.ok(unsureHidden, 'and the page says nothing of doubt');
      assert.ok(evaluations > 100 && evaluations < 20_000, `decoder evaluations ${evaluations}`);
      // The job's time, from the image to the refined picture, once the picture is done.
      await page.waitForFunction(() => document.getElementById('exact').dataset.ms);
      const ms = Number(await page.evaluate(() => document.getElementById('exact').dataset.ms));
      assert.ok(ms > 0 && ms < 30_000, `data-ms ${ms}`);
      // The picture is on the plane and the zoom frames it.
      await page.click('#plane-zoom-posterior');
      await nextFrames(page);
      const teal = await page.evaluate(() => {
        const c = /** @type {HTMLCanvasElement} */ (document.getElementById('latent-plane'));
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] < 120 && d[i + 1] > d[i] + 40 && d[i + 1] >= d[i + 2] - 10) n++;
        return n;
      });
      assert.ok(teal > 500, `the true posterior's contours cover part of the zoomed plane (${teal} px)`);
      assert.deepEqual(page.problems, []);
    });

    test('Optimise q climbs from the encoder\'s ELBO to ELBO(q*) and never past log p(x)', async () => {
      const f = await exactFigures();
      assert.equal(await page.locator('#exact-optimise').isDisabled(), false, 'the button waits for a bound, then is there');
      await page.click('#exact-optimise');
      await page.waitForFunction(() => document.getElementById('exact-optimise-chart').dataset.steps, null, { timeout: 30_000 });
      const o = await page.evaluate(() => {
        const d = document.getElementById('exact-optimise-chart').dataset;
        return { start: Number(d.elboStart), end: Number(d.elboEnd), steps: Number(d.steps), mode: d.mode };
      });
      const best = f.logPx - f.approx; // ELBO(q*)
      assert.ok(Math.abs(o.start - f.elbo) < 1e-9, `it starts at the encoder's ELBO (${o.start} vs ${f.elbo})`);
      assert.ok(o.end >= o.start && o.end <= f.logPx + 1e-6, `ELBO ${o.start} → ${o.end}, log p(x) ${f.logPx}`);
      assert.ok(o.steps >= 1 && o.steps < 300, `${o.steps} steps`);
      if (o.mode === 'best') assert.ok(Math.abs(o.end - best) < 0.01, `reached q*'s mode: ${o.end} vs ELBO(q*) ${best}`);
      else assert.ok(o.end <= best + 0.01, `another mode, no better than q*: ${o.end} vs ${best}`);
      console.log(`# optimise q: ${o.steps} steps, ELBO ${o.start.toFixed(3)} → ${o.end.toFixed(3)} (ELBO(q*) ${best.toFixed(3)}, log p(x) ${f.logPx.toFixed(3)}, ${o.mode})`);
      assert.match(await page.locator('#exact-optimise-caption').textContent(), /steps of gradient ascent/);
      assert.deepEqual(page.problems, []);
    });

    test('drawing updates the bound; a plain AE says it defines no p(x)', async () => {
      const before = await exactFigures();
      await page.click('#draw-clear');
      const box = await page.locator('#draw').boundingBox();
      await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.2);
      await page.mouse.down();
      for (let i = 1; i <= 8; i++) await page.mouse.move(box.x + box.width * (0.3 + 0.05 * i), box.y + box.height * (0.2 + 0.08 * i));
      await page.mouse.up();
      const drawn = await exactFigures(before.raw);
      assertBound(drawn, 'a drawn stroke');
      assert.notEqual(drawn.logPx, before.logPx);
      // Each move of a stroke is a new image: its job stops the one under way, and the figures
      // that land are the last image's — the same as a job for that image alone makes.
      const cancelled = Number(await page.evaluate(() => document.getElementById('exact').dataset.cancelled || 0));
      await page.mouse.move(box.x + box.width * 0.7, box.y + box.height * 0.3);
      await page.mouse.down();
      for (let i = 1; i <= 8; i++) await page.mouse.move(box.x + box.width * (0.7 - 0.04 * i), box.y + box.height * (0.3 + 0.07 * i));
      await page.mouse.up();
      const landed = await exactFigures(drawn.raw);
      const stopped = Number(await page.evaluate(() => document.getElementById('exact').dataset.cancelled || 0)) - cancelled;
      assert.ok(stopped >= 1, `the stroke's moves stopped jobs under way (${stopped})`);
      await page.uncheck('#layer-true-posterior');
      await page.check('#layer-true-posterior');
      const alone = await exactFigures();
      assert.equal(landed.raw, alone.raw, 'the figures that landed are the last image\'s');
      assert.equal(landed.elbo, alone.elbo);
      await page.selectOption('select#model', 'ae');
      await page.waitForFunction(() => document.getElementById('exact').dataset.state === 'none');
      assert.match(await page.locator('#exact-figures').textContent(), /defines no p\(x\)/);
      assert.equal(await page.locator('#exact').getAttribute('data-log-px'), null);
      await page.selectOption('select#model', 'vae');
      await exactFigures();
      await page.uncheck('#layer-true-posterior');
      assert.deepEqual(page.problems, []);
    });
  });
}

describe('a drag on the plane while the bound runs', () => {
  test('on two cores the bound\'s Worker holds its job while the pointer is down on the plane, and finishes it after', async () => {
    // The machines this is for: two cores (the drag needs the core the Worker would take).
    const page = await openExplorer(shared.browser, shared.server.url, {
      beforeLoad: () => Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', { get: () => 2 }),
    });
    try {
      await page.check('#layer-true-posterior');
      const upload = async (digit) => page.locator('#upload').setInputFiles({ name: `${digit}.png`, mimeType: 'image/png', buffer: await renderTextPng(page, digit, { size: 180 }) });
      await upload('4');
      await page.waitForFunction(() => document.getElementById('exact').dataset.state === 'done', null, { timeout: 30_000 });
      const box = await page.locator('#latent-plane').boundingBox();
      await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
      await page.mouse.down();
      await upload('6');
      for (let i = 1; i <= 20; i++) await page.mouse.move(box.x + box.width * (0.5 + 0.01 * i), box.y + box.height * 0.5);
      await page.waitForTimeout(1500); // a digit's bound takes a few hundred ms when it runs
      assert.equal(await page.evaluate(() => document.getElementById('exact').dataset.state), 'pending', 'held while the pointer is down');
      await page.mouse.up();
      await page.waitForFunction(() => document.getElementById('exact').dataset.state === 'done', null, { timeout: 30_000 });
      assert.ok(Number(await page.evaluate(() => document.getElementById('exact').dataset.logPx)) < 0, 'and done once it is up');
      assert.deepEqual(page.problems, []);
    } finally {
      await page.close();
    }
  });
});

describe('the lesson\'s step on the bound', () => {
  test('shows the true posterior, the three numbers and the gaps, in English and in Persian', async () => {
    for (const lang of ['en', 'fa']) {
      const lesson = await openExplorer(shared.browser, `${shared.server.url}#lang=${lang}&lesson=7`);
      try {
        await lesson.waitForFunction((l) => document.documentElement.lang === l && document.getElementById('lesson').dataset.step === '7', lang);
        page = lesson;
        const f = await exactFigures();
        assertBound(f, `lesson (${lang})`);
        assert.equal(await lesson.locator('#layer-true-posterior').isChecked(), true);
        // The step quotes the page's own figures, in this language's words.
        await lesson.waitForFunction((v) => document.getElementById('lesson-body').textContent.includes(v), pageNumber(f.logPx));
        const body = await lesson.locator('#lesson-body').textContent();
        assert.match(body, lang === 'en' ? /approximation gap/ : /شکاف تقریب/);
        // The example was chosen for a posterior an axis-aligned ellipse cannot follow.
        const rho = await lesson.locator('#exact-full').textContent();
        assert.ok(rho.length > 0);
        assert.ok(f.full > 0.005, `a full covariance gains something on the lesson's example (${f.full})`);
        assert.deepEqual(lesson.problems, []);
      } finally {
        await lesson.close();
      }
    }
  });
});

describe('a link to a test digit', () => {
  test('#test=33 shows MNIST test image 33 as if uploaded, with its bound, IWAE from q short of log p(x); a test image the pack lacks is said', async () => {
    const page = await openExplorer(shared.browser, `${shared.server.url}#test=33&layers=true-posterior`);
    await page.waitForFunction(() => document.getElementById('exact').dataset.state === 'done', null, { timeout: 30_000 });
    assert.match(await page.locator('#status').textContent(), /MNIST test image 33/);
    const f = await page.evaluate(() => {
      const d = document.getElementById('exact').dataset;
      return { logPx: Number(d.logPx), elbo: Number(d.elbo), gap: Number(d.gap), amort: Number(d.amortizationGap), iwae: Number(d.iwae) };
    });
    console.log(`# test image 33 in the page: log p(x) ${f.logPx.toFixed(2)}, IWAE(64) ${f.iwae.toFixed(2)}, ELBO ${f.elbo.toFixed(2)}, amortization gap ${f.amort.toFixed(2)}`);
    assert.ok(f.logPx - f.iwae > 1, `IWAE from q stays short of log p(x) on this digit (${f.iwae} vs ${f.logPx})`);
    assert.deepEqual(page.problems, []);
    await page.close();
    const missing = await openExplorer(shared.browser, `${FILE_URL}#test=5000`);
    await missing.waitForSelector('#status.error');
    assert.match(await missing.locator('#status').textContent(), /test image 5000 could not be shown.*first 1000/);
    await missing.close();
  });
});

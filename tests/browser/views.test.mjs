// The comparison views: model switch, same-z comparison, manifold grid layer, prior sampling.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FILE_URL, latentToPage, meanAbsDiff, nextFrames, numberOf, openExplorer, sharedBrowser } from './harness.mjs';

const shared = sharedBrowser();
let page;
let base;

/**
 * Grey values of a canvas (red channel). They cross from the page as one latin1 string: an array
 * of 230,000 numbers (the plane) is serialised element by element and took seconds per read.
 */
const canvasPixels = async (selector) => Array.from(Buffer.from(await page.evaluate((sel) => {
  const c = document.querySelector(sel);
  const rgba = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const red = new Uint8Array(rgba.length / 4);
  for (let i = 0; i < red.length; i++) red[i] = rgba[4 * i];
  let text = '';
  for (let i = 0; i < red.length; i += 8192) text += String.fromCharCode(...red.subarray(i, i + 8192));
  return text;
}, selector), 'latin1'));

for (const mode of ['http', 'file']) {
  describe(`views over ${mode}`, () => {
    before(async () => {
      base = mode === 'http' ? shared.server.url : FILE_URL;
      page = await openExplorer(shared.browser, base);
    });
    after(() => page.close());

    test('the model switch lists every shipped model and the comparison shows each', async () => {
      const names = await page.evaluate(() => VaeExplorer.modelNames());
      assert.deepEqual([...names].sort(), ['ae', 'vae', 'vae-beta4', 'vae-mse']);
      const options = await page.locator('select#model option').evaluateAll((opts) => opts.map((o) => o.value));
      assert.deepEqual(options, names);
      assert.ok(names.includes('vae'));
      const compared = await page.locator('#compare canvas').evaluateAll((cs) => cs.map((c) => c.dataset.model));
      assert.deepEqual(compared, names);
      // The comparison tile of the selected model shows exactly the main decoded image.
      const z = await latentToPage(page, { x: 0.7, y: -0.4 });
      await page.mouse.click(z.x, z.y);
      await nextFrames(page);
      assert.deepEqual(await canvasPixels('#compare canvas[data-model="vae"]'), await canvasPixels('#decoded'));
      assert.deepEqual(page.problems, []);
    });

    test('switching the model changes the decoded image, and switching back restores it', async () => {
      const options = await page.locator('select#model option').evaluateAll((opts) => opts.map((o) => o.value));
      assert.ok(options.length >= 2, `the switch lists ${options}`);
      const before = await canvasPixels('#decoded');
      await page.selectOption('select#model', options.find((o) => o !== 'vae'));
      await nextFrames(page);
      assert.ok(meanAbsDiff(before, await canvasPixels('#decoded')) > 1, 'another model decodes the same z differently');
      await page.selectOption('select#model', 'vae');
      await nextFrames(page);
      assert.deepEqual(await canvasPixels('#decoded'), before, 'switching back restores the image');
    });

    test('the manifold grid layer draws decoded digits under the plane, and hides again', async () => {
      const plane = () => canvasPixels('#latent-plane');
      const without = await plane();
      await page.check('#layer-grid');
      await nextFrames(page);
      const withGrid = await plane();
      assert.ok(meanAbsDiff(without, withGrid) > 15, `grid barely changed the plane (${meanAbsDiff(without, withGrid)})`);
      assert.equal(await page.locator('#grid-explain').isVisible(), true);
      await page.uncheck('#layer-grid');
      await nextFrames(page);
      assert.ok(meanAbsDiff(without, await plane()) < 1, 'unchecking removes the grid');
      assert.deepEqual(page.problems, []);
    });

    test('a mark over the pictures (prior samples) paints itself over the pictures’ cached bitmap, not the pictures again', async () => {
      const plane = () => canvasPixels('#latent-plane');
      const without = await plane();
      for (const id of ['grid', 'aggregate']) await page.check(`#layer-${id}`);
      await nextFrames(page);
      const pictures = await plane();
      // Counts what the plane's own context draws as images in the frames after a click on
      // "sample the prior": the marks above the pictures are paths, so with the pictures kept
      // as one bitmap that is one image (the bitmap), with no cache one per picture.
      const drawn = await page.evaluate(async () => {
        const canvas = document.getElementById('latent-plane');
        const drawImage = CanvasRenderingContext2D.prototype.drawImage;
        /** @type {string[]} */
        const images = [];
        CanvasRenderingContext2D.prototype.drawImage = function (image, ...rest) {
          if (this.canvas === canvas) images.push(`${image.width}×${image.height}`);
          return drawImage.call(this, image, ...rest);
        };
        document.getElementById('sample-prior').click();
        for (let i = 0; i < 3; i++) await new Promise((done) => requestAnimationFrame(done));
        CanvasRenderingContext2D.prototype.drawImage = drawImage;
        return { images, size: `${canvas.width}×${canvas.height}` };
      });
      assert.deepEqual(drawn.images, [drawn.size], 'one plane-sized bitmap under the marks');
      const marked = await plane();
      const change = meanAbsDiff(pictures, marked);
      assert.ok(change > 0 && change < 2, `the samples' dots are a small change over the pictures (${change})`);
      for (const id of ['grid', 'aggregate']) await page.uncheck(`#layer-${id}`);
      await nextFrames(page);
      assert.ok(meanAbsDiff(without, await plane()) < 1, 'turning the pictures off removes them from under the marks');
      assert.deepEqual(page.problems, []);
    });

    test('sampling the prior decodes the same 16 draws with every model and marks them on the plane', async () => {
      await page.click('#sample-prior');
      const sheets = page.locator('#samples canvas');
      const names = await page.evaluate(() => VaeExplorer.modelNames());
      assert.equal(await sheets.count(), names.length);
      const vaeSheet = await canvasPixels('#samples canvas[data-model="vae"]');
      assert.equal(vaeSheet.length, 112 * 112);
      // Every one of the 16 tiles of the VAE holds a digit-like amount of ink.
      for (let k = 0; k < 16; k++) {
        const [cx, cy] = [(k % 4) * 28, Math.floor(k / 4) * 28];
        let ink = 0;
        for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) ink += vaeSheet[(cy + y) * 112 + cx + x] > 128;
        assert.ok(ink > 20 && ink < 350, `sample ${k} has ${ink} ink pixels`);
      }
      const first = vaeSheet;
      await page.click('#sample-prior');
      assert.ok(meanAbsDiff(first, await canvasPixels('#samples canvas[data-model="vae"]')) > 5, 'a new click draws new samples');
      assert.deepEqual(page.problems, []);
    });

    for (const layer of ['scatter', 'aggregate', 'continuity', 'prior']) {
      test(`the ${layer} layer toggles and changes the plane`, async () => {
        const plane = () => canvasPixels('#latent-plane');
        const box = page.locator(`#layer-${layer}`);
        const wasChecked = await box.isChecked();
        const before = await plane();
        await box.setChecked(!wasChecked);
        await nextFrames(page);
        const after = await plane();
        assert.ok(meanAbsDiff(before, after) > 0.5, `${layer}: the plane did not change (${meanAbsDiff(before, after)})`);
        if (layer !== 'prior') {
          assert.equal(await page.locator(`#${layer}-explain`).isVisible(), !wasChecked, 'its explanation follows the toggle');
        }
        await box.setChecked(wasChecked);
        await nextFrames(page);
        assert.ok(meanAbsDiff(before, await plane()) < 0.5, `${layer}: toggling back restores the plane`);
        assert.deepEqual(page.problems, []);
      });
    }

    test('a model’s first continuity map shows at once, coarse, and is made in full between frames', async () => {
      await page.uncheck('#layer-continuity');
      await page.selectOption('select#model', 'vae-beta4'); // no test has asked for its map yet
      const run = await page.evaluate(async () => {
        const plane = document.getElementById('latent-plane');
        document.getElementById('layer-continuity').click();
        const refiningAtOnce = plane.dataset.refining;
        let frames = 0;
        const t0 = performance.now();
        while (plane.dataset.refining && performance.now() - t0 < 20_000) {
          await new Promise((done) => requestAnimationFrame(done));
          frames++;
        }
        return { refiningAtOnce, refiningAfter: plane.dataset.refining, frames };
      });
      assert.equal(run.refiningAtOnce, 'continuity', 'the full map is being made');
      assert.equal(run.refiningAfter, '', 'and is done');
      assert.ok(run.frames >= 3, `frames went on while it was made (${run.frames})`);
      await page.uncheck('#layer-continuity');
      await page.selectOption('select#model', 'vae');
      assert.deepEqual(page.problems, []);
    });

    test('the scatter shows the shipped test posteriors with a digit legend', async () => {
      const n = await page.evaluate(() => wasm_bindgen.Explorer.prototype.testPosteriors.call(new wasm_bindgen.Explorer('vae')).length / 5);
      assert.equal(n, 2000);
      await page.check('#layer-scatter');
      assert.equal(await page.locator('#legend span').count(), 10);
      assert.equal(await page.locator('#legend').isVisible(), true);
      await page.uncheck('#layer-scatter');
      assert.equal(await page.locator('#legend').isVisible(), false);
    });

    test('a stroke after a quiet frame is encoded at once, and the strokes of one frame once', async () => {
      await page.click('#draw-clear');
      await nextFrames(page);
      // Synthetic pointer events in one task: no animation frame can run between them.
      const seen = await page.evaluate(() => {
        const pad = document.getElementById('draw');
        const box = pad.getBoundingClientRect();
        const at = (u, v) => ({ clientX: box.left + u * box.width, clientY: box.top + v * box.height, pointerId: 7, bubbles: true });
        const post = document.getElementById('posterior');
        const before = post.dataset.mu;
        pad.dispatchEvent(new PointerEvent('pointerdown', at(0.5, 0.15)));
        for (let i = 1; i <= 8; i++) pad.dispatchEvent(new PointerEvent('pointermove', at(0.5, 0.15 + 0.08 * i)));
        const atOnce = post.dataset.mu;
        // The rest of the stroke is encoded in the next frame, together.
        return new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => {
          pad.dispatchEvent(new PointerEvent('pointerup', at(0.5, 0.8)));
          done({ before, atOnce, later: post.dataset.mu });
        })));
      });
      assert.notEqual(seen.atOnce, seen.before, 'the first stroke of a quiet frame gets its posterior before the next frame');
      assert.notEqual(seen.later, seen.atOnce, 'the strokes after it in the same frame are encoded in the next one');
    });

    // After the stroke test: any single dot preprocesses (cropped, centred) to the same image, so
    // the posterior before the tap must be another drawing's.
    test('a tap on the drawing pad makes a dot of ink and gets a posterior', async () => {
      await page.click('#draw-clear');
      await nextFrames(page);
      const before = await page.locator('#posterior').getAttribute('data-mu');
      const box = await page.locator('#draw').boundingBox();
      await page.mouse.click(box.x + box.width * 0.4, box.y + box.height * 0.6);
      await nextFrames(page);
      const inked = await page.evaluate(() => {
        const c = /** @type {HTMLCanvasElement} */ (document.getElementById('draw'));
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] > 128) n++;
        return n;
      });
      // A disc of the stroke's width (22 px on a 280-px pad) covers ≈ 380 pad pixels.
      assert.ok(inked > 200, `a tap leaves a dot on the pad (${inked} inked pixels)`);
      assert.notEqual(await page.locator('#posterior').getAttribute('data-mu'), before, 'the dot is encoded');
      assert.doesNotMatch(await page.locator('#status').innerText(), /no ink/i);
    });

    test('drawing a digit updates the posterior while drawing, with reparameterised samples', async () => {
      await page.locator('#draw').scrollIntoViewIfNeeded();
      const box = await page.locator('#draw').boundingBox();
      const at = (u, v) => ({ x: box.x + u * box.width, y: box.y + v * box.height });
      await page.click('#draw-clear');
      // A "7": a top bar, then a diagonal; read the posterior after each stroke.
      let p = at(0.25, 0.2);
      await page.mouse.move(p.x, p.y);
      await page.mouse.down();
      for (let i = 1; i <= 6; i++) { p = at(0.25 + 0.08 * i, 0.2); await page.mouse.move(p.x, p.y); }
      await nextFrames(page);
      await page.waitForSelector('#posterior[data-mu]');
      const afterBar = await page.locator('#posterior').getAttribute('data-mu');
      for (let i = 1; i <= 8; i++) { p = at(0.73 - 0.04 * i, 0.2 + 0.08 * i); await page.mouse.move(p.x, p.y); }
      await page.mouse.up();
      await nextFrames(page);
      const afterSeven = await page.locator('#posterior').getAttribute('data-mu');
      assert.notEqual(afterSeven, afterBar, 'the posterior follows the drawing');
      assert.match(await page.locator('#status').textContent(), /your drawing/);
      const mu = afterSeven.split(',').map(Number);
      const [z1, z2] = [numberOf(await page.locator('#z1').textContent()), numberOf(await page.locator('#z2').textContent())];
      assert.ok(Math.abs(z1 - mu[0]) < 0.01 && Math.abs(z2 - mu[1]) < 0.01, 'the point follows μ');
      // Eight decoded posterior samples, each with ink.
      const strip = await canvasPixels('#posterior-samples');
      for (let k = 0; k < 8; k++) {
        let ink = 0;
        for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) ink += strip[y * 224 + k * 28 + x] > 128;
        assert.ok(ink > 15, `posterior sample ${k} has ${ink} ink pixels`);
      }
      assert.deepEqual(page.problems, []);
    });

    test('interpolation decodes ten points from A to B with every model, ends matching the plane', async () => {
      await page.locator('#latent-plane').scrollIntoViewIfNeeded();
      const a = await latentToPage(page, { x: -1.5, y: 1 });
      await page.mouse.click(a.x, a.y);
      await page.click('#set-a');
      const b = await latentToPage(page, { x: 1.5, y: -1 });
      await page.mouse.click(b.x, b.y);
      await page.click('#set-b');
      await nextFrames(page);
      const names = await page.evaluate(() => VaeExplorer.modelNames());
      assert.equal(await page.locator('#interpolation canvas').count(), names.length);
      const strip = await canvasPixels('#interpolation canvas[data-model="vae"]');
      assert.equal(strip.length, 280 * 28);
      // The last tile is the decoding of B, which is what the main canvas shows now.
      const decoded = await canvasPixels('#decoded');
      const lastTile = [];
      for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) lastTile.push(strip[y * 280 + 252 + x]);
      assert.ok(meanAbsDiff(lastTile, decoded) < 2, `last tile differs from decode(B) by ${meanAbsDiff(lastTile, decoded)}`);
      const firstTile = [];
      for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) firstTile.push(strip[y * 280 + x]);
      assert.ok(meanAbsDiff(firstTile, lastTile) > 10, 'A and B decode to different digits');
      assert.match(await page.locator('#hud').textContent(), /ms\/decode · \d+ fps/);
      assert.deepEqual(page.problems, []);
    });

    test('the URL fragment restores model, point and layers; the decoded image exports as PNG', async () => {
      const names = await page.evaluate(() => VaeExplorer.modelNames());
      const other = names.find((n) => n !== 'vae') || 'vae';
      const view = await shared.browser.newPage();
      view.problems = [];
      view.on('pageerror', (err) => view.problems.push(err.message));
      await view.goto(`${base}#model=${other}&z=1.250,-0.750&layers=grid,scatter`);
      await view.waitForSelector('body[data-ready="true"]');
      assert.equal(await view.locator('select#model').inputValue(), other);
      assert.equal(await view.locator('#z1').textContent(), '1.25');
      assert.equal(await view.locator('#z2').textContent(), '\u22120.75', 'a minus sign, not a hyphen');
      assert.equal(await view.locator('#layer-grid').isChecked(), true);
      assert.equal(await view.locator('#layer-scatter').isChecked(), true);
      assert.equal(await view.locator('#layer-prior').isChecked(), false);
      // Moving the point rewrites the fragment.
      await view.keyboard.press('Tab');
      await view.locator('#latent-plane').focus();
      await view.keyboard.press('ArrowRight');
      await view.waitForFunction(() => location.hash.includes('z=1.300,-0.750'));
      const [download] = await Promise.all([view.waitForEvent('download'), view.click('#save-decoded')]);
      assert.match(download.suggestedFilename(), /\.png$/);
      const bytes = await (async () => { const chunks = []; for await (const c of await download.createReadStream()) chunks.push(c); return Buffer.concat(chunks); })();
      assert.deepEqual([...bytes.subarray(1, 4)].map((b) => String.fromCharCode(b)).join(''), 'PNG');
      assert.equal(bytes.readUInt32BE(16), 280, 'the 28×28 image is saved 10× larger');
      assert.deepEqual(view.problems, []);
      await view.close();
    });

    test('the ELBO readout shows an IWAE bound at or above the ELBO', async () => {
      await page.selectOption('select#model', 'vae');
      await page.locator('#draw').scrollIntoViewIfNeeded();
      const box = await page.locator('#draw').boundingBox();
      await page.click('#draw-clear');
      await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.15);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.85, { steps: 8 });
      await page.mouse.up();
      await nextFrames(page);
      const d = await page.locator('#elbo').evaluate((el) => ({ ...el.dataset }));
      const [elbo, iwae] = [Number(d.elbo), Number(d.iwae)];
      assert.ok(Number.isFinite(iwae) && iwae >= elbo - 0.5 && iwae < 0, `IWAE ${iwae} vs ELBO ${elbo}`);
    });

    test('an idle page asks for no animation frames; moving the point asks for them until it rests', async () => {
      for (const id of ['grid', 'scatter', 'aggregate', 'continuity', 'prior']) await page.check(`#layer-${id}`);
      await page.waitForFunction(() => !document.getElementById('latent-plane').dataset.refining);
      // Count the page's requests from here on (its code calls the global each time it asks).
      await page.evaluate(() => {
        const request = self.requestAnimationFrame.bind(self);
        self.frameRequests = 0;
        self.requestAnimationFrame = (callback) => { self.frameRequests++; return request(callback); };
      });
      const requests = () => page.evaluate(() => self.frameRequests);
      await page.waitForTimeout(200); // what was asked for before now is drawn
      const idle = await requests();
      await page.waitForTimeout(1000);
      assert.equal(await requests() - idle, 0, 'animation frames asked for in a second with nothing to draw');
      const z = await latentToPage(page, { x: 0.4, y: -0.3 });
      await page.mouse.move(z.x, z.y);
      await page.mouse.down();
      for (let i = 1; i <= 5; i++) await page.mouse.move(z.x + 6 * i, z.y);
      await page.mouse.up();
      await page.waitForTimeout(200);
      const moved = await requests();
      assert.ok(moved - idle >= 1, 'a drag asked for no frame');
      await page.waitForTimeout(1000);
      assert.equal(await requests() - moved, 0, 'animation frames asked for after the point came to rest');
      assert.match(await page.locator('#hud').textContent(), /ms\/decode · \d+ fps/);
      assert.deepEqual(page.problems, []);
    });
  });
}

// The zoomable plane (http and file://): the lesson's posterior made visible, every layer made
// again for the window (not magnified), the window in the fragment and `hashchange` followed,
// panning and dragging the point kept apart, wheel zoom about the pointer, keys and buttons, and
// the line under the plane in reading order in Persian.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { FILE_URL, latentToPage, nextFrames, openExplorer, pageToLatent, planeWindow, sharedBrowser } from './harness.mjs';

const shared = sharedBrowser();
/** axe-core's script, run in the page for the accessibility check. */
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
let page;
let base;

/** Waits until no layer of the plane is being made (`data-refining` empty) and a frame has drawn. */
async function settled() {
  await page.waitForFunction(() => document.getElementById('latent-plane').dataset.refining === '');
  await nextFrames(page);
}

/** The point shown under the plane, as text (`#z1`, `#z2`). */
const pointText = () => page.evaluate(() => `${document.getElementById('z1').textContent},${document.getElementById('z2').textContent}`);

/**
 * The canvas pixels of the plane in the posterior's colour (#1f6fd2, drawn opaque: the prior's
 * shade of the same hue is at most 16% opaque), as canvas coordinates.
 */
const posteriorPixels = () => page.evaluate(() => {
  const c = /** @type {HTMLCanvasElement} */ (document.getElementById('latent-plane'));
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const out = [];
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] > 200 && Math.abs(d[i] - 31) < 30 && Math.abs(d[i + 1] - 111) < 30 && Math.abs(d[i + 2] - 210) < 30) out.push([(i / 4) % c.width, Math.floor(i / 4 / c.width)]);
  }
  return { pixels: out, scale: c.width / c.getBoundingClientRect().width };
});

for (const mode of ['http', 'file']) {
  describe(`the zoomable plane over ${mode}`, () => {
    before(async () => {
      base = mode === 'http' ? shared.server.url : FILE_URL;
      page = await openExplorer(shared.browser, base);
    });
    after(() => page.close());

    test('the lesson zooms to its example\'s posterior: the 2σ ellipse is ≥ 100 px across and its eight samples are apart', async () => {
      await page.click('#lesson-start');
      await page.click('#lesson-next');
      await page.click('#lesson-next');
      await page.waitForSelector('#lesson[data-step="3"]');
      await page.waitForSelector('#posterior[data-samples]');
      await nextFrames(page);
      const w = await planeWindow(page);
      const sigma = (await page.locator('#posterior').getAttribute('data-sigma')).split(',').map(Number);
      assert.ok(w.half < 0.5, `the plane zoomed in (window ±${w.half})`);
      assert.ok(Math.max(...sigma) < w.half, 'the ellipse fits in the window');
      const { pixels, scale } = await posteriorPixels();
      const xs = pixels.map(([x]) => x), ys = pixels.map(([, y]) => y);
      const across = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys)) / scale;
      assert.ok(across >= 100, `the 2σ ellipse is ${across.toFixed(0)} px across`);
      // Each sample is a dot in the posterior's colour, and no two share a dot.
      const zs = (await page.locator('#posterior').getAttribute('data-samples')).split(',').map(Number);
      const box = await page.locator('#latent-plane').boundingBox();
      const at = [];
      for (let i = 0; i + 1 < zs.length; i += 2) {
        const p = await latentToPage(page, { x: zs[i], y: zs[i + 1] });
        at.push([(p.x - box.x) * scale, (p.y - box.y) * scale]);
      }
      assert.ok(at.length >= 8, `${at.length} samples`);
      for (const [x, y] of at) assert.ok(pixels.some(([px, py]) => Math.hypot(px - x, py - y) <= 2), `a sample dot at (${x.toFixed(0)}, ${y.toFixed(0)})`);
      const gaps = at.flatMap((a, i) => at.slice(i + 1).map((b) => Math.hypot(a[0] - b[0], a[1] - b[1])));
      assert.ok(Math.max(...gaps) > 40, `the samples spread over ${Math.max(...gaps).toFixed(0)} px`);
      // At the whole plane the same ellipse is a few pixels: why the step zooms.
      await page.click('#plane-zoom-reset');
      await nextFrames(page);
      const whole = await posteriorPixels();
      const wx = whole.pixels.map(([x]) => x);
      assert.ok((Math.max(...wx) - Math.min(...wx)) / whole.scale < 20, 'unzoomed, the ellipse is tiny');
      await page.click('#plane-zoom-posterior');
      assert.deepEqual(await planeWindow(page), w, 'zoom-to-posterior shows the lesson\'s window');
      await page.click('#lesson-close');
    });

    test('the manifold grid of a zoomed window is decoded for that window, not magnified', async () => {
      await page.evaluate(() => {
        // Records the grids the page decodes (prototype methods are looked up at each call).
        const proto = wasm_bindgen.Explorer.prototype;
        const decode = proto.decodeGrid;
        self.decodedGrids = [];
        proto.decodeGrid = function (...args) {
          const image = decode.apply(this, args);
          self.decodedGrids.push({ args, image });
          return image;
        };
      });
      await page.click('#plane-zoom-reset');
      await page.check('#layer-grid');
      await settled();
      await page.evaluate(() => { self.decodedGrids = []; });
      // Zoom about a point with the wheel until the window is ±0.1 or less.
      const p = await latentToPage(page, { x: 0.4, y: -0.3 });
      await page.mouse.move(p.x, p.y);
      for (let i = 0; i < 12 && (await planeWindow(page)).half > 0.1; i++) {
        await page.mouse.wheel(0, -400);
        await nextFrames(page);
      }
      await settled();
      const w = await planeWindow(page);
      assert.ok(w.half <= 0.1, `zoomed to ±${w.half}`);
      const grids = await page.evaluate(() => self.decodedGrids.map((g, i, all) => ({
        args: g.args, pixels: i === all.length - 1 ? Array.from(g.image.data.filter((_, k) => k % 4 === 0)) : null,
      })));
      const last = grids.at(-1);
      assert.ok(last, 'a grid was decoded for the zoomed window');
      const [n, cx, cy, half] = last.args;
      assert.equal(n, 20);
      assert.ok(Math.abs(cx - w.cx) < 1e-4 && Math.abs(cy - w.cy) < 1e-4 && Math.abs(half - w.half) < 1e-4, `decoded for ${last.args} (window ${JSON.stringify(w)})`);
      // The unzoomed grid's tile under the window (one image stretched) against the new 20×20 grid.
      const whole = await page.evaluate(() => Array.from(new wasm_bindgen.Explorer('vae').decodeGrid(20, 0, 0, 3).data.filter((_, i) => i % 4 === 0)));
      const tile = (pixels, col, row) => Array.from({ length: 784 }, (_, i) => pixels[(row * 28 + Math.floor(i / 28)) * 560 + col * 28 + (i % 28)]);
      const step = 6 / 19;
      const [oc, or] = [Math.round((w.cx + 3) / step), Math.round((3 - w.cy) / step)];
      const stretched = tile(whole, oc, or);
      const diff = (a, b) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;
      const differing = [[0, 0], [19, 0], [0, 19], [19, 19]].filter(([c, r]) => diff(tile(last.pixels, c, r), stretched) > 3);
      assert.ok(differing.length >= 2, 'the zoomed grid\'s corner tiles are decodings of their own points, not one magnified tile');
      await page.uncheck('#layer-grid');
      await page.click('#plane-zoom-reset');
    });

    test('the aggregate and continuity maps follow the window too', async () => {
      await page.check('#layer-continuity');
      await page.check('#layer-aggregate');
      await settled();
      const calls = await page.evaluate(async () => {
        const proto = wasm_bindgen.Explorer.prototype;
        const seen = [];
        for (const name of ['aggregateVsPrior', 'continuityMapRows']) {
          const f = proto[name];
          proto[name] = function (...args) { seen.push([name, ...args.slice(1, 4)]); return f.apply(this, args); };
        }
        document.getElementById('plane-zoom-in').click();
        await new Promise((ok) => { const wait = () => (document.getElementById('latent-plane').dataset.refining === '' ? ok() : setTimeout(wait, 20)); setTimeout(wait, 20); });
        return seen;
      });
      const w = await planeWindow(page);
      assert.ok(calls.some(([name, , , half]) => name === 'aggregateVsPrior' && Math.abs(half - w.half) < 1e-4), 'the aggregate map is made for the new window');
      assert.ok(calls.some(([name, , , half]) => name === 'continuityMapRows' && Math.abs(half - Math.min(3, w.half)) < 1e-4), 'the continuity map is made for the new window');
      await page.uncheck('#layer-continuity');
      await page.uncheck('#layer-aggregate');
      await page.click('#plane-zoom-reset');
    });

    test('wheel zoom keeps the latent point under the pointer where it is', async () => {
      await page.click('#plane-zoom-reset');
      const box = await page.locator('#latent-plane').boundingBox();
      // Whole pixels: the browser reports the pointer's position in them.
      const p = { x: Math.round(box.x + box.width * 0.3), y: Math.round(box.y + box.height * 0.65) };
      await page.mouse.move(p.x, p.y);
      const before = await pageToLatent(page, p);
      const view = await page.locator('#latent-plane').getAttribute('data-view');
      await page.mouse.wheel(0, -500);
      await page.waitForFunction((v) => document.getElementById('latent-plane').dataset.view !== v, view);
      const w = await planeWindow(page);
      assert.ok(w.half < 4, `zoomed in (±${w.half})`);
      const afterIn = await pageToLatent(page, p);
      assert.ok(Math.hypot(afterIn.x - before.x, afterIn.y - before.y) < 1e-3 * 4, `the point under the pointer stays (${JSON.stringify(before)} → ${JSON.stringify(afterIn)})`);
      await page.mouse.wheel(0, 200);
      await nextFrames(page);
      const afterOut = await pageToLatent(page, p);
      assert.ok(Math.hypot(afterOut.x - before.x, afterOut.y - before.y) < 1e-3 * 4, 'zooming out keeps it too');
    });

    test('a wheel that reports lines (Firefox\'s deltaMode 1) zooms as far as one that reports pixels', async () => {
      const factor = (init) => page.evaluate((init) => {
        const c = document.getElementById('latent-plane');
        const box = c.getBoundingClientRect();
        document.getElementById('plane-zoom-reset').click();
        c.dispatchEvent(new WheelEvent('wheel', { ...init, clientX: box.left + box.width / 2, clientY: box.top + box.height / 2, bubbles: true, cancelable: true }));
        return Number(c.dataset.view.split(',')[2]) / 4;
      }, init);
      const pixels = await factor({ deltaY: -100, deltaMode: 0 }); // a notch in Chromium
      const lines = await factor({ deltaY: -3, deltaMode: 1 }); // the same notch in Firefox (3 lines)
      assert.ok(pixels < 0.95 && pixels > 0.7, `a notch zooms in by a step (×${pixels})`);
      assert.ok(Math.abs(lines - pixels) < 0.05, `lines ×${lines} vs pixels ×${pixels}`);
      await page.click('#plane-zoom-reset');
    });

    test('panning does not move the point, and dragging the point does not pan', async () => {
      await page.click('#plane-zoom-reset');
      await page.click('#plane-zoom-in');
      await page.click('#plane-zoom-in');
      const box = await page.locator('#latent-plane').boundingBox();
      const from = { x: box.x + box.width * 0.5, y: box.y + box.height * 0.5 };
      const point = await pointText();
      const view = await page.locator('#latent-plane').getAttribute('data-view');
      // Shift + drag pans.
      await page.keyboard.down('Shift');
      await page.mouse.move(from.x, from.y);
      await page.mouse.down();
      await page.mouse.move(from.x + 60, from.y + 30, { steps: 4 });
      await page.mouse.up();
      await page.keyboard.up('Shift');
      await nextFrames(page);
      const panned = await page.locator('#latent-plane').getAttribute('data-view');
      assert.notEqual(panned, view, 'Shift + drag pans the window');
      const [a, b] = [view, panned].map((v) => v.split(',').map(Number));
      assert.ok(b[0] < a[0] && b[1] > a[1] && b[2] === a[2], `the window moved against the drag, same width (${view} → ${panned})`);
      assert.equal(await pointText(), point, 'panning leaves the point');
      // The middle button pans too.
      await page.mouse.move(from.x, from.y);
      await page.mouse.down({ button: 'middle' });
      await page.mouse.move(from.x - 40, from.y, { steps: 3 });
      await page.mouse.up({ button: 'middle' });
      await nextFrames(page);
      assert.notEqual(await page.locator('#latent-plane').getAttribute('data-view'), panned, 'a middle-button drag pans');
      assert.equal(await pointText(), point, 'and leaves the point');
      // A plain drag moves the point and not the window.
      const still = await page.locator('#latent-plane').getAttribute('data-view');
      await page.mouse.move(from.x, from.y);
      await page.mouse.down();
      await page.mouse.move(from.x + 50, from.y - 40, { steps: 4 });
      await page.mouse.up();
      await nextFrames(page);
      assert.notEqual(await pointText(), point, 'a drag moves the point');
      assert.equal(await page.locator('#latent-plane').getAttribute('data-view'), still, 'and not the window');
      await page.click('#plane-zoom-reset');
    });

    test('keys and buttons zoom, pan and reset; the view is said under the plane', async () => {
      await page.click('#plane-zoom-reset');
      assert.equal(await page.locator('#latent-plane').getAttribute('data-view'), '0,0,4');
      await page.focus('#latent-plane');
      await page.keyboard.press('+');
      const zoomed = await planeWindow(page);
      assert.ok(Math.abs(zoomed.half - 4 / 1.5) < 1e-3, `+ zooms in (±${zoomed.half})`);
      await page.keyboard.press('Control+ArrowRight');
      const panned = await planeWindow(page);
      assert.ok(panned.cx > 0 && panned.half === zoomed.half, 'Ctrl + → pans right');
      await page.keyboard.press('-');
      await page.keyboard.press('0');
      assert.equal(await page.locator('#latent-plane').getAttribute('data-view'), '0,0,4');
      // Under a Persian keyboard layout the keys give '۰' and the minus sign '−' (keys no US
      // layout has: dispatched as the layout would send them).
      const key = (k) => page.locator('#latent-plane').dispatchEvent('keydown', { key: k, bubbles: true, cancelable: true });
      await page.keyboard.press('+');
      await page.keyboard.press('+');
      await key('−');
      assert.ok(Math.abs((await planeWindow(page)).half - 4 / 1.5) < 1e-3, '− zooms out');
      await key('۰');
      assert.equal(await page.locator('#latent-plane').getAttribute('data-view'), '0,0,4', '۰ resets the view');
      await page.click('#plane-zoom-in');
      assert.ok((await planeWindow(page)).half < 4);
      await page.click('#plane-zoom-out');
      assert.equal((await planeWindow(page)).half, 4);
      // The scale is in the plane's accessible description.
      await page.click('#plane-zoom-in');
      const described = await page.evaluate(() => document.getElementById(document.getElementById('latent-plane').getAttribute('aria-describedby')).textContent);
      assert.match(described, /±2\.66667/);
    });

    test('the fragment keeps the window, restores it, and a changed fragment is followed', async () => {
      await page.click('#plane-zoom-reset');
      await page.click('#plane-zoom-in');
      await page.click('#plane-zoom-in');
      // The fragment follows the view a moment after the last change.
      await page.waitForFunction(() => new URLSearchParams(location.hash.slice(1)).get('view') === document.getElementById('latent-plane').dataset.view);
      const reopened = await openExplorer(shared.browser, `${base}#z=0.5,-0.5&view=0.5,-0.5,0.05`);
      try {
        assert.equal(await reopened.locator('#latent-plane').getAttribute('data-view'), '0.5,-0.5,0.05');
        // A link to a lesson step pasted into the open page opens the step.
        await reopened.evaluate(() => { location.hash = '#lesson=3'; });
        await reopened.waitForSelector('#lesson[data-step="3"]');
        // … and going Back restores the window the first fragment named.
        await reopened.goBack();
        await reopened.waitForFunction(() => document.getElementById('latent-plane').dataset.view === '0.5,-0.5,0.05');
        assert.deepEqual(reopened.problems, []);
      } finally {
        await reopened.close();
      }
      await page.click('#plane-zoom-reset');
    });

    test('the zoomed plane and its controls pass axe-core, in English and in Persian', async () => {
      await page.click('#plane-zoom-in');
      for (const lang of ['en', 'fa']) {
        await page.selectOption('#lang', lang);
        await page.waitForFunction((l) => document.documentElement.lang === l, lang);
        if (!(await page.evaluate(() => typeof self.axe === 'object'))) await page.evaluate(AXE);
        // No preload: axe would fetch the stylesheet, which the page's CSP (connect-src 'none') refuses.
        const violations = await page.evaluate(async () => (await self.axe.run(document.querySelector('section.plane'), { preload: false })).violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(' ')}`));
        assert.deepEqual(violations, [], `${lang}: axe-core finds no violation in the plane's section`);
        const labels = await page.evaluate(() => ['plane-zoom-in', 'plane-zoom-out', 'plane-zoom-reset', 'plane-zoom-posterior'].map((id) => document.getElementById(id).textContent.trim()));
        assert.ok(labels.every((l) => l.length > 1), `${lang}: every zoom control says what it does (${labels})`);
      }
      await page.selectOption('#lang', 'en');
      await page.click('#plane-zoom-reset');
    });

    test('in Persian, the line under the plane reads right to left with its formulas and numbers whole', async () => {
      await page.selectOption('#lang', 'fa');
      await page.waitForFunction(() => document.documentElement.dir === 'rtl');
      await page.click('#plane-zoom-in');
      await nextFrames(page);
      // The line's runs in reading order: the point, the density's label, its value, the timing, the window.
      const runs = await page.evaluate(() => {
        const line = document.querySelector('p.coords');
        const parts = [line.querySelector('bdi'), line.querySelector('[data-i18n="coords.density"]'), line.querySelectorAll(':scope > bdi')[1], document.getElementById('hud'), document.getElementById('plane-view')];
        // A run that wraps has a box per line: where it starts (its first box) and ends (its last).
        return parts.map((el) => {
          const boxes = el.getClientRects();
          const [first, last] = [boxes[0], boxes[boxes.length - 1]];
          return { start: { right: first.right, top: first.top }, end: { left: last.left, top: last.top }, text: el.textContent };
        });
      });
      let sameLine = 0;
      for (let i = 1; i < runs.length; i++) {
        if (Math.abs(runs[i].start.top - runs[i - 1].end.top) > 4 || runs[i].text === '') continue;
        sameLine++;
        assert.ok(runs[i].start.right <= runs[i - 1].end.left + 1, `“${runs[i].text}” comes after (left of) “${runs[i - 1].text}”`);
      }
      assert.ok(sameLine >= 2, 'most of the line is on one row');
      // Inside an isolated run the formula keeps its own order: “z = (” then the numbers.
      const order = await page.evaluate(() => {
        const z = document.querySelector('p.coords bdi');
        const range = document.createRange();
        range.selectNodeContents(z.firstChild);
        return { open: range.getBoundingClientRect().left, x: document.getElementById('z1').getBoundingClientRect().left };
      });
      assert.ok(order.open < order.x, 'z = ( stands left of its first number');
      await page.selectOption('#lang', 'en');
      await page.click('#plane-zoom-reset');
      assert.deepEqual(page.problems, []);
    });
  });
}

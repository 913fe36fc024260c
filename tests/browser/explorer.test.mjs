// The explorer in a real browser: it loads (over http and from disk), the decoded image follows
// the dragged point continuously, and an uploaded digit gets a posterior drawn to scale.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FILE_URL, WEB_DIR, decodedPixels, latentToPage, meanAbsDiff, nextFrames, numberOf, openExplorer, renderTextPng, sharedBrowser,
} from './harness.mjs';

const shared = sharedBrowser();

for (const mode of ['http', 'file']) {
  describe(`explorer over ${mode}`, () => {
    const url = () => (mode === 'http' ? shared.server.url : FILE_URL);

    test('loads the model without errors and draws a digit at the origin', async () => {
      const page = await openExplorer(shared.browser, url());
      await nextFrames(page);
      const pixels = await decodedPixels(page);
      const ink = pixels.filter((v) => v > 128).length;
      assert.ok(ink > 20 && ink < 400, `decoded image at z=0 has ${ink} ink pixels`);
      assert.match(await page.locator('#status').textContent(), /Ready/);
      assert.deepEqual(page.problems, []);
      await page.close();
    });

    test('dragging changes the decoded image a lot for a large move and little for a tiny one', async () => {
      const page = await openExplorer(shared.browser, url());
      const start = await latentToPage(page, { x: 0.3, y: 0.2 });
      await page.mouse.move(start.x, start.y);
      await page.mouse.down();
      await nextFrames(page);
      const before = await decodedPixels(page);

      await page.mouse.move(start.x + 1, start.y); // one CSS pixel ≈ 0.015 latent units
      await nextFrames(page);
      const tiny = await decodedPixels(page);

      // A long drag in steps: every step should show a new image (continuous updates).
      const end = await latentToPage(page, { x: -2.2, y: -1.8 });
      const seen = new Set();
      const steps = 8;
      for (let i = 1; i <= steps; i++) {
        await page.mouse.move(start.x + ((end.x - start.x) * i) / steps, start.y + ((end.y - start.y) * i) / steps);
        await nextFrames(page);
        seen.add((await decodedPixels(page)).join(','));
      }
      const far = await decodedPixels(page);
      await page.mouse.up();

      const small = meanAbsDiff(before, tiny);
      const large = meanAbsDiff(before, far);
      assert.ok(large > 15, `a move of ~3 latent units changed pixels by only ${large.toFixed(2)} grey levels`);
      assert.ok(small < large / 10, `a 1-pixel move changed ${small.toFixed(2)} vs ${large.toFixed(2)} for a large one`);
      assert.ok(seen.size >= steps - 1, `only ${seen.size} distinct images over ${steps} drag steps`);
      const z1 = numberOf(await page.locator('#z1').textContent());
      assert.ok(Math.abs(z1 - -2.2) < 0.1, `z₁ readout ${z1} after dragging to −2.2`);
      assert.deepEqual(page.problems, []);
      await page.close();
    });

    test('uploading a digit shows its posterior μ, σ and ELBO terms', async () => {
      const page = await openExplorer(shared.browser, url());
      const png = await renderTextPng(page, '3');
      await page.locator('#upload').setInputFiles({ name: 'three.png', mimeType: 'image/png', buffer: png });
      await page.waitForSelector('#posterior[data-mu]', { timeout: 10_000 });
      const mu = (await page.locator('#posterior').getAttribute('data-mu')).split(',').map(Number);
      const sigma = (await page.locator('#posterior').getAttribute('data-sigma')).split(',').map(Number);
      assert.equal(mu.length, 2);
      assert.ok(mu.every((v) => Number.isFinite(v) && Math.abs(v) < 5), `μ = ${mu}`);
      assert.ok(sigma.every((v) => v > 0 && v < 2), `σ = ${sigma}`);
      const elbo = await page.locator('#elbo').evaluate((el) => ({ ...el.dataset }));
      const [recon, kl, value] = [elbo.recon, elbo.kl, elbo.elbo].map(Number);
      assert.ok(recon > 0 && kl > 0, `recon ${recon}, KL ${kl}`);
      assert.ok(Math.abs(value + recon + kl) < 1e-3, 'ELBO = −(recon + KL)');
      // The point jumps to μ, so the decoded image is the reconstruction.
      const [z1, z2] = [numberOf(await page.locator('#z1').textContent()), numberOf(await page.locator('#z2').textContent())];
      assert.ok(Math.abs(z1 - mu[0]) < 0.01 && Math.abs(z2 - mu[1]) < 0.01, `point (${z1}, ${z2}) vs μ ${mu}`);
      assert.match(await page.locator('#status').textContent(), /inverted/);
      assert.deepEqual(page.problems, []);
      await page.close();
    });

    test('a file that is not an image gives a clear message and the page keeps working', async () => {
      const page = await openExplorer(shared.browser, url());
      await page.locator('#upload').setInputFiles({ name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('hello, not a png') });
      await page.waitForSelector('#status.error', { timeout: 10_000 });
      assert.match(await page.locator('#status').textContent(), /not an image/);
      const a = await latentToPage(page, { x: 1, y: 1 });
      await page.mouse.click(a.x, a.y);
      await nextFrames(page);
      assert.ok(Math.abs(numberOf(await page.locator('#z1').textContent()) - 1) < 0.1, 'dragging still works');
      assert.deepEqual(page.problems, []);
      await page.close();
    });
  });
}

describe('the page and the Rust command line agree', () => {
  test('an uploaded digit gets the same μ, σ and ELBO terms as `trainer encode` gives for the file', async (t) => {
    const root = join(WEB_DIR, '..');
    const trainer = join(root, 'target', 'debug', 'trainer');
    assert.ok(existsSync(trainer), `build the trainer first (cargo build -p trainer): ${trainer} is missing`);
    const page = await openExplorer(shared.browser, shared.server.url);
    const dir = await mkdtemp(join(tmpdir(), 'vae-agree-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    for (const [digit, model] of [['3', 'vae'], ['7', 'ae'], ['5', 'vae-beta4']]) {
      const png = await renderTextPng(page, digit, { size: 180 });
      const file = join(dir, `digit-${digit}.png`);
      await writeFile(file, png);
      const cli = JSON.parse(execFileSync(trainer, ['encode', '--json', '--weights', join(root, 'weights', `${model}.vaew`), file], { encoding: 'utf8' }).trim().split('\n').pop());

      await page.selectOption('select#model', model);
      await page.setInputFiles('#upload', file);
      await page.waitForFunction((name) => document.getElementById('status').textContent.startsWith(`Encoded “${name}”`), `digit-${digit}.png`);
      const shown = await page.evaluate(() => ({ ...document.getElementById('posterior').dataset, ...document.getElementById('elbo').dataset }));
      const mu = shown.mu.split(',').map(Number);
      const sigma = shown.sigma.split(',').map(Number);
      const close = (a, b, tol, what) => assert.ok(Math.abs(a - b) <= tol, `${model} “${digit}”: ${what} page ${a} vs trainer ${b}`);
      for (const i of [0, 1]) {
        close(mu[i], cli.mu[i], 1e-4, `μ${i + 1}`);
        close(sigma[i], cli.sigma[i], 1e-4, `σ${i + 1}`);
      }
      close(Number(shown.recon), cli.recon, 1e-3, 'reconstruction');
      close(Number(shown.kl), cli.kl, 1e-4, 'KL');
      close(Number(shown.elbo), cli.elbo, 1e-3, 'ELBO');
    }
    assert.deepEqual(page.problems, []);
    await page.close();
  });
});

describe('the two builds of the page\'s module', () => {
  test('Chromium runs the relaxed-SIMD build; it decodes, encodes and draws as the plain SIMD128 build does', async () => {
    /** What a page decodes and encodes through each model: the 400-image grid and one digit's μ and σ. */
    const figures = async (query) => {
      const page = await openExplorer(shared.browser, `${shared.server.url}${query}`);
      const out = await page.evaluate(() => {
        const grid = new Float32Array(800);
        for (let i = 0; i < 400; i++) { grid[2 * i] = ((i % 20) / 19) * 6 - 3; grid[2 * i + 1] = (Math.floor(i / 20) / 19) * 6 - 3; }
        const e = new wasm_bindgen.Explorer('vae');
        const decoded = Array.from(e.decodeBatch(grid));
        const single = Array.from(e.decodeBatch(new Float32Array([0.7, -1.3])));
        // A drawn 7 through the readout (its 64 importance samples decode through the same tiles).
        const pad = document.createElement('canvas');
        pad.width = pad.height = 140;
        const ctx = pad.getContext('2d');
        ctx.fillStyle = '#000'; ctx.fillRect(0, 0, 140, 140);
        ctx.strokeStyle = '#fff'; ctx.lineWidth = 12;
        ctx.beginPath(); ctx.moveTo(35, 30); ctx.lineTo(105, 30); ctx.lineTo(60, 115); ctx.stroke();
        const post = e.encodeImage(new Uint8Array(ctx.getImageData(0, 0, 140, 140).data.buffer), 140, 140);
        e.free();
        return { build: VaeExplorer.wasmBuild(), decoded, single, post: [...post.mu, ...post.sigma, post.recon, post.kl, post.iwae] };
      });
      await nextFrames(page);
      out.pixels = await decodedPixels(page);
      assert.deepEqual(page.problems, []);
      await page.close();
      return out;
    };
    const relaxed = await figures('');
    const plain = await figures('?wasm=simd128');
    assert.equal(relaxed.build, 'relaxed-simd', 'Chromium validates relaxed SIMD: the page should pick that build');
    assert.equal(plain.build, 'simd128');
    const worst = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
    assert.equal(relaxed.decoded.length, 400 * 784);
    // Fused multiply-adds round once where the plain build rounds twice: float noise, no more.
    assert.ok(worst(relaxed.decoded, plain.decoded) < 1e-4, `grid: the builds differ by ${worst(relaxed.decoded, plain.decoded)}`);
    assert.ok(worst(relaxed.single, plain.single) < 1e-4, `one point: the builds differ by ${worst(relaxed.single, plain.single)}`);
    assert.ok(worst(relaxed.decoded, plain.decoded) > 0, 'the two builds gave identical floats: is the relaxed build really the fused one?');
    assert.ok(worst(relaxed.pixels, plain.pixels) <= 1, 'the shown image differs by more than one grey level');
    // μ, σ, reconstruction, KL, IWAE of the drawn digit.
    assert.ok(relaxed.post.every(Number.isFinite) && relaxed.post[4] > 0, `readout ${relaxed.post}`);
    assert.ok(worst(relaxed.post, plain.post) < 1e-3, `readout: ${relaxed.post} vs ${plain.post}`);
  });
});

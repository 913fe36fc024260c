// Your own models in the page: a `.vaew` the trainer wrote, opened with the button or dropped on
// the page, joins the model switch and every view works on it; hostile or foreign files get a
// clear message and the page goes on working.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FILE_URL, ROOT, decodedPixels, latentToPage, meanAbsDiff, nextFrames, openExplorer, sharedBrowser } from './harness.mjs';
import { drawnImage, readFrame, withNaNWeight, writeFrame, writeIdxDataset, writeIdxFromPack } from './files.mjs';

const shared = sharedBrowser();
const MNIST = process.env.VAE_DATA_DIR || join(ROOT, '..', 'shared', 'data', 'mnist');
const HAVE_MNIST = ['train-images-idx3-ubyte', 'train-images-idx3-ubyte.gz'].some((f) => existsSync(join(MNIST, f)));

/** A short trainer run's weights file (`trainer --short`, a small model), made once for all tests. */
let trained = null;
let dir = null;
/** A Fashion-MNIST model trained by `trainer --dataset fashion-mnist` on small IDX files this test makes. */
let fashion = null;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vae-open-'));
  await trainFashion();
  // MNIST's IDX files where they are; else the digits the page trains on, written as IDX files.
  let data = MNIST;
  if (!HAVE_MNIST) {
    data = join(dir, 'mnist-from-pack');
    await mkdir(data);
    await writeIdxFromPack(join(ROOT, 'datasets', 'mnist.vaed.gz'), data);
  }
  const out = join(dir, 'mine.vaew');
  execFileSync(join(ROOT, 'target', 'debug', 'trainer'), [
    '--short', '--limit', '600', '--hidden', '64,32', '--name', 'mine', '--data-dir', data, '--no-download', '--out', out, '--json',
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  trained = readFileSync(out);
});

async function trainFashion() {
  const data = join(dir, 'fashion-data');
  await mkdir(data);
  await writeIdxDataset(data, { train: 600, test: 100 });
  const out = join(dir, 'fashion.vaew');
  execFileSync(join(ROOT, 'target', 'debug', 'trainer'), [
    '--dataset', 'fashion-mnist', '--short', '--hidden', '64,32', '--name', 'fashion', '--data-dir', data, '--no-download', '--out', out, '--json',
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  fashion = { path: out, bytes: readFileSync(out) };
}
after(() => rm(dir, { recursive: true, force: true }));

/** Opens `bytes` (or the file at a path) as file `name` through input#open-weights. */
async function openThroughButton(page, name, bytes) {
  await page.setInputFiles('#open-weights', typeof bytes === 'string' ? bytes : { name, mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) });
}

/** Drops `bytes` as file `name` on the page's body, as a drag from the desktop would. */
async function dropOnPage(page, name, bytes) {
  await page.evaluate(({ name, b64 }) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], name));
    for (const type of ['dragenter', 'dragover', 'drop']) {
      document.body.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
    }
  }, { name, b64: Buffer.from(bytes).toString('base64') });
}

/** The options of select#model. */
const modelOptions = (page) => page.locator('select#model option').evaluateAll((opts) => opts.map((o) => o.value));

/** The status line once it names `fileName`. */
async function statusAbout(page, fileName) {
  await page.waitForFunction((f) => document.getElementById('status').textContent.includes(f), fileName);
  return page.locator('#status').textContent();
}

for (const mode of ['http', 'file']) {
  describe(`opening a weights file over ${mode}`, () => {
    const url = () => (mode === 'http' ? shared.server.url : FILE_URL);

    test('a .vaew from `trainer --short`, opened with the button and dropped on the page, joins the switch and decodes', async () => {
      const page = await openExplorer(shared.browser, url());
      await page.waitForSelector('body[data-ready="true"]');
      const z = await latentToPage(page, { x: 0.8, y: -0.6 });
      await page.mouse.click(z.x, z.y);
      await nextFrames(page);
      const shipped = await decodedPixels(page);
      await openThroughButton(page, 'mine.vaew', trained);
      assert.match(await statusAbout(page, 'mine.vaew'), /Opened .* as model “mine”/);
      assert.equal(await page.locator('select#model').inputValue(), 'mine', 'the opened model becomes the current one');
      await nextFrames(page);
      const mine = await decodedPixels(page);
      assert.ok(meanAbsDiff(mine, shipped) > 1, 'the opened model decodes the point its own way');
      assert.match(await page.locator('#model-info').textContent(), /“mine”.*1 epochs on mnist/);
      assert.ok(await page.locator('#compare canvas[data-model="mine"]').count() === 1, 'it joins the same-z comparison');
      // Dropped on the page: the name is taken, so it comes in as mine-2.
      await dropOnPage(page, 'mine.vaew', trained);
      await page.waitForFunction(() => document.querySelector('select#model').value === 'mine-2');
      assert.deepEqual((await modelOptions(page)).filter((n) => n.startsWith('mine')), ['mine', 'mine-2']);
      await page.check('#layer-grid');
      await page.check('#layer-continuity');
      await nextFrames(page);
      assert.deepEqual(page.problems, []);
      await page.close();
    });

    test('a Fashion-MNIST model shows its class names, gets a dataset switch and encodes uploads as Fashion-MNIST was made, as `trainer encode` does', async () => {
      const page = await openExplorer(shared.browser, url());
      await page.waitForSelector('body[data-ready="true"]');
      assert.equal(await page.locator('#dataset-switch').isVisible(), false, 'one dataset: no dataset switch');
      await openThroughButton(page, 'fashion.vaew', fashion.bytes);
      await page.waitForFunction(() => document.querySelector('select#model').value === 'fashion');
      await page.check('#layer-scatter');
      const legend = await page.locator('#legend span').allTextContents();
      assert.deepEqual(legend.slice(0, 3), ['T-shirt/top', 'Trouser', 'Pullover']);
      assert.equal(legend.length, 10);
      // Two datasets: the switch appears, and the model switch lists the current dataset's models.
      assert.equal(await page.locator('#dataset-switch').isVisible(), true);
      const datasetOptions = await page.locator('select#dataset option').evaluateAll((opts) => opts.map((o) => o.value));
      assert.deepEqual(datasetOptions, ['mnist', 'fashion-mnist']);
      assert.equal(await page.locator('select#dataset').inputValue(), 'fashion-mnist');
      assert.deepEqual(await modelOptions(page), ['fashion']);
      // A wide item: Fashion-MNIST fills the frame's width with it (MNIST would fit it into 20×20).
      const image = await drawnImage(page, { width: 300, height: 150, scene: 'zero-on-paper' });
      const file = join(dir, `item-${mode}.png`);
      await writeFile(file, image);
      await page.setInputFiles('#upload', file);
      await page.waitForFunction(() => document.getElementById('posterior').dataset.mu);
      const mu = (await page.locator('#posterior').getAttribute('data-mu')).split(',').map(Number);
      const cli = JSON.parse(execFileSync(join(ROOT, 'target', 'debug', 'trainer'), ['encode', '--json', '--weights', fashion.path, file], { encoding: 'utf8' }).trim().split('\n').pop());
      for (const i of [0, 1]) assert.ok(Math.abs(mu[i] - cli.mu[i]) <= 1e-4, `μ${i + 1}: page ${mu[i]}, trainer ${cli.mu[i]}`);
      const input = await page.evaluate(() => {
        const d = document.getElementById('input-preview').getContext('2d').getImageData(0, 0, 28, 28).data;
        const inked = (i) => d[4 * i] > 64;
        const columns = Array.from({ length: 28 }, (_, x) => Array.from({ length: 28 }, (_, y) => inked(y * 28 + x)).some(Boolean));
        return columns.filter(Boolean).length;
      });
      assert.ok(input >= 26, `the item spans ${input} of 28 columns`);
      // Back to MNIST: the digit models return, with digits in the legend.
      await page.selectOption('select#dataset', 'mnist');
      await page.waitForFunction(() => document.querySelector('select#model').value === 'vae');
      assert.ok(!(await modelOptions(page)).includes('fashion'));
      assert.equal(await page.locator('#legend span').first().textContent(), '0');
      assert.deepEqual(page.problems, []);
      await page.close();
    });

    test('hostile and foreign files get a clear message each, and dragging still works', async () => {
      const page = await openExplorer(shared.browser, url());
      await page.waitForSelector('body[data-ready="true"]');
      const shipped = readFileSync(join(ROOT, 'weights', 'ae.vaew'));
      const hugeFile = join(dir, 'huge.vaew'); // 65 MB of zeros, sparse on disk
      await writeFile(hugeFile, '');
      await truncate(hugeFile, 65 * 2 ** 20);
      const frame = readFrame(shipped);
      const cases = [
        ['truncated.vaew', shipped.subarray(0, 300), /truncated/],
        ['picture.vaew', Buffer.from('\x89PNG\r\n\x1a\n0000000000000000', 'latin1'), /not a vae-explorer weights file/],
        ['run.ckpt', writeFrame({ ...frame, magic: Buffer.from('VAECKPT\0', 'latin1') }), /not a vae-explorer weights file/],
        ['nan.vaew', withNaNWeight(shipped), /non-finite value/],
        ['latent8.vaew', writeFrame({ ...frame, header: { ...frame.header, config: { ...frame.header.config, latent_dim: 8 } } }), /8 dimensions.*2-D latent spaces only/],
        ['huge.vaew', hugeFile, /too large for a weights file/],
      ];
      const before = await modelOptions(page);
      for (const [name, bytes, expected] of cases) {
        await (name === 'run.ckpt' ? dropOnPage(page, name, bytes) : openThroughButton(page, name, bytes));
        const message = await statusAbout(page, name);
        assert.match(message, expected, `${name}: ${message}`);
        assert.ok(await page.locator('#status').evaluate((el) => el.classList.contains('error')), `${name} is reported as an error`);
        // The page goes on working: the point still decodes.
        const a = await latentToPage(page, { x: -1.5, y: 1 });
        const b = await latentToPage(page, { x: 1.5, y: -1 });
        await page.mouse.click(a.x, a.y);
        await nextFrames(page);
        const left = await decodedPixels(page);
        await page.mouse.click(b.x, b.y);
        await nextFrames(page);
        assert.ok(meanAbsDiff(left, await decodedPixels(page)) > 5, `after ${name} the plane no longer decodes`);
      }
      assert.deepEqual(await modelOptions(page), before, 'no refused file joined the switch');
      assert.deepEqual(page.problems, []);
      await page.close();
    });
  });
}

// Your own models in the page: a `.vaew` the trainer wrote, opened with the button or dropped on
// the page, joins the model switch and every view works on it; hostile or foreign files get a
// clear message and the page goes on working.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FILE_URL, ROOT, decodedPixels, latentToPage, meanAbsDiff, nextFrames, openExplorer, sharedBrowser } from './harness.mjs';
import { readFrame, withNaNWeight, writeFrame } from './files.mjs';

const shared = sharedBrowser();
const DATA = process.env.VAE_DATA_DIR || join(ROOT, '..', 'shared', 'data', 'mnist');
const HAVE_MNIST = ['train-images-idx3-ubyte', 'train-images-idx3-ubyte.gz'].some((f) => existsSync(join(DATA, f)));

/** A short trainer run's weights file (`trainer --short`, a small model), made once for all tests. */
let trained = null;
let dir = null;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vae-open-'));
  if (!HAVE_MNIST) return;
  const out = join(dir, 'mine.vaew');
  execFileSync(join(ROOT, 'target', 'debug', 'trainer'), [
    '--short', '--limit', '600', '--hidden', '64,32', '--name', 'mine', '--data-dir', DATA, '--no-download', '--out', out, '--json',
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  trained = readFileSync(out);
});
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

    test('a .vaew from `trainer --short`, opened with the button and dropped on the page, joins the switch and decodes', async (t) => {
      if (!trained) { t.skip(`no MNIST in ${DATA} (set VAE_DATA_DIR)`); return; }
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

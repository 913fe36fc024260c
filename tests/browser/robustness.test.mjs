// Hostile uploads, privacy and long sessions in a real browser: every file gets a posterior or a
// clear message (never a console error), uploaded scripts never run, the page fetches only its
// own files, and thousands of drags and hundreds of uploads do not grow memory.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FILE_URL, WEB_DIR, decodedPixels, latentToPage, meanAbsDiff, nextFrames, openExplorer, sharedBrowser,
} from './harness.mjs';
import { HTML_PAGE, SVG_WITH_SCRIPT, animatedGif, drawnImage } from './files.mjs';
import { sourceFiles } from './code-shape.mjs';

const shared = sharedBrowser();

/**
 * Uploads `file` and waits until the page has answered. Returns the status text, whether it is
 * shown as an error, and the posterior mean (null when no posterior was shown for this file).
 */
async function upload(page, file) {
  await page.evaluate(() => {
    document.getElementById('posterior').removeAttribute('data-mu');
    document.getElementById('status').textContent = '';
  });
  await page.setInputFiles('#upload', file);
  await page.waitForFunction(() => {
    const text = document.getElementById('status').textContent;
    return text !== '' && !text.startsWith('Encoding');
  }, null, { timeout: 60_000 });
  return page.evaluate(() => {
    const status = document.getElementById('status');
    const mu = document.getElementById('posterior').dataset.mu;
    return { text: status.textContent, isError: status.classList.contains('error'), mu: mu ? mu.split(',').map(Number) : null };
  });
}

/** Drags the point from one side of the plane to the other; returns how much the image changed. */
async function dragChange(page) {
  const a = await latentToPage(page, { x: -1.5, y: 1.2 });
  const b = await latentToPage(page, { x: 1.6, y: -1.4 });
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await nextFrames(page);
  const before = await decodedPixels(page);
  await page.mouse.move(b.x, b.y, { steps: 4 });
  await nextFrames(page);
  const afterDrag = await decodedPixels(page);
  await page.mouse.up();
  return meanAbsDiff(before, afterDrag);
}

const distance = (a, b) => Math.hypot(a[0] - b[0], a[1] - b[1]);
const ring = (w, h) => (x, y) => {
  const r = Math.hypot((x - w / 2) / (w * 0.22), (y - h / 2) / (h * 0.32));
  return Math.abs(r - 1) < 0.28;
};
const bar = (w) => (x) => Math.abs(x - w / 2) < w * 0.06;

for (const mode of ['http', 'file']) {
  describe(`hostile uploads over ${mode}`, () => {
    let page;
    let reference; // μ of a well-behaved "0" on paper, for the cases that should land near it
    before(async () => {
      page = await openExplorer(shared.browser, mode === 'http' ? shared.server.url : FILE_URL);
      const ok = await upload(page, {
        name: 'zero.png', mimeType: 'image/png',
        buffer: await drawnImage(page, { width: 200, height: 200, scene: 'zero-on-paper' }),
      });
      assert.equal(ok.isError, false, ok.text);
      reference = ok.mu;
    });
    after(() => page?.close());

    /** Files that must be refused with a message matching `why`. */
    const refused = [
      ['an empty file', async () => ({ name: 'empty.png', mimeType: 'image/png', buffer: Buffer.alloc(0) }), /is empty/],
      ['a PNG cut after 60 bytes', async () => ({
        name: 'cut.png', mimeType: 'image/png',
        buffer: (await drawnImage(page, { width: 200, height: 200, scene: 'zero-on-paper' })).subarray(0, 60),
      }), /not an image this browser can read|cut short/],
      ['a text file named .png', async () => ({ name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('just some text\n'.repeat(50)) }), /not an image/],
      ['an HTML page', async () => ({ name: 'page.html', mimeType: 'text/html', buffer: Buffer.from(HTML_PAGE) }), /not an image/],
      ['a 1×1 image', async () => ({
        name: 'dot.png', mimeType: 'image/png', buffer: await drawnImage(page, { width: 1, height: 1, scene: 'zero-on-paper' }),
      }), /no ink found/],
      ['a blank white image', async () => ({
        name: 'white.png', mimeType: 'image/png', buffer: await drawnImage(page, { width: 300, height: 300, scene: 'white' }),
      }), /no ink found/],
      ['a blank black image', async () => ({
        name: 'black.jpg', mimeType: 'image/jpeg', buffer: await drawnImage(page, { width: 300, height: 300, type: 'image/jpeg', scene: 'black' }),
      }), /no ink found/],
    ];
    for (const [what, makeFile, why] of refused) {
      test(`${what} gets a clear message and dragging still works`, async () => {
        const answer = await upload(page, await makeFile());
        assert.equal(answer.isError, true, `not shown as a problem: ${answer.text}`);
        assert.match(answer.text, why);
        assert.equal(answer.mu, null, 'no posterior should be shown for a refused file');
        assert.ok((await dragChange(page)) > 10, 'dragging no longer changes the decoded image');
        assert.equal(await page.evaluate(() => self.__uploadScriptRan), undefined, 'an uploaded script ran');
        assert.deepEqual(page.problems, []);
      });
    }

    test('a file over the size limit is refused before decoding', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'vae-upload-'));
      try {
        const path = join(dir, 'huge.png');
        await writeFile(path, Buffer.alloc(65 * 1024 * 1024, 7));
        const answer = await upload(page, path);
        assert.equal(answer.isError, true);
        assert.match(answer.text, /under 64 MB/);
        assert.deepEqual(page.problems, []);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    /** Files that must give a posterior near the reference "0". */
    const accepted = [
      ['an 8000×8000 scan', async () => ({
        name: 'scan.png', mimeType: 'image/png', buffer: await drawnImage(page, { width: 8000, height: 8000, scene: 'zero-on-paper' }),
      })],
      ['a JPEG photo', async () => ({
        name: 'photo.jpg', mimeType: 'image/jpeg', buffer: await drawnImage(page, { width: 640, height: 640, type: 'image/jpeg', scene: 'zero-on-paper' }),
      })],
      ['a digit drawn only in the alpha channel', async () => ({
        name: 'alpha.png', mimeType: 'image/png', buffer: await drawnImage(page, { width: 200, height: 200, scene: 'zero-in-alpha' }),
      })],
      ['an SVG that carries scripts', async () => ({ name: 'zero.svg', mimeType: 'image/svg+xml', buffer: Buffer.from(SVG_WITH_SCRIPT) })],
    ];
    for (const [what, makeFile] of accepted) {
      test(`${what} gets a sensible posterior and dragging still works`, async () => {
        const answer = await upload(page, await makeFile());
        assert.equal(answer.isError, false, answer.text);
        assert.ok(answer.mu && answer.mu.every(Number.isFinite), `no posterior: ${answer.text}`);
        assert.ok(distance(answer.mu, reference) < 0.6,
          `μ = ${answer.mu} is far from the same digit as a plain PNG (${reference})`);
        assert.ok((await dragChange(page)) > 10, 'dragging no longer changes the decoded image');
        assert.equal(await page.evaluate(() => self.__uploadScriptRan), undefined, 'an uploaded script ran');
        assert.deepEqual(page.problems, []);
      });
    }

    test('an animated GIF is read by its first frame', async () => {
      const [w, h] = [100, 100];
      const gif = (frames) => ({ name: 'anim.gif', mimeType: 'image/gif', buffer: animatedGif(w, h, frames) });
      const ringThenBar = await upload(page, gif([ring(w, h), bar(w)]));
      const ringOnly = await upload(page, gif([ring(w, h)]));
      const barOnly = await upload(page, gif([bar(w)]));
      for (const a of [ringThenBar, ringOnly, barOnly]) assert.equal(a.isError, false, a.text);
      assert.ok(distance(ringThenBar.mu, ringOnly.mu) < 1e-4, `${ringThenBar.mu} vs first frame alone ${ringOnly.mu}`);
      assert.ok(distance(ringOnly.mu, barOnly.mu) > 0.3, 'a "0" and a "1" should not share a posterior');
      assert.deepEqual(page.problems, []);
    });
  });
}

describe('privacy and page security', () => {
  test('the page requests nothing but its own files, even while used', async () => {
    const page = await shared.browser.newPage();
    const requests = [];
    page.on('request', (req) => requests.push(req.url()));
    const violations = [];
    page.on('console', (msg) => { if (/Content Security Policy|Refused to/.test(msg.text())) violations.push(msg.text()); });
    await page.goto(shared.server.url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
    for (const id of ['grid', 'scatter', 'aggregate', 'continuity']) await page.check(`#layer-${id}`);
    await page.click('#sample-prior');
    await page.setInputFiles('#upload', {
      name: 'zero.png', mimeType: 'image/png', buffer: await drawnImage(page, { width: 120, height: 120, scene: 'zero-on-paper' }),
    });
    await page.waitForFunction(() => document.getElementById('posterior').dataset.mu);
    await dragChange(page);
    const foreign = requests.filter((u) => !u.startsWith(shared.server.url) && !u.startsWith('data:') && !u.startsWith('blob:'));
    assert.deepEqual(foreign, [], 'requests to other origins');
    assert.deepEqual(violations, [], 'the page broke its own Content-Security-Policy');
    await page.close();
  });

  test('a Content-Security-Policy forbids eval, foreign connections and plugins', async () => {
    const page = await openExplorer(shared.browser, shared.server.url);
    const csp = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /connect-src 'none'/);
    assert.doesNotMatch(csp, /'unsafe-eval'|'unsafe-inline'/);
    // The policy is live: the page's own tasks cannot eval strings, run injected inline scripts
    // or connect anywhere. (page.evaluate itself is exempt, so the attempts run as page tasks.)
    const attempts = await page.evaluate(() => new Promise((done) => {
      const out = { violations: [] };
      document.addEventListener('securitypolicyviolation', (e) => out.violations.push(e.effectiveDirective));
      const script = document.createElement('script');
      script.textContent = 'self.__inlineRan = true';
      document.body.append(script);
      setTimeout('self.__stringTimerRan = true', 0);
      fetch('https://example.com/').then(() => { out.fetch = 'sent'; }, () => { out.fetch = 'blocked'; })
        .then(() => setTimeout(() => {
          out.inline = self.__inlineRan === true ? 'ran' : 'blocked';
          out.eval = self.__stringTimerRan === true ? 'ran' : 'blocked';
          out.violations.sort();
          done(out);
        }, 50));
    }));
    assert.deepEqual(attempts, {
      inline: 'blocked', eval: 'blocked', fetch: 'blocked', violations: ['connect-src', 'script-src-elem', 'script-src'].sort(),
    });
    await page.close();
  });

  test('damaged weights given to the page are refused with a message naming the problem', async () => {
    const page = await openExplorer(shared.browser, shared.server.url);
    const messages = await page.evaluate(() => {
      const attempt = (bytes) => {
        try { wasm_bindgen.Explorer.fromBytes(bytes); return 'loaded'; } catch (e) { return e.message; }
      };
      return [
        attempt(new Uint8Array(0)),
        attempt(new TextEncoder().encode('definitely not weights')),
        attempt(new TextEncoder().encode('VAEXPLR\0\u0009\0\0\0')), // a future format version
      ];
    });
    assert.match(messages[0], /truncated|not a vae-explorer weights file/);
    assert.match(messages[1], /not a vae-explorer weights file/);
    assert.match(messages[2], /version 9 is not supported/);
    assert.deepEqual(page.problems, []);
    await page.close();
  });

  test('no page script writes HTML from strings', async () => {
    const files = sourceFiles(join(WEB_DIR, 'src'), ['.js']); // the Worker's, in src/worker/, too
    assert.ok(files.some((f) => f.includes('worker')) && files.length > 20, `read ${files.length} scripts`);
    for (const file of files) {
      const source = await readFile(file, 'utf8');
      assert.doesNotMatch(source, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/, file);
    }
  });
});

describe('long sessions', () => {
  test('5,000 drag moves and 100 uploads leave wasm memory, JS heap and object URLs bounded', async () => {
    const page = await openExplorer(shared.browser, shared.server.url);
    await page.evaluate(() => {
      self.__liveObjectUrls = 0;
      const create = URL.createObjectURL.bind(URL), revoke = URL.revokeObjectURL.bind(URL);
      URL.createObjectURL = (obj) => { self.__liveObjectUrls++; return create(obj); };
      URL.revokeObjectURL = (url) => { self.__liveObjectUrls--; return revoke(url); };
    });
    const measure = () => page.evaluate(async () => ({
      wasm: await self.VaeExplorer.wasmMemoryBytes(),
      heap: performance.memory ? performance.memory.usedJSHeapSize : 0,
    }));
    const file = {
      name: 'zero.png', mimeType: 'image/png', buffer: await drawnImage(page, { width: 160, height: 160, scene: 'zero-on-paper' }),
    };
    const box = await page.locator('#latent-plane').boundingBox();
    const session = async (moves, uploads) => {
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.mouse.down();
      for (let i = 0; i < moves; i++) {
        const t = i / 50;
        await page.mouse.move(box.x + box.width * (0.5 + 0.4 * Math.sin(t)), box.y + box.height * (0.5 + 0.4 * Math.cos(1.3 * t)));
        if (i % 500 === 0) await nextFrames(page);
      }
      await page.mouse.up();
      for (let i = 0; i < uploads; i++) {
        const answer = await upload(page, file);
        assert.equal(answer.isError, false, answer.text);
      }
    };
    await session(500, 10); // warm-up: caches, JIT, grown-once buffers
    const start = await measure();
    await session(4_500, 90); // CI time: a leak per move or per upload shows well within this
    const end = await measure();
    assert.ok(end.wasm <= start.wasm * 1.1 + 2 ** 20,
      `wasm memory grew from ${start.wasm} to ${end.wasm} bytes`);
    if (start.heap > 0) {
      assert.ok(end.heap < start.heap + 32 * 2 ** 20, `JS heap grew from ${start.heap} to ${end.heap} bytes`);
    }
    assert.equal(await page.evaluate(() => self.__liveObjectUrls), 0, 'object URLs were created and never revoked');
    assert.deepEqual(page.problems, []);
    await page.close();
  });
});

// The guided lesson and the page's languages: catalogues complete and used, every step sets up
// the view it promises (http and file://), keyboard-only navigation, Persian right to left with
// its font, and no horizontal overflow on a desktop or a phone in either language.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import vm from 'node:vm';
import bidiFactory from 'bidi-js';
import { FILE_URL, WEB_DIR, openExplorer, sharedBrowser } from './harness.mjs';
import { EN } from '../../web/src/messages-en.js';
import { STEPS } from '../../web/src/lesson.js';

const shared = sharedBrowser();

/** Every catalogue in web/i18n/*.js, by language code, read as the page reads it. */
async function catalogues() {
  const out = { en: EN };
  for (const name of await readdir(join(WEB_DIR, 'i18n'))) {
    if (!name.endsWith('.js') || name === 'vazirmatn.js') continue;
    const context = { self: {} };
    vm.runInNewContext(await readFile(join(WEB_DIR, 'i18n', name), 'utf8'), context);
    const [messages] = Object.values(context.self);
    out[name.replace(/\.js$/, '')] = messages;
  }
  return out;
}

/**
 * Message keys the page names: data-i18n attributes, string literals in the page's code (web/src
 * and its worker/) and in the Rust errors it shows (crates/NAME/src), the lesson's steps.
 */
async function usedKeys() {
  const html = await readFile(join(WEB_DIR, 'index.html'), 'utf8');
  const used = new Set([...html.matchAll(/data-i18n(?:-[a-z-]+)?="([^"]+)"/g)].map((m) => m[1]));
  const crates = join(WEB_DIR, '..', 'crates');
  const sources = [
    ...(await readdir(join(WEB_DIR, 'src'))).filter((n) => n !== 'messages-en.js').map((n) => join(WEB_DIR, 'src', n)),
    ...(await readdir(join(WEB_DIR, 'src', 'worker'))).map((n) => join(WEB_DIR, 'src', 'worker', n)),
    ...(await Promise.all((await readdir(crates)).map(async (c) => (await readdir(join(crates, c, 'src'))).map((n) => join(crates, c, 'src', n))))).flat(),
  ].filter((path) => /\.(js|rs)$/.test(path));
  for (const path of sources) {
    const source = await readFile(path, 'utf8');
    for (const m of source.matchAll(/['"]([a-z0-9-]+(?:\.[a-z0-9-]+)+)['"]/g)) if (m[1] in EN) used.add(m[1]);
  }
  for (const step of STEPS) {
    for (const part of ['title', 'text', 'try', 'notice', 'figure', 'ex1', 'ex2']) {
      if (`${step.key}.${part}` in EN) used.add(`${step.key}.${part}`);
    }
  }
  return used;
}

describe('message catalogues', () => {
  test('every language has exactly the English keys, every key is used, and every key the page names exists', async () => {
    const all = await catalogues();
    assert.ok(all.fa, 'web/i18n/fa.js is read');
    for (const [lang, messages] of Object.entries(all)) {
      const missing = Object.keys(EN).filter((k) => !(k in messages));
      const extra = Object.keys(messages).filter((k) => !(k in EN));
      assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, `${lang} differs from English`);
      for (const [key, text] of Object.entries(messages)) {
        const params = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
        assert.deepEqual(params(text), params(EN[key]), `${lang} ${key}: its {placeholders} differ from English`);
      }
    }
    const used = await usedKeys();
    assert.deepEqual(Object.keys(EN).filter((k) => !used.has(k)), [], 'messages no page code or markup uses');
    for (const step of STEPS) {
      assert.ok(`${step.key}.title` in EN, `${step.key} has no title`);
      assert.ok(`${step.key}.text` in EN || step.paragraphs, `${step.key} has no text`);
    }
    const html = await readFile(join(WEB_DIR, 'index.html'), 'utf8');
    const named = [...html.matchAll(/data-i18n(?:-[a-z-]+)?="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(named.filter((k) => !(k in EN)), [], 'index.html names messages that do not exist');
  });
});

/**
 * Latin-script words a Persian text may keep: model, dataset and program names, formula
 * symbols, units and file formats. Everything else must be Persian (an English term beside a
 * Persian one is marked {{en:…}} and a formula {{ltr:…}}: those are not counted).
 */
const LATIN_ALLOWED = new Set([
  'vae', 'ae', 'vae-beta4', 'vae-mse', 'live', 'live-ae', 'VAE', 'AE', 'vae-explorer', 'MNIST', 'Fashion-MNIST', 'Kuzushiji-MNIST',
  'Rust', 'WebAssembly',
  'KL', 'ELBO', 'IWAE', 'N', 'I', 'z', 'x', 'p', 'q', 'A', 'B', 'NaN', 'e', 'ln',
  'PNG', 'JPEG', 'GIF', 'WebP', 'SVG', 'vaew', '.vaew', 'ms',
  // Keys as a Persian keyboard prints them (the zoom's help).
  'Ctrl', 'Shift',
]);

/** The Latin-script words of `text` that are not allowed in a Persian one. */
const foreignWords = (text) => [...text.matchAll(/\.?[A-Za-z][A-Za-z0-9-]*/g)].map((m) => m[0]).filter((w) => !LATIN_ALLOWED.has(w));

describe('Persian has no stray English', () => {
  test('no Persian message keeps a Latin word outside its marked terms and formulas', async () => {
    const { fa } = await catalogues();
    const unmarked = (text) => foreignWords(text.replace(/\{\{(en|ltr|step):.*?\}\}/g, ' ').replace(/\{\w+\}/g, ' '));
    const stray = Object.entries(fa).map(([key, text]) => [key, unmarked(text)]).filter(([, words]) => words.length > 0);
    assert.deepEqual(stray, []);
    assert.deepEqual(unmarked('مدل {{en:encoder}} and vae {file}'), ['and'], 'the check finds a stray word');
  });

  test('with Persian on, the page shows no Latin words outside marked terms, formulas and the allowed names — readouts, training figures and errors included', async () => {
    const page = await openExplorer(shared.browser, `${shared.server.url}#lang=fa`);
    await page.waitForFunction(() => document.documentElement.lang === 'fa' && document.body.dataset.ready === 'true');
    await page.check('#layer-scatter');
    await page.click('#lesson-start'); // the lesson's example 3 fills the posterior readout
    await page.click('#train-step');
    await page.waitForFunction(() => document.getElementById('train-status').dataset.step === '1');
    await page.setInputFiles('#open-weights', { name: 'picture.vaew', mimeType: 'application/octet-stream', buffer: Buffer.from('not weights at all') });
    await page.waitForSelector('#status.error');
    const shown = await page.evaluate(() => {
      const visible = (el) => el.checkVisibility ? el.checkVisibility() : el.offsetParent !== null;
      const texts = [];
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const el = node.parentElement;
        if (!el || el.closest('[lang="en"], bdi, script, style, option') || !visible(el)) continue;
        if (node.textContent.trim()) texts.push(node.textContent.trim());
      }
      for (const el of document.querySelectorAll('[title], [aria-label]')) {
        for (const attr of ['title', 'aria-label']) if (el.hasAttribute(attr)) texts.push(el.getAttribute(attr));
      }
      for (const opt of document.querySelectorAll('select:not(#lang) option')) texts.push(opt.textContent);
      texts.push(document.title);
      return texts;
    });
    // An isolated run (U+2066 … U+2069) is a marked formula or term in an attribute.
    const stray = shown.map((text) => [text, foreignWords(text.replace(/\u2066.*?\u2069/g, ' '))]).filter(([, words]) => words.length > 0);
    assert.deepEqual(stray, []);
    assert.ok(shown.some((text) => text.includes('vae-explorer') && /[\u0600-\u06FF]/.test(text)), 'the error is said in Persian');
    assert.deepEqual(page.problems, []);
    await page.close();
  });
});

/** What the page shows now: lesson step, model, checked layers, point, and whether a posterior is shown. */
function view(page) {
  return page.evaluate(() => ({
    step: Number(document.getElementById('lesson').dataset.step),
    steps: Number(document.getElementById('lesson').dataset.steps),
    model: document.getElementById('model').value,
    layers: [...document.querySelectorAll('input[id^="layer-"]:checked')].map((el) => el.id.slice(6)).sort(),
    z: [Number(document.getElementById('z1').textContent.replace('\u2212', '-')), Number(document.getElementById('z2').textContent.replace('\u2212', '-'))],
    mu: document.getElementById('posterior').hidden ? null : document.getElementById('posterior').dataset.mu.split(',').map(Number),
    title: document.getElementById('lesson-title').textContent,
  }));
}

for (const mode of ['http', 'file']) {
  describe(`the lesson over ${mode}`, () => {
    const url = () => (mode === 'http' ? shared.server.url : FILE_URL);

    test('every step, opened by its deep link, sets up the model, layers and point it promises', async () => {
      for (const [i, step] of STEPS.entries()) {
        const n = i + 1;
        // A fresh page per step: a hash change within one page could race its fragment writer.
        const page = await openExplorer(shared.browser, `${url()}#lesson=${n}`);
        await page.waitForFunction((m) => document.getElementById('lesson').dataset.step === String(m), n);
        await page.waitForFunction((m) => document.getElementById('model').value === m, step.model);
        const shown = await view(page);
        assert.equal(shown.steps, STEPS.length);
        assert.equal(shown.title, EN[`${step.key}.title`]);
        assert.deepEqual(shown.layers, [...step.layers].sort(), `step ${n}: layers`);
        if (step.example) {
          assert.ok(shown.mu, `step ${n} encodes its example`);
          assert.ok(Math.abs(shown.z[0] - shown.mu[0]) < 0.01 && Math.abs(shown.z[1] - shown.mu[1]) < 0.01, `step ${n}: the point sits on the example's μ`);
        } else {
          assert.deepEqual(shown.z, [step.point.x, step.point.y], `step ${n}: point`);
        }
        if (step.samplePrior) assert.ok(await page.locator('#samples canvas').count() > 0, `step ${n} samples the prior`);
        if (step.figure) {
          await page.waitForFunction(() => !document.getElementById('lesson-body').textContent.includes('once the models have loaded'));
          assert.match(await page.locator('#lesson-body').textContent(), /\d\.\d\d/, `step ${n} quotes the page's figures`);
        }
        assert.deepEqual(page.problems, [], `step ${n}`);
        await page.close();
      }
    });
  });
}

describe('the lesson by keyboard and in Persian', () => {
  test('keyboard only: Tab to the lesson, Enter, arrows through every step, Escape closes; the explorer stays usable', async () => {
    const page = await openExplorer(shared.browser, shared.server.url);
    await page.waitForSelector('body[data-ready="true"]');
    for (let i = 0; i < 20 && (await page.evaluate(() => document.activeElement?.id)) !== 'lesson-start'; i++) await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'lesson-start', 'Tab reaches the lesson button');
    await page.keyboard.press('Enter');
    assert.equal((await view(page)).step, 1);
    for (let n = 2; n <= STEPS.length; n++) {
      await page.keyboard.press('ArrowRight');
      assert.equal((await view(page)).step, n);
    }
    await page.keyboard.press('ArrowRight');
    assert.equal((await view(page)).step, STEPS.length, 'the last step stays the last');
    // Tab reaches the step's buttons: Back goes one step back.
    for (let i = 0; i < 30 && (await page.evaluate(() => document.activeElement?.id)) !== 'lesson-prev'; i++) await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    assert.equal((await view(page)).step, STEPS.length - 1);
    await page.locator('#lesson').focus();
    await page.keyboard.press('Escape');
    assert.equal(await page.locator('#lesson').isVisible(), false);
    // The explorer works with the lesson closed: the plane takes arrow keys.
    await page.locator('#latent-plane').focus();
    const before = (await view(page)).z;
    await page.keyboard.press('ArrowUp');
    assert.ok((await view(page)).z[1] > before[1]);
    assert.deepEqual(page.problems, []);
    await page.close();
  });

  test('Persian: right to left with its font, the lesson in Persian, remembered in the fragment; formulas stay left to right', async () => {
    const fa = (await catalogues()).fa;
    const page = await openExplorer(shared.browser, shared.server.url);
    await page.selectOption('#lang', 'fa');
    await page.waitForFunction(() => document.documentElement.lang === 'fa');
    assert.equal(await page.evaluate(() => document.documentElement.dir), 'rtl');
    assert.equal(await page.locator('#lesson-start').textContent(), fa['lesson.start']);
    assert.ok(await page.evaluate(() => document.fonts.check('16px Vazirmatn', 'فضای پنهان')), 'the Persian font is loaded');
    await page.click('#lesson-start');
    await page.keyboard.press('ArrowLeft'); // forward, in a right-to-left page
    assert.equal((await view(page)).step, 2);
    assert.equal((await view(page)).title, fa['lesson.holes.title']);
    const ltr = await page.locator('#lesson-body bdi').evaluateAll((els) => els.map((el) => getComputedStyle(el).direction));
    assert.ok(ltr.length > 0 && ltr.every((d) => d === 'ltr'), 'formulas are isolated left-to-right runs');
    await page.waitForFunction(() => location.hash.includes('lang=fa') && location.hash.includes('lesson=2'));
    const reopened = await openExplorer(shared.browser, `${shared.server.url}${await page.evaluate(() => location.hash)}`);
    await reopened.waitForFunction(() => document.documentElement.lang === 'fa' && document.getElementById('lesson').dataset.step === '2');
    assert.equal((await view(reopened)).title, fa['lesson.holes.title']);
    assert.deepEqual([...page.problems, ...reopened.problems], []);
    await reopened.close();
    await page.close();
  });

  test('no horizontal overflow on a desktop or a phone, in English and in Persian, with the lesson open', async () => {
    for (const lang of ['en', 'fa']) {
      for (const width of [1280, 375]) {
        const page = await openExplorer(shared.browser, `${shared.server.url}#lang=${lang}&lesson=6`);
        await page.setViewportSize({ width, height: 900 });
        await page.waitForFunction((l) => document.documentElement.lang === l && document.getElementById('lesson').dataset.step === '6', lang);
        const sizes = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
        assert.ok(sizes.scroll <= sizes.client + 1, `${lang} at ${width}px: the page is ${sizes.scroll}px wide`);
        assert.deepEqual(page.problems, []);
        await page.close();
      }
    }
  });
});

const bidi = bidiFactory();
/** A right-to-left paragraph as the Unicode bidi algorithm (bidi-js) lays it out: its characters left to right on screen. */
const onScreen = (text) => bidi.getReorderedString(text, bidi.getEmbeddingLevels(text, 'rtl'));
/** What a number looks like as the page formats it. */
const SAMPLE = '\u22121.50';

/** Every Persian message as plain text the way the page makes it (`t()`, for tooltips and aria labels), numbers filled in. */
async function persianPlainText(page, fa) {
  const asked = Object.entries(fa).map(([key, text]) => [key, Object.fromEntries([...text.matchAll(/\{(\w+)\}/g)].map((m) => [m[1], SAMPLE]))]);
  return page.evaluate((all) => Object.fromEntries(all.map(([key, params]) => [key, VaeExplorer.message(key, params)])), asked);
}

/** The formulas ({{ltr:…}}) and English terms ({{en:…}}) of a message that do not read in their own order on screen. */
function scrambledRuns(raw, plain) {
  const screen = onScreen(plain);
  // Parameters first, then the marks, as the page fills a message.
  const filled = raw.replace(/\{(\w+)\}/g, SAMPLE);
  return [...filled.matchAll(/\{\{(?:ltr|en):(.+?)\}\}/g)].map((m) => m[1]).filter((run) => !screen.includes(run));
}

describe('Persian reads right', () => {
  test('every formula and English term of every Persian message keeps its order in right-to-left text, in tooltips too (Unicode bidi algorithm)', async () => {
    const { fa } = await catalogues();
    const page = await openExplorer(shared.browser, `${shared.server.url}#lang=fa`);
    await page.waitForFunction(() => document.documentElement.lang === 'fa' && document.body.dataset.ready === 'true');
    const plain = await persianPlainText(page, fa);
    const scrambled = Object.entries(fa).flatMap(([key, raw]) => scrambledRuns(raw, plain[key]).map((run) => `${key}: ${run}`));
    assert.deepEqual(scrambled, []);
    // The check can fail: the same message with its marks stripped (what tooltips got before) scrambles.
    const stripped = fa['training.beta-mean-title'].replace(/\{\{(?:ltr|en):(.+?)\}\}/g, '$1');
    assert.deepEqual(scrambledRuns(fa['training.beta-mean-title'], stripped), ['½‖μ‖²'], 'a stripped ½‖μ‖² scrambles');
    // The tooltip as the browser holds it: ½‖μ‖² isolated, so it reads ½‖μ‖².
    const title = await page.locator('label[data-i18n-title="training.beta-mean-title"]').getAttribute('title');
    assert.ok(title.includes('\u2066½‖μ‖²\u2069') && onScreen(title).includes('½‖μ‖²'), title);
    assert.deepEqual(page.problems, []);
    await page.close();
  });

  test('Persian text uses the glossary\'s word for each term, never a variant it rules out', async () => {
    const glossary = await readFile(join(WEB_DIR, '..', 'docs', 'glossary.md'), 'utf8');
    const section = glossary.split('## Variants ruled out')[1]?.split('\n## ')[0] ?? '';
    const variants = [...section.matchAll(/^\| «(.+?)» \| «(.+?)» \|/gm)].map((m) => ({ variant: m[1], use: m[2] }));
    assert.ok(variants.length >= 5, 'docs/glossary.md lists the variants it rules out');
    const { fa } = await catalogues();
    const found = Object.entries(fa).flatMap(([key, text]) => variants.filter(({ variant }) => text.includes(variant)).map(({ variant, use }) => `${key}: «${variant}» (use «${use}»)`));
    assert.deepEqual(found, []);
  });
});

// The figures a student feels, in each engine the journeys run in, through the same small page
// API (engines.mjs): what WebDriver can time from the page itself with `performance.now()` —
// time to the first image, a single decode and the 400-image grid, training images per second,
// the exact bound's first and refined picture. Chromium's column is measured the same way in the
// same run, so the two sit side by side. Imported by bench.mjs; also runs alone
// (`node tests/browser/bench-engines.mjs`, after `cargo xtask test` has set things up).
import { fileURLToPath } from 'node:url';
import { ENGINES } from './engines.mjs';
import { launchBrowser, renderTextPng, serveWeb } from './harness.mjs';

/** The engines compared: the tests' main one and Safari's. */
export const BENCH_ENGINES = ['chromium', 'webkit'];
/** Seconds of training sampled (after the first ten steps). */
const TRAINING_SECONDS = 8;

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

/** Decode timings inside the page: one point and the 400-image grid to RGBA, medians of blocks (the clock is coarse). */
const decodeInPage = () => {
  const e = new wasm_bindgen.Explorer('vae');
  const perCall = (fn, calls, blocks) => {
    const out = [];
    for (let b = 0; b < blocks; b++) {
      const t = performance.now();
      for (let i = 0; i < calls; i++) fn(b * calls + i);
      out.push((performance.now() - t) / calls);
    }
    out.splice(0, 2); // warm-up blocks
    return out.sort((a, b) => a - b)[Math.floor(out.length / 2)];
  };
  const r = {
    single: perCall((i) => e.decodeBatch(new Float32Array([Math.sin(i) * 2, Math.cos(i * 0.7) * 2])), 100, 12),
    grid: perCall(() => e.decodeGrid(20, 0, 0, 3), 1, 22),
  };
  e.free();
  return r;
};

/** Resolves when the exact bound of the next upload is done: when its first and its refined picture came, ms after the upload. */
const watchBound = () => {
  self.__bound = new Promise((resolve) => {
    const times = { t0: null, coarse: null, done: null };
    document.getElementById('upload').addEventListener('change', () => { times.t0 = performance.now(); }, { capture: true, once: true });
    const exact = document.getElementById('exact');
    const watch = new MutationObserver(() => {
      if (times.t0 == null) return;
      const now = performance.now() - times.t0;
      if (exact.dataset.state === 'coarse' && times.coarse == null) times.coarse = now;
      if (exact.dataset.state === 'done') { times.done = now; watch.disconnect(); resolve(times); }
    });
    watch.observe(exact, { attributes: true, attributeFilter: ['data-state'] });
  });
};

/**
 * One engine's column.
 * @param {string} name a key of ENGINES
 * @param {string} url the page
 * @param {Buffer[]} pngs digits to upload for the exact bound
 */
export async function engineFigures(name, url, pngs) {
  const engine = await ENGINES[name].start();
  try {
    const page = await engine.newPage();
    await page.goto(url);
    await page.waitFor(() => document.body.dataset.readyMs, undefined, 60_000);
    const ttiMs = Number(await page.evaluate(() => document.body.dataset.readyMs));
    const build = await page.evaluate(() => VaeExplorer.wasmBuild());
    const decode = await page.evaluate(decodeInPage);
    await page.click('#layer-true-posterior');
    const bound = { coarse: [], done: [] };
    for (const [i, png] of pngs.entries()) {
      await page.evaluate(watchBound);
      await page.upload('#upload', `bound-${i}.png`, png);
      const t = await page.evaluate(() => self.__bound);
      bound.coarse.push(t.coarse ?? t.done);
      bound.done.push(t.done);
    }
    await page.click('#train-start');
    await page.waitFor(() => Number(document.getElementById('train-status').dataset.step) >= 10, undefined, 120_000);
    const rates = [];
    for (let s = 0; s < TRAINING_SECONDS; s++) {
      await new Promise((ok) => setTimeout(ok, 1000));
      rates.push(Number(await page.evaluate(() => document.getElementById('train-status').dataset.imagesPerS)));
    }
    await page.click('#train-pause');
    const problems = [...page.problems];
    await page.close();
    return {
      engine: engine.version, build, tti_ms: ttiMs, decode_single_p50_ms: decode.single, decode_grid400_ms: decode.grid,
      bound_first_picture_p50_ms: median(bound.coarse), bound_refined_p50_ms: median(bound.done),
      train_page_images_per_s: median(rates), problems,
    };
  } finally {
    await engine.close();
  }
}

/** Every engine's column, one after another (never two at once on a 2-core machine). */
export async function engineColumns(url, pngs) {
  const out = {};
  for (const name of BENCH_ENGINES) out[name] = await engineFigures(name, url, pngs);
  return out;
}

/** The columns as a markdown table, WebKit's figures also as a ratio to Chromium's. */
export function engineTable(columns) {
  const [a, b] = BENCH_ENGINES.map((n) => columns[n]);
  const fmt = (v, d = 2) => (v == null || Number.isNaN(v) ? '—' : Number(v).toFixed(d));
  const rows = [
    ['engine', a.engine, b.engine, ''],
    ['the page\'s wasm build it runs', a.build, b.build, ''],
    ['time to the first image (page start → first decoded image)', `${fmt(a.tti_ms, 0)} ms`, `${fmt(b.tti_ms, 0)} ms`, fmt(b.tti_ms / a.tti_ms)],
    ['single decode, p50', `${fmt(a.decode_single_p50_ms, 3)} ms`, `${fmt(b.decode_single_p50_ms, 3)} ms`, fmt(b.decode_single_p50_ms / a.decode_single_p50_ms)],
    ['400-image grid decode to RGBA', `${fmt(a.decode_grid400_ms, 1)} ms`, `${fmt(b.decode_grid400_ms, 1)} ms`, fmt(b.decode_grid400_ms / a.decode_grid400_ms)],
    ['the exact bound after an upload: first picture / refined, p50 of the digits', `${fmt(a.bound_first_picture_p50_ms, 0)} / ${fmt(a.bound_refined_p50_ms, 0)} ms`,
      `${fmt(b.bound_first_picture_p50_ms, 0)} / ${fmt(b.bound_refined_p50_ms, 0)} ms`, `${fmt(b.bound_first_picture_p50_ms / a.bound_first_picture_p50_ms)} / ${fmt(b.bound_refined_p50_ms / a.bound_refined_p50_ms)}`],
    ['training in the page (Worker), the steps alone, batch 128', `${fmt(a.train_page_images_per_s, 0)} images/s`, `${fmt(b.train_page_images_per_s, 0)} images/s`, fmt(b.train_page_images_per_s / a.train_page_images_per_s)],
  ];
  return ['| measure (timed inside the page) | Chromium | WebKit | WebKit / Chromium |', '|---|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Five digits to upload, drawn once in Chromium (the same bytes for every engine). */
export async function boundDigits() {
  const browser = await launchBrowser();
  const page = await browser.newPage();
  await page.setContent('<canvas></canvas>');
  const pngs = await Promise.all(['2', '3', '4', '5', '7'].map((d) => renderTextPng(page, d, { size: 200 })));
  await browser.close();
  return pngs;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = await serveWeb();
  try {
    const columns = await engineColumns(server.url, await boundDigits());
    console.log(engineTable(columns));
    console.log(JSON.stringify(columns));
  } finally {
    await server.close();
  }
}

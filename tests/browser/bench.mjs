// `cargo xtask bench`: how the explorer feels, measured in headless Chromium on this machine.
// Prints a table and, on the last line, one JSON object with every figure. No pass/fail: the
// machines are shared and noisy, so figures are reported, not asserted.
import { gzipSync } from 'node:zlib';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ROOT, WEB_DIR, launchBrowser, renderTextPng, serveWeb } from './harness.mjs';
import { engineColumns, engineTable } from './bench-engines.mjs';
import { boundFigures, dragWork, emptyPageDragWork, floorPageDragWork, idleWork, inPageTraining, interactionLatencies, tfjsPeer, zoomWork } from './bench-interaction.mjs';

const PEER_DIR = fileURLToPath(new URL('./peer', import.meta.url));

const quantile = (xs, q) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))]; };

const browser = await launchBrowser();
const server = await serveWeb();
const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
const t0 = Date.now();
await page.goto(server.url);
await page.waitForSelector('body[data-ready-ms]', { timeout: 60_000 });
const ttiMs = Number(await page.locator('body').getAttribute('data-ready-ms'));
const wallTtiMs = Date.now() - t0;

// Per-call times are measured over blocks of calls: the browser's clock is coarsened to 0.1 ms.
// The peer is burn's generic tensor path on the same weights (decodeBatchReference), same page.
/** Decode timings in `page`: one point, the 400-image grid to RGBA, a 400-point batch, and burn's generic path. */
const decodeTimings = (page) => page.evaluate(() => {
  const e = new wasm_bindgen.Explorer('vae');
  const perCall = (fn, calls, blocks) => {
    const out = [];
    for (let b = 0; b < blocks; b++) {
      const t = performance.now();
      for (let i = 0; i < calls; i++) fn(b * calls + i);
      out.push((performance.now() - t) / calls);
    }
    return out.slice(2); // warm-up blocks
  };
  const point = (i) => [Math.sin(i) * 2, Math.cos(i * 0.7) * 2];
  const grid = new Float32Array(800);
  for (let i = 0; i < 400; i++) { grid[2 * i] = ((i % 20) / 19) * 6 - 3; grid[2 * i + 1] = (Math.floor(i / 20) / 19) * 6 - 3; }
  const r = {
    build: VaeExplorer.wasmBuild(),
    single: perCall((i) => e.decodeBatch(new Float32Array(point(i))), 100, 12),
    singleRef: perCall((i) => e.decodeBatchReference(new Float32Array(point(i))), 100, 12),
    grid: perCall(() => e.decodeGrid(20, 0, 0, 3), 1, 42),
    // 40 timed 400-point batches (medians): one noisy second on this shared VM moves a median of 12.
    batch400: perCall(() => e.decodeBatch(grid), 1, 42),
    batch400Ref: perCall(() => e.decodeBatchReference(grid), 1, 14),
  };
  e.free();
  return r;
});
const decode = await decodeTimings(page);
// The plain SIMD128 build (what browsers without relaxed SIMD run), in a page of its own.
const plainPage = await browser.newPage({ viewport: { width: 1100, height: 900 } });
await plainPage.goto(`${server.url}?wasm=simd128`);
await plainPage.waitForSelector('body[data-ready-ms]', { timeout: 60_000 });
const decodePlain = await decodeTimings(plainPage);
await plainPage.close();

// Drag with every layer on: one pointer move per animation frame, frame-to-frame intervals.
for (const id of ['grid', 'scatter', 'aggregate', 'continuity', 'prior']) await page.check(`#layer-${id}`);
const frames = await page.evaluate(async () => {
  const canvas = document.getElementById('latent-plane');
  const box = canvas.getBoundingClientRect();
  const at = (i) => ({ clientX: box.left + box.width * (0.5 + 0.35 * Math.cos(i / 20)), clientY: box.top + box.height * (0.5 + 0.35 * Math.sin(i / 13)), pointerId: 1, bubbles: true });
  canvas.dispatchEvent(new PointerEvent('pointerdown', at(0)));
  const stamps = [];
  for (let i = 1; i <= 180; i++) {
    canvas.dispatchEvent(new PointerEvent('pointermove', at(i)));
    stamps.push(await new Promise((ok) => requestAnimationFrame(ok)));
  }
  canvas.dispatchEvent(new PointerEvent('pointerup', at(181)));
  return stamps.slice(1).map((t, i) => t - stamps[i]).slice(20);
});
const hud = await page.locator('#hud').textContent();

// Main-thread time per pointer move (what a user feels), all layers on; the same on an empty
// page (input dispatch and measuring alone) is subtracted in the figures below.
const planeSize = Math.round((await page.locator('#latent-plane').boundingBox()).width);
// The page left alone with every layer on, once the layers are made: nothing to draw, nothing to do.
await page.waitForFunction(() => !document.getElementById('latent-plane').dataset.refining);
const idleMsPerS = await idleWork(page);
const dragIdle = await dragWork(page, '#latent-plane');
// A zoom step (a wheel notch) with every layer on: the step's own work, and when its layers are made.
const zoom = await zoomWork(page);
const dragEmpty = await emptyPageDragWork(browser, planeSize);
const dragFloor = await floorPageDragWork(browser, page);
// Every other interaction's latency: model switch, each layer, upload → posterior, stroke → posterior.
const latencies = await interactionLatencies(page, ['vae', 'ae', 'vae-beta4'], await renderTextPng(page, '3', { size: 200 }));
// The exact bound's layer (its Worker): ten digits uploaded, the first picture and the refined
// one, the main thread's longest stall, a drag while each job runs, strokes with it on; then the
// same with Chrome's CPU throttled 4× (a phone-class core).
const boundPngs = await Promise.all(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'].map((d) => renderTextPng(page, d, { size: 200 })));
const bound = await boundFigures(page, boundPngs);
const bound4x = await boundFigures(page, boundPngs, 4);
for (const id of ['grid', 'scatter', 'aggregate', 'continuity', 'prior']) await page.check(`#layer-${id}`);
// Training in the page (a Worker), then the same drag while it runs.
const training = await inPageTraining(page);
// With ≤ 2 cores the Worker holds its steps while the pointer is down (interaction first): the
// steps it took during the drag are reported beside the figures, so that is visible.
const stepBeforeDrag = Number(await page.locator('#train-status').getAttribute('data-step'));
const dragStarted = Date.now();
const dragTraining = await dragWork(page, '#latent-plane');
const dragTrainingSteps = Number(await page.locator('#train-status').getAttribute('data-step')) - stepBeforeDrag;
const dragTrainingSeconds = (Date.now() - dragStarted) / 1000;
const cores = await page.evaluate(() => navigator.hardwareConcurrency);
await page.click('#train-pause');
// The plain SIMD128 training module (what browsers without relaxed SIMD run), in a page of its own.
const plainTrainingPage = await browser.newPage({ viewport: { width: 1100, height: 900 } });
await plainTrainingPage.goto(`${server.url}?wasm=simd128`);
await plainTrainingPage.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
const trainingPlain = await inPageTraining(plainTrainingPage, 10);
await plainTrainingPage.close();
// A Gaussian decoder's step (grey pixels, squared error) in the same module, in a page of its own.
const gaussianTrainingPage = await browser.newPage({ viewport: { width: 1100, height: 900 } });
await gaussianTrainingPage.goto(server.url);
await gaussianTrainingPage.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
await gaussianTrainingPage.selectOption('#train-likelihood', 'gaussian');
const trainingGaussian = await inPageTraining(gaussianTrainingPage, 10);
await gaussianTrainingPage.close();
// TensorFlow.js training the same model on the same digits, in this browser.
const tfjs = await tfjsPeer(browser, PEER_DIR);

// The same 400 points decoded by our page, to check the peer computes the same thing.
const gridPoints = Array.from({ length: 400 }, (_, i) => [((i % 20) / 19) * 6 - 3, (Math.floor(i / 20) / 19) * 6 - 3]).flat();
const oursOnGrid = await page.evaluate((zs) => {
  const e = new wasm_bindgen.Explorer('vae');
  const out = Array.from(e.decodeBatch(new Float32Array(zs)));
  e.free();
  return out;
}, gridPoints);

// Peer: onnxruntime-web (wasm backend, SIMD, one thread) running decoder.onnx — the same decoder
// and weights, exported by `trainer export-onnx` — in a page of its own, in this same run.
let peer = null;
if (existsSync(join(PEER_DIR, 'decoder.onnx')) && existsSync(join(PEER_DIR, 'node_modules/onnxruntime-web'))) {
  const peerServer = await serveWeb(PEER_DIR);
  const peerPage = await browser.newPage();
  await peerPage.goto(peerServer.url);
  peer = await peerPage.evaluate(async (zs) => {
    const session = await self.peerReady;
    const run = async (points) => (await session.run({ z: new ort.Tensor('float32', points, [points.length / 2, 2]) })).x.data;
    const perCall = async (fn, calls, blocks) => {
      const out = [];
      for (let b = 0; b < blocks; b++) {
        const t = performance.now();
        for (let i = 0; i < calls; i++) await fn(b * calls + i);
        out.push((performance.now() - t) / calls);
      }
      return out.slice(2);
    };
    const grid = new Float32Array(zs);
    return {
      single: await perCall((i) => run(new Float32Array([Math.sin(i) * 2, Math.cos(i * 0.7) * 2])), 100, 12),
      batch400: await perCall(() => run(grid), 1, 42),
      onGrid: Array.from(await run(grid)),
    };
  }, gridPoints);
  await peerPage.close();
  await peerServer.close();
} else {
  console.error('peer skipped: run `cargo xtask bench` (it exports tests/browser/peer/decoder.onnx and installs onnxruntime-web)');
}

// What the page transfers before its first image (the default model is inside the wasm), and
// with every model (the others load as scripts after the first image).
const gz = (f) => gzipSync(readFileSync(f), { level: 9 }).length;
const bytesScript = decode.build === 'relaxed-simd' ? 'vae_wasm_relaxed_bytes.js' : 'vae_wasm_bytes.js';
const initialFiles = [join(WEB_DIR, 'index.html'), join(WEB_DIR, 'style.css'),
  join(WEB_DIR, 'js', 'app.js'), // not js/train-worker.js: it arrives inside pkg/train.js, when training starts
  ...['vae_wasm.js', bytesScript, 'models.js'].map((f) => join(WEB_DIR, 'pkg', f))];
const modelFiles = readdirSync(join(WEB_DIR, 'pkg')).filter((f) => /^model-.*\.js$/.test(f)).map((f) => join(WEB_DIR, 'pkg', f));
const transferBytesGz = initialFiles.reduce((sum, f) => sum + gz(f), 0);
const transferBytesGzAll = transferBytesGz + modelFiles.reduce((sum, f) => sum + gz(f), 0);
const wasmBytes = readFileSync(decode.build === 'relaxed-simd' ? join(ROOT, 'target/wasm-relaxed/vae_wasm_bg.wasm') : join(WEB_DIR, 'pkg', 'vae_wasm_bg.wasm')).length;
const models = await page.evaluate(() => VaeExplorer.modelNames().length);

await browser.close();
// The same page in Safari's engine beside Chromium's, through the journeys' page API (WebDriver),
// each timed inside the page; skipped, and said, where WebKit cannot start.
const engines = await engineColumns(server.url, boundPngs).catch((err) => ({ skipped: `WebKit column: ${err.message}` }));
await server.close();

const r = {
  wasm_build: decode.build,
  decode_single_p50_ms: quantile(decode.single, 0.5),
  decode_single_p95_ms: quantile(decode.single, 0.95),
  decode_grid400_ms: quantile(decode.grid, 0.5),
  decode_batch400_ms: quantile(decode.batch400, 0.5),
  decode_single_simd128_p50_ms: quantile(decodePlain.single, 0.5),
  decode_grid400_simd128_ms: quantile(decodePlain.grid, 0.5),
  decode_batch400_simd128_ms: quantile(decodePlain.batch400, 0.5),
  burn_generic_single_p50_ms: quantile(decode.singleRef, 0.5),
  burn_generic_batch400_ms: quantile(decode.batch400Ref, 0.5),
  ratio_single_vs_burn_generic: quantile(decode.single, 0.5) / quantile(decode.singleRef, 0.5),
  ratio_batch400_vs_burn_generic: quantile(decode.batch400, 0.5) / quantile(decode.batch400Ref, 0.5),
  drag_frame_p50_ms: quantile(frames, 0.5),
  drag_frame_p95_ms: quantile(frames, 0.95),
  onnxruntime_web_single_p50_ms: peer ? quantile(peer.single, 0.5) : null,
  onnxruntime_web_batch400_ms: peer ? quantile(peer.batch400, 0.5) : null,
  ratio_single_vs_onnxruntime_web: peer ? quantile(decode.single, 0.5) / quantile(peer.single, 0.5) : null,
  ratio_batch400_vs_onnxruntime_web: peer ? quantile(decode.batch400, 0.5) / quantile(peer.batch400, 0.5) : null,
  max_abs_diff_vs_onnxruntime_web: peer ? oursOnGrid.reduce((m, v, i) => Math.max(m, Math.abs(v - peer.onGrid[i])), 0) : null,
  tti_ms: ttiMs,
  tti_wall_ms: wallTtiMs,
  transfer_bytes_gz: transferBytesGz,
  transfer_bytes_gz_all_models: transferBytesGzAll,
  wasm_bytes: wasmBytes,
  models,
};
// Training figures come from `cargo xtask bench` (native runs, before the browser starts).
const native = process.env.BENCH_TRAINING_JSON ? JSON.parse(process.env.BENCH_TRAINING_JSON) : { skipped: ['run through `cargo xtask bench`'] };
r.epoch_s = native.epoch_s ?? null;
r.images_per_s = native.images_per_s ?? null;
r.pytorch_epoch_s = native.pytorch_epoch_s ?? null;
r.pytorch_default_epoch_s = native.pytorch_default_epoch_s ?? null;
r.pytorch_fused_epoch_s = native.pytorch_fused_epoch_s ?? null;
r.pytorch_default_epoch_1thread_s = native.pytorch_default_epoch_1thread_s ?? null;
r.pytorch_fused_epoch_1thread_s = native.pytorch_fused_epoch_1thread_s ?? null;
r.ratio_epoch_vs_pytorch = native.ratio_epoch_vs_pytorch ?? null;
r.epoch_1thread_s = native.epoch_1thread_s ?? null;
r.pytorch_epoch_1thread_s = native.pytorch_epoch_1thread_s ?? null;
r.ratio_epoch_1thread_vs_pytorch = native.ratio_epoch_1thread_vs_pytorch ?? null;
r.pytorch_version = native.pytorch?.torch ?? null;
r.training_threads = native.threads ?? null;
r.exact_eval_images_per_s = native.exact_images_per_s ?? null;
r.exact_evaluations_median = native.exact_evaluations_median ?? null;
r.exact_evaluations_p95 = native.exact_evaluations_p95 ?? null;
r.exact_unsure = native.exact_unsure ?? null;
r.exact_reference_max_abs = native.exact_reference_max_abs ?? null;
r.exact_reference_disagreeing = native.exact_reference_disagreeing ?? null;
r.native_gaussian_step_images_per_s = native.gaussian_step_images_per_s ?? null;
r.native_step_images_per_s = native.step_images_per_s ?? null;
r.ratio_native_gaussian_vs_bernoulli = r.native_gaussian_step_images_per_s && r.native_step_images_per_s ? r.native_gaussian_step_images_per_s / r.native_step_images_per_s : null;
r.training_rounds = native.training_rounds ?? null;
r.skipped = native.skipped ?? [];
if (!peer) r.skipped.push('onnxruntime-web peer');
// Interaction: per-move main-thread work above the empty page's median.
const emptyWork = quantile(dragEmpty.work, 0.5), emptyScript = quantile(dragEmpty.script, 0.5);
r.drag_work_empty_page_p50_ms = emptyWork;
// The empty page's own p95 above its median: how far measuring and input dispatch alone spread
// the tail, i.e. the part of a p95 above the empty page's median that no page code can remove.
r.drag_work_empty_page_spread_p95_ms = quantile(dragEmpty.work, 0.95) - emptyWork;
// A bare page making the explorer's per-move changes (ring, numbers, decoded canvases) and nothing
// else: what those changes cost the browser on this machine, the part of the figures below that
// no page code can remove.
r.drag_work_floor_p50_ms = quantile(dragFloor.work, 0.5) - emptyWork;
r.drag_work_floor_p95_ms = quantile(dragFloor.work, 0.95) - emptyWork;
r.drag_work_p50_ms = quantile(dragIdle.work, 0.5) - emptyWork;
r.idle_work_ms_per_s = idleMsPerS;
r.drag_work_p95_ms = quantile(dragIdle.work, 0.95) - emptyWork;
r.drag_script_p95_ms = quantile(dragIdle.script, 0.95) - emptyScript;
r.zoom_step_work_p50_ms = quantile(zoom.work, 0.5) - emptyWork;
r.zoom_step_work_p95_ms = quantile(zoom.work, 0.95) - emptyWork;
r.zoom_refined_p50_ms = quantile(zoom.refinedMs, 0.5);
r.zoom_refined_p95_ms = quantile(zoom.refinedMs, 0.95);
r.drag_work_training_p50_ms = quantile(dragTraining.work, 0.5) - emptyWork;
r.drag_work_training_p95_ms = quantile(dragTraining.work, 0.95) - emptyWork;
const worstTrainingMove = dragTraining.work.indexOf(Math.max(...dragTraining.work));
r.drag_work_training_max_ms = dragTraining.work[worstTrainingMove] - emptyWork;
// The worst move's main-thread CPU time, as measured (not less the empty page's): far below its
// work, the thread waited for a core (another process or tenant) rather than did the page's work.
r.drag_work_training_max_cpu_ms = dragTraining.cpu[worstTrainingMove];
r.drag_training_steps_per_s = dragTrainingSteps / dragTrainingSeconds;
r.cores = cores;
// Latency of the other interactions, p95 (the worst cached layer's), and the slowest layer computed from scratch.
r.latency_model_switch_p95_ms = quantile(latencies.switch, 0.95);
r.latency_layer_p95_ms = Math.max(...Object.values(latencies.layer).map((ms) => quantile(ms, 0.95)));
r.latency_layer_worst = Object.entries(latencies.layer).sort((a, b) => quantile(b[1], 0.95) - quantile(a[1], 0.95))[0][0];
r.latency_layer_from_scratch_max_ms = Math.max(...latencies.layerFromScratch);
r.latency_layer_full_max_ms = Math.max(...latencies.layerFull); // a map made between frames, to its last band
r.latency_upload_p95_ms = quantile(latencies.upload, 0.95);
r.latency_draw_p95_ms = quantile(latencies.draw, 0.95);
for (const [suffix, b] of [['', bound], ['_4x', bound4x]]) {
  r[`bound_first_picture_p50_ms${suffix}`] = quantile(b.coarse, 0.5);
  r[`bound_first_picture_p95_ms${suffix}`] = quantile(b.coarse, 0.95);
  r[`bound_refined_p50_ms${suffix}`] = quantile(b.done, 0.5);
  r[`bound_refined_p95_ms${suffix}`] = quantile(b.done, 0.95);
  r[`bound_longest_stall_ms${suffix}`] = Math.max(...b.stall);
  r[`drag_work_with_bound_p95_ms${suffix}`] = quantile(b.drag, 0.95);
  r[`drag_work_with_bound_moves${suffix}`] = b.drag.length;
  r[`drag_work_alone_p95_ms${suffix}`] = quantile(b.dragAlone, 0.95);
  r[`latency_draw_with_bound_p95_ms${suffix}`] = quantile(b.draw, 0.95);
}
// Frame intervals only say whether frames were dropped (an interval past 1.5 display periods).
r.dropped_frames_share = frames.filter((ms) => ms > 25).length / frames.length;
// Training in the page against TensorFlow.js (same browser, same model, batch and data) and
// against our own native step on one thread (the same code, compiled natively).
r.train_page_images_per_s = training.stepImagesPerS; // the training steps alone, as TF.js's figure
r.train_page_with_views_images_per_s = training.imagesPerS; // by the wall clock, live views included
r.train_page_simd128_images_per_s = trainingPlain.stepImagesPerS; // the plain module, for browsers without relaxed SIMD
r.train_page_gaussian_images_per_s = trainingGaussian.stepImagesPerS; // a Gaussian decoder's steps
r.ratio_train_page_gaussian_vs_bernoulli = r.train_page_gaussian_images_per_s / r.train_page_images_per_s;
r.tfjs_wasm_images_per_s = tfjs.wasm?.imagesPerS ?? null;
r.tfjs_cpu_images_per_s = tfjs.cpu?.imagesPerS ?? null;
r.tfjs_wasm_simd = tfjs.wasm?.simd ?? null;
r.ratio_train_vs_tfjs_wasm = r.tfjs_wasm_images_per_s ? r.train_page_images_per_s / r.tfjs_wasm_images_per_s : null;
r.ratio_train_vs_tfjs_cpu = r.tfjs_cpu_images_per_s ? r.train_page_images_per_s / r.tfjs_cpu_images_per_s : null;
r.native_step_images_per_s_1thread = native.step_images_per_s_1thread ?? null;
r.ratio_train_wasm_vs_native_1thread = r.native_step_images_per_s_1thread ? r.train_page_images_per_s / r.native_step_images_per_s_1thread : null;
r.ratio_train_wasm_simd128_vs_native_1thread = r.native_step_images_per_s_1thread ? r.train_page_simd128_images_per_s / r.native_step_images_per_s_1thread : null;
if (tfjs.skipped) r.skipped.push(tfjs.skipped);
if ('skipped' in engines) r.skipped.push(engines.skipped);
else r.engines = engines;
// The headline ratio is the worse of the two: we must be at least as fast for one point and for a grid.
r.ratio_vs_onnxruntime_web = peer ? Math.max(r.ratio_single_vs_onnxruntime_web, r.ratio_batch400_vs_onnxruntime_web) : null;
const fmt = (v, d = 3) => (typeof v === 'number' ? (Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(1) : v.toFixed(d)) : 'skipped');
const rows = [
  ['build of the page\'s module this browser runs (relaxed SIMD where it validates, else SIMD128)', r.wasm_build],
  ['single decode, p50 / p95 (per call, blocks of 100)', `${fmt(r.decode_single_p50_ms)} / ${fmt(r.decode_single_p95_ms)} ms`],
  ['400-image manifold grid to RGBA (one call)', `${fmt(r.decode_grid400_ms, 1)} ms`],
  ['400-point batch decode', `${fmt(r.decode_batch400_ms, 1)} ms`],
  ['the plain SIMD128 build (browsers without relaxed SIMD): single p50 / grid to RGBA / 400 batch', `${fmt(r.decode_single_simd128_p50_ms)} / ${fmt(r.decode_grid400_simd128_ms, 1)} / ${fmt(r.decode_batch400_simd128_ms, 1)} ms`],
  ['peer: burn generic path, single / 400 batch', `${fmt(r.burn_generic_single_p50_ms)} / ${fmt(r.burn_generic_batch400_ms, 1)} ms`],
  ['ratio ours / burn generic, single / 400 batch', `${fmt(r.ratio_single_vs_burn_generic, 2)} / ${fmt(r.ratio_batch400_vs_burn_generic, 2)}`],
  ['peer: onnxruntime-web 1.30 (wasm, SIMD, 1 thread), single / 400 batch', `${fmt(r.onnxruntime_web_single_p50_ms)} / ${fmt(r.onnxruntime_web_batch400_ms, 1)} ms`],
  ['ratio ours / onnxruntime-web, single / 400 batch (target ≤ 1)', `${fmt(r.ratio_single_vs_onnxruntime_web, 2)} / ${fmt(r.ratio_batch400_vs_onnxruntime_web, 2)}`],
  ['largest pixel difference, ours vs onnxruntime-web, 400 points', fmt(r.max_abs_diff_vs_onnxruntime_web)],
  [`training epoch (60,000 images + test ELBO; the fastest of ${r.training_rounds} rounds of two epochs, each round beside one of PyTorch's), ours, release, ${r.training_threads} threads`, r.epoch_s == null ? 'skipped' : `${fmt(r.epoch_s, 2)} s (${fmt(r.images_per_s, 0)} images/s)`],
  [`peer: PyTorch ${r.pytorch_version ?? ''} (CPU, same model/batch/threads), the faster of its default Adam and its fused one (\`fused=True\`), each timed in the same rounds`, r.pytorch_epoch_s == null ? 'skipped' : `${fmt(r.pytorch_epoch_s, 2)} s (default ${fmt(r.pytorch_default_epoch_s, 2)} s, fused ${fmt(r.pytorch_fused_epoch_s, 2)} s)`],
  ['ratio ours / PyTorch at its best, epoch time (target ≤ 1)', fmt(r.ratio_epoch_vs_pytorch, 2)],
  ['the same on one thread: ours / PyTorch at its best (per-core speed, without the second core)', r.epoch_1thread_s == null || r.pytorch_epoch_1thread_s == null ? 'skipped' : `${fmt(r.epoch_1thread_s, 2)} s / ${fmt(r.pytorch_epoch_1thread_s, 2)} s = ${fmt(r.ratio_epoch_1thread_vs_pytorch, 2)} (PyTorch default ${fmt(r.pytorch_default_epoch_1thread_s, 2)} s, fused ${fmt(r.pytorch_fused_epoch_1thread_s, 2)} s)`],
  ['speed-up from the second core, ours / PyTorch', r.epoch_1thread_s == null || r.pytorch_epoch_1thread_s == null || r.epoch_s == null || r.pytorch_epoch_s == null ? 'skipped' : `${fmt(r.epoch_1thread_s / r.epoch_s, 2)}× / ${fmt(r.pytorch_epoch_1thread_s / r.pytorch_epoch_s, 2)}×`],
  ['drag frame interval with every layer on, p50 / p95 (share of dropped frames)', `${fmt(r.drag_frame_p50_ms, 1)} / ${fmt(r.drag_frame_p95_ms, 1)} ms (${fmt(100 * r.dropped_frames_share, 1)}%)`],
  ['main-thread time per drag move above an empty page\'s, all layers on, p50 / p95 (script p95)', `${fmt(r.drag_work_p50_ms, 2)} / ${fmt(r.drag_work_p95_ms, 2)} ms (${fmt(r.drag_script_p95_ms, 2)} ms); empty page ${fmt(r.drag_work_empty_page_p50_ms, 2)} ms, its own p95 ${fmt(r.drag_work_empty_page_spread_p95_ms, 2)} ms above that`],
  ...[['', '1×'], ['_4x', '4× throttled']].map(([x, rate]) => [`the exact bound in its Worker after an upload (ten digits; Chrome's CPU ${rate}): first picture with its figures, p50 / p95; refined picture, p50 / p95; the main thread's longest stall meanwhile (any task of the page's); a drag while it runs, main-thread time per move p95 (moves) / the same drags with the layer off; stroke → posterior with the layer on, p95`, `${fmt(r[`bound_first_picture_p50_ms${x}`], 0)} / ${fmt(r[`bound_first_picture_p95_ms${x}`], 0)} ms; ${fmt(r[`bound_refined_p50_ms${x}`], 0)} / ${fmt(r[`bound_refined_p95_ms${x}`], 0)} ms; ${fmt(r[`bound_longest_stall_ms${x}`], 1)} ms; ${fmt(r[`drag_work_with_bound_p95_ms${x}`], 2)} ms (${r[`drag_work_with_bound_moves${x}`]}) / ${fmt(r[`drag_work_alone_p95_ms${x}`], 2)} ms; ${fmt(r[`latency_draw_with_bound_p95_ms${x}`], 1)} ms`]),
  ['trainer eval --exact natively (quadrature per test image, every core)', `${fmt(r.exact_eval_images_per_s, 1)} images/s (the 10,000 test images in ${fmt(10000 / (r.exact_eval_images_per_s || NaN) / 60, 0)} min)`],
  ['main-thread time of a zoom step (a wheel notch) above an empty page\'s move, every layer on, p50 / p95; its layers made for the new window, p50 / p95 after the step', `${fmt(r.zoom_step_work_p50_ms, 2)} / ${fmt(r.zoom_step_work_p95_ms, 2)} ms; ${fmt(r.zoom_refined_p50_ms, 0)} / ${fmt(r.zoom_refined_p95_ms, 0)} ms`],
  ['… the floor: a bare page making the same changes per move (the ring, the three numbers, a 28×28 image into each decoded canvas shown) and nothing else, p50 / p95 above the empty page', `${fmt(r.drag_work_floor_p50_ms, 2)} / ${fmt(r.drag_work_floor_p95_ms, 2)} ms`],
  ['main-thread time per second with every layer on and nothing moving (the page asks for animation frames only when something changed)', `${fmt(r.idle_work_ms_per_s, 1)} ms/s`],
  ['latency p95: model switch / worst layer / upload → posterior / drawing stroke → posterior', `${fmt(r.latency_model_switch_p95_ms, 1)} / ${fmt(r.latency_layer_p95_ms, 1)} (${r.latency_layer_worst}) / ${fmt(r.latency_upload_p95_ms, 1)} / ${fmt(r.latency_draw_p95_ms, 1)} ms`],
  ['a layer computed from scratch (first time for a model), the slowest: first picture / full map (made between frames)', `${fmt(r.latency_layer_from_scratch_max_ms, 1)} / ${fmt(r.latency_layer_full_max_ms, 1)} ms`],
  ['… while training runs in the page, p50 / p95 / worst move (training steps per second during the drag: the Worker holds them while the pointer is down on ≤ 2 cores; this machine has ' + r.cores + ')', `${fmt(r.drag_work_training_p50_ms, 2)} / ${fmt(r.drag_work_training_p95_ms, 2)} / ${fmt(r.drag_work_training_max_ms, 1)} ms (of the worst move, ${fmt(r.drag_work_training_max_cpu_ms, 1)} ms on the CPU; ${fmt(r.drag_training_steps_per_s, 1)} steps/s)`],
  [`training in the page (Worker, wasm, one thread), batch ${training.batch}: the steps alone / by the wall clock with the live views`, `${fmt(r.train_page_images_per_s, 0)} / ${fmt(r.train_page_with_views_images_per_s, 0)} images/s`],
  ['peer: TensorFlow.js 4.22, same model/batch/optimiser/digits, `wasm` backend (one thread) / `cpu` backend', `${fmt(r.tfjs_wasm_images_per_s, 0)} / ${fmt(r.tfjs_cpu_images_per_s, 0)} images/s`],
  ['ratio ours / TensorFlow.js wasm / cpu, images per second', `${fmt(r.ratio_train_vs_tfjs_wasm, 1)} / ${fmt(r.ratio_train_vs_tfjs_cpu, 1)}`],
  ['the plain SIMD128 training module (browsers without relaxed SIMD), the steps alone', `${fmt(r.train_page_simd128_images_per_s, 0)} images/s`],
  ['a Gaussian decoder\'s training steps (grey pixels, squared error) / the Bernoulli one\'s, in the page (wasm) and natively (release, every core)', `${fmt(r.train_page_gaussian_images_per_s, 0)} images/s, ${fmt(r.ratio_train_page_gaussian_vs_bernoulli, 2)}; ${fmt(r.native_gaussian_step_images_per_s, 0)} images/s, ${fmt(r.ratio_native_gaussian_vs_bernoulli, 2)}`],
  ['our native step on one thread (release, training steps only) and wasm / native (this browser\'s build; plain SIMD128)', `${fmt(r.native_step_images_per_s_1thread, 0)} images/s, ${fmt(r.ratio_train_wasm_vs_native_1thread, 2)}; ${fmt(r.ratio_train_wasm_simd128_vs_native_1thread, 2)}`],
  ['time to interactive (page start → first decoded image)', `${fmt(r.tti_ms, 0)} ms (${r.tti_wall_ms} ms from goto)`],
  ['transferred bytes before the first image, gzip -9 (page, scripts, wasm with the default model inlined)', `${(r.transfer_bytes_gz / 1e6).toFixed(2)} MB (wasm ${(wasmBytes / 1e6).toFixed(2)} MB)`],
  [`… with all ${models} models (the others load after the first image)`, `${(r.transfer_bytes_gz_all_models / 1e6).toFixed(2)} MB`],
];
// The performance issue's targets, each with its figure from this run.
const targets = [
  ['single decode in Chromium, p50', '≤ 0.1 ms', r.decode_single_p50_ms, (v) => v <= 0.1, (v) => `${fmt(v)} ms`],
  ['400-image grid decode in Chromium', '≤ 16 ms', r.decode_batch400_ms, (v) => v <= 16, (v) => `${fmt(v, 1)} ms (to RGBA: ${fmt(r.decode_grid400_ms, 1)} ms)`],
  // Frame intervals cannot be shorter than the 60 Hz display period and requestAnimationFrame
  // timestamps jitter by about 0.1 ms; a missed frame shows as 33 ms.
  ['drag frame, all layers on, p95', '≤ 16.7 ms (one 60 Hz frame, ±0.5 ms timestamp jitter)', r.drag_frame_p95_ms, (v) => v <= 16.7 + 0.5, (v) => `${fmt(v, 1)} ms`],
  ['ours / onnxruntime-web (worse of single and 400 batch)', '≤ 1.0', r.ratio_vs_onnxruntime_web, (v) => v <= 1, (v) => fmt(v, 2)],
  ['training epoch, ours / PyTorch (issue 15 asks ≤ 0.8; ≤ 1.0 before it)', '≤ 0.8', r.ratio_epoch_vs_pytorch, (v) => v <= 0.8, (v) => fmt(v, 2)],
  ['time to interactive', '≤ 1 s', r.tti_ms, (v) => v <= 1000, (v) => `${fmt(v, 0)} ms`],
  ['main-thread time per drag move above an empty page, p95 (script p95 ≤ 1 ms)', '≤ 2 ms', r.drag_work_p95_ms, (v) => v <= 2 && r.drag_script_p95_ms <= 1, (v) => `${fmt(v, 2)} ms (script ${fmt(r.drag_script_p95_ms, 2)} ms; the bare page's floor ${fmt(r.drag_work_floor_p95_ms, 2)} ms)`],
  ['the same while training runs in the page, p95 (worst move ≤ 16.7 ms)', '≤ 4 ms', r.drag_work_training_p95_ms, (v) => v <= 4 && r.drag_work_training_max_ms <= 16.7, (v) => `${fmt(v, 2)} ms (worst ${fmt(r.drag_work_training_max_ms, 1)} ms)`],
  ['the exact bound in its Worker: first picture p95 ≤ 100 ms, refined p95 ≤ 300 ms, no main-thread stall over 16 ms meanwhile (issue 36; ten digits)', '≤ 100 / 300 / 16 ms', r.bound_refined_p95_ms, (v) => r.bound_first_picture_p95_ms <= 100 && v <= 300 && r.bound_longest_stall_ms <= 16, (v) => `${fmt(r.bound_first_picture_p95_ms, 0)} / ${fmt(v, 0)} / ${fmt(r.bound_longest_stall_ms, 1)} ms`],
  ['… with Chrome\'s CPU throttled 4×: a drag while the bound runs stays within a frame (main-thread time per move, p95)', '≤ 16.7 ms', r.drag_work_with_bound_p95_ms_4x, (v) => v <= 16.7, (v) => `${fmt(v, 2)} ms (the same drags with the layer off ${fmt(r.drag_work_alone_p95_ms_4x, 2)} ms; first picture / refined p95 ${fmt(r.bound_first_picture_p95_ms_4x, 0)} / ${fmt(r.bound_refined_p95_ms_4x, 0)} ms, longest stall ${fmt(r.bound_longest_stall_ms_4x, 1)} ms)`],
  ['a zoom step with every layer on, p95 (issue 27; its layers made again between frames)', '≤ 16.7 ms', r.zoom_step_work_p95_ms, (v) => v <= 16.7, (v) => `${fmt(v, 2)} ms`],
  ['switch model; turn on a layer (cached); upload → posterior; stroke → posterior (each p95)', '≤ 50 ms', Math.max(r.latency_model_switch_p95_ms, r.latency_layer_p95_ms, r.latency_upload_p95_ms, r.latency_draw_p95_ms), (v) => v <= 50, (v) => `worst ${fmt(v, 1)} ms`],
  ['a layer computed from scratch (its first picture)', '≤ 100 ms', r.latency_layer_from_scratch_max_ms, (v) => v <= 100, (v) => `${fmt(v, 1)} ms`],
  ['400-image manifold grid decode (issue 15)', '≤ 10 ms', r.decode_grid400_ms, (v) => v <= 10, (v) => `${fmt(v, 1)} ms`],
  ['training in the page, ours / TensorFlow.js wasm', '≥ 5', r.ratio_train_vs_tfjs_wasm, (v) => v >= 5, (v) => fmt(v, 1)],
  ['a Gaussian decoder\'s step / a Bernoulli one\'s, in the page and natively (issue 29: as fast)', '≥ 0.9', r.ratio_train_page_gaussian_vs_bernoulli, (v) => v >= 0.9 && (r.ratio_native_gaussian_vs_bernoulli ?? 1) >= 0.9, (v) => `${fmt(v, 2)}; native ${fmt(r.ratio_native_gaussian_vs_bernoulli, 2)}`],
  ['training step, our wasm / our native one thread', '≥ 0.6', r.ratio_train_wasm_vs_native_1thread, (v) => v >= 0.6, (v) => fmt(v, 2)],
  ['the exact bound natively, decoder evaluations per image over the first 1,000 test images: median, p95 (issue 35)', '≤ 1,000 / 5,000', r.exact_evaluations_median, (v) => v <= 1000 && r.exact_evaluations_p95 <= 5000, (v) => `${v} / ${r.exact_evaluations_p95}`],
  ['… agreeing with the dense reference to 0.01 nats (images further; largest |Δ log p(x)|)', '0 images', r.exact_reference_disagreeing, (v) => v === 0, (v) => `${v} (${fmt(r.exact_reference_max_abs, 4)} nats; ${r.exact_unsure} unsure)`],
  ['`trainer eval --exact` over the whole test set (10,000 images) in ≤ 5 min (2 cores)', '≥ 33.3 images/s', r.exact_eval_images_per_s, (v) => v >= 10000 / 300, (v) => `${fmt(v, 1)} images/s (${fmt(10000 / v / 60, 1)} min)`],
  ['transferred bytes before the first image (gzip)', '≤ 3 MB', r.transfer_bytes_gz, (v) => v <= 3e6, (v) => `${(v / 1e6).toFixed(2)} MB`],
];
const targetTable = ['| target | goal | this run | met |', '|---|---|---|---|',
  ...targets.map(([what, goal, v, ok, show]) => `| ${what} | ${goal} | ${v == null ? 'skipped' : show(v)} | ${v == null ? '—' : ok(v) ? 'yes' : '**no**'} |`)].join('\n');
const engineSection = r.engines ? `\n\nChromium and WebKit (Safari's engine), the same figures timed inside the page through WebDriver, in this run:\n\n${engineTable(r.engines)}` : '';
const table = ['| measure | figure |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n') + '\n\n' + targetTable + engineSection;
console.log(table);
for (const what of r.skipped) console.log(`skipped: ${what}`);
console.log(`HUD at the end of the drag: ${hud}`);
if (process.env.BENCH_MARKDOWN) {
  const notes = r.skipped.map((w) => `\n- skipped: ${w}`).join('');
  writeFileSync(process.env.BENCH_MARKDOWN, `${table}\n${notes}\n\nAll figures as JSON:\n\n\`\`\`json\n${JSON.stringify(r, null, 1)}\n\`\`\`\n`);
}
console.log(JSON.stringify(r));

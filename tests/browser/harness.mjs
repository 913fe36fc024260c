// Shared set-up for the browser tests: the project's own static server (`cargo xtask serve`, the
// one a user runs) for web/, Debian's Chromium through playwright-core, and helpers that read what
// the page shows.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

export const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
export const WEB_DIR = join(ROOT, 'web');
export const FILE_URL = pathToFileURL(join(WEB_DIR, 'index.html')).href;

/** The xtask binary: the one running the tests (VAE_XTASK), else the workspace's debug build. */
function xtaskBinary() {
  const path = process.env.VAE_XTASK || join(ROOT, 'target', 'debug', 'xtask');
  if (!existsSync(path)) throw new Error(`${path} is missing: run the browser tests through \`cargo xtask test\``);
  return path;
}

/**
 * Serves `root` (default web/) on 127.0.0.1, on a free port, with `xtask serve --no-build`;
 * resolves to { url, close }.
 */
export async function serveWeb(root = WEB_DIR) {
  const child = spawn(xtaskBinary(), ['serve', '--no-build', '--port', '0', '--dir', root], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((ok, fail) => {
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`xtask serve exited (${code}) before serving`)));
    createInterface({ input: child.stdout }).once('line', (line) => {
      const found = line.match(/http:\/\/127\.0\.0\.1:\d+\//);
      if (found) ok(found[0]); else fail(new Error(`xtask serve printed ${line}`));
    });
  });
  child.removeAllListeners('exit');
  return {
    url,
    close: () => new Promise((ok) => { child.once('exit', () => ok()); child.kill(); }),
  };
}

/** Launches headless Chromium (Debian's; never a downloaded one). */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
}

/**
 * Registers before/after hooks that start Chromium and the web/ server once for a test file;
 * returns an object whose `browser` and `server` are set while the tests run.
 */
export function sharedBrowser() {
  const ctx = { browser: null, server: null };
  before(async () => {
    ctx.browser = await launchBrowser();
    ctx.server = await serveWeb();
  });
  after(async () => {
    await ctx.browser?.close();
    await ctx.server?.close();
  });
  return ctx;
}

/**
 * Opens the explorer at `url` and waits until the model is ready; `beforeLoad`, if given, runs in
 * the page before its own scripts (Playwright's init script: a function expression, sent as its
 * source, so no method shorthand).
 * Collects console errors and uncaught exceptions in `page.problems`.
 * @param {{beforeLoad?: () => void}} [options]
 */
export async function openExplorer(browser, url, { beforeLoad } = {}) {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  page.problems = [];
  page.on('pageerror', (err) => page.problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => { if (msg.type() === 'error') page.problems.push(`console: ${msg.text()}`); });
  if (beforeLoad) await page.addInitScript(beforeLoad);
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  return page;
}

/** Waits two animation frames, so a pending decode has been drawn. */
export function nextFrames(page) {
  return page.evaluate(() => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok))));
}

/** The 784 grey values currently shown in canvas#decoded (red channel, 0–255). */
export function decodedPixels(page) {
  return page.evaluate(() => {
    const c = document.getElementById('decoded');
    const d = c.getContext('2d').getImageData(0, 0, 28, 28).data;
    return Array.from({ length: 784 }, (_, i) => d[4 * i]);
  });
}

/** Mean absolute difference of two images, in grey levels (0–255). */
export function meanAbsDiff(a, b) {
  return a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;
}

/** The window the plane shows, from `#latent-plane[data-view]`: {cx, cy, half} in latent units. */
export async function planeWindow(page) {
  const [cx, cy, half] = (await page.locator('#latent-plane').getAttribute('data-view')).split(',').map(Number);
  return { cx, cy, half };
}

/** Page coordinates of latent point z on canvas#latent-plane, in the window it shows now. */
export async function latentToPage(page, z) {
  const box = await page.locator('#latent-plane').boundingBox();
  const w = await planeWindow(page);
  return { x: box.x + ((z.x - w.cx + w.half) / (2 * w.half)) * box.width, y: box.y + ((w.half - z.y + w.cy) / (2 * w.half)) * box.height };
}

/** The latent point under page coordinates p on canvas#latent-plane, in the window it shows now. */
export async function pageToLatent(page, p) {
  const box = await page.locator('#latent-plane').boundingBox();
  const w = await planeWindow(page);
  return { x: w.cx + ((p.x - box.x) / box.width * 2 - 1) * w.half, y: w.cy + (1 - (p.y - box.y) / box.height * 2) * w.half };
}

/** A PNG of `text` drawn by the browser itself (dark on light, like a photo of paper). */
export async function renderTextPng(page, text, { size = 200, ink = '#111', paper = '#f4f1e8' } = {}) {
  const b64 = await page.evaluate(({ text, size, ink, paper }) => {
    const c = document.createElement('canvas');
    c.width = c.height = size;
    const ctx = c.getContext('2d');
    ctx.fillStyle = paper;
    ctx.fillRect(0, 0, size, size);
    ctx.fillStyle = ink;
    ctx.font = `bold ${Math.round(size * 0.75)}px sans-serif`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(text, size / 2, size / 2);
    return c.toDataURL('image/png').split(',')[1];
  }, { text, size, ink, paper });
  return Buffer.from(b64, 'base64');
}

/** The training panel's latest figures (#train-status's data attributes, as numbers where numeric). */
/** A number the page shows (its minus is U+2212, as the catalogues write it) as a number. */
export const numberOf = (text) => Number(String(text).replace(/\u2212/g, '-'));

/** A number formatted as the page's `fmt` does: fixed digits, the minus sign U+2212. */
export const pageNumber = (v, digits = 2) => Number(v).toFixed(digits).replace(/-/g, '\u2212');

export async function trainingStatus(page) {
  const data = await page.locator('#train-status').evaluate((el) => ({ ...el.dataset }));
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v !== '' && Number.isFinite(Number(v)) ? Number(v) : v]));
}

/** Waits until `predicate(trainingStatus)` holds; says `what` and the last figures if it never does. */
export async function waitForTraining(page, predicate, what, timeout = 120_000) {
  const start = Date.now();
  for (;;) {
    const s = await trainingStatus(page);
    if (predicate(s)) return s;
    if (Date.now() - start > timeout) throw new Error(`timed out waiting for ${what}; status ${JSON.stringify(s)}`);
    await page.waitForTimeout(250);
  }
}

// The three browser engines the journeys run in: Debian's Chromium through playwright-core,
// Debian's Firefox ESR through puppeteer-core over WebDriver BiDi, and Debian's WebKitGTK (Safari's
// engine) through WebKitWebDriver over W3C WebDriver (webkit.mjs); no downloaded browser build for
// any. Each is wrapped in the same small page API, so one test body drives all three.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';
import { launchBrowser } from './harness.mjs';
import { WEBKIT_BROWSER, startWebKit } from './webkit.mjs';

/** The engines, by name: how to start one, and where its binary is. */
export const ENGINES = {
  chromium: { binary: () => process.env.CHROMIUM || '/usr/bin/chromium', start: startChromium },
  firefox: { binary: () => process.env.FIREFOX || '/usr/bin/firefox-esr', start: startFirefox },
  webkit: { binary: WEBKIT_BROWSER, start: startWebKit },
};

/**
 * The page API the journeys use.
 * @typedef {{
 *   engine: string,
 *   problems: string[],
 *   goto: (url: string) => Promise<void>,
 *   evaluate: <T>(fn: (arg: any) => T, arg?: any) => Promise<T>,
 *   waitFor: (fn: (arg: any) => any, arg?: any, timeout?: number) => Promise<void>,
 *   click: (selector: string) => Promise<void>,
 *   box: (selector: string) => Promise<{x: number, y: number, width: number, height: number}>,
 *   mouse: {move: (x: number, y: number) => Promise<void>, down: () => Promise<void>, up: () => Promise<void>,
 *           wheel: (deltaY: number) => Promise<void>},
 *   upload: (selector: string, name: string, bytes: Buffer) => Promise<void>,
 *   select: (selector: string, value: string) => Promise<void>,
 *   close: () => Promise<void>,
 * }} EnginePage
 */

/** Chromium via playwright-core: the browser every other test uses. */
async function startChromium() {
  const browser = await launchBrowser();
  return {
    version: `Chromium ${browser.version()} (playwright-core)`,
    close: () => browser.close(),
    /** @returns {Promise<EnginePage>} */
    async newPage() {
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      const problems = watchProblems(page);
      return {
        engine: 'chromium', problems,
        goto: async (url) => { await page.goto(url); },
        evaluate: (fn, arg) => page.evaluate(fn, arg),
        waitFor: async (fn, arg, timeout = 30_000) => { await page.waitForFunction(fn, arg, { timeout }); },
        click: (selector) => page.click(selector),
        box: async (selector) => page.locator(selector).boundingBox(),
        mouse: {
          move: (x, y) => page.mouse.move(x, y), down: () => page.mouse.down(), up: () => page.mouse.up(),
          wheel: (deltaY) => page.mouse.wheel(0, deltaY),
        },
        upload: (selector, name, bytes) => page.setInputFiles(selector, { name, mimeType: 'application/octet-stream', buffer: bytes }),
        select: async (selector, value) => { await page.selectOption(selector, value); },
        close: () => page.close(),
      };
    },
  };
}

/** Firefox ESR via puppeteer-core over WebDriver BiDi (the installed binary, headless). */
async function startFirefox() {
  const browser = await puppeteer.launch({ browser: 'firefox', executablePath: ENGINES.firefox.binary(), headless: true, protocol: 'webDriverBiDi' });
  const files = await mkdtemp(join(tmpdir(), 'vae-firefox-'));
  return {
    version: `${await browser.version()} (puppeteer-core, WebDriver BiDi)`,
    close: async () => { await browser.close(); await rm(files, { recursive: true, force: true }); },
    /** @returns {Promise<EnginePage>} */
    async newPage() {
      const page = await browser.newPage();
      await page.setViewport({ width: 1100, height: 900 });
      const problems = watchProblems(page);
      return {
        engine: 'firefox', problems,
        goto: async (url) => { await page.goto(url); },
        evaluate: (fn, arg) => page.evaluate(fn, arg),
        waitFor: async (fn, arg, timeout = 30_000) => { await page.waitForFunction(fn, { timeout, polling: 50 }, arg); },
        click: (selector) => page.click(selector),
        box: async (selector) => (await page.$(selector)).boundingBox(),
        mouse: {
          move: (x, y) => page.mouse.move(x, y), down: () => page.mouse.down(), up: () => page.mouse.up(),
          wheel: (deltaY) => page.mouse.wheel({ deltaY }),
        },
        // Puppeteer uploads files from disk: write the bytes under their name first.
        async upload(selector, name, bytes) {
          const path = join(files, name);
          await writeFile(path, bytes);
          await (await page.$(selector)).uploadFile(path);
        },
        select: async (selector, value) => { await page.select(selector, value); },
        close: () => page.close(),
      };
    },
  };
}

/** Console errors and uncaught exceptions of `page` (either driver), collected. */
function watchProblems(page) {
  const problems = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message ?? err}`));
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`); });
  return problems;
}

/** Which engines to run: `VAE_ENGINES=webkit` (comma-separated) runs a subset; all three by default. */
export function enginesToRun() {
  const asked = (process.env.VAE_ENGINES || 'chromium,firefox,webkit').split(',').map((s) => s.trim()).filter(Boolean);
  return asked.filter((name) => name in ENGINES);
}


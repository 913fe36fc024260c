// WebKit, the engine of Safari and of every browser on iOS and iPadOS, through Debian's
// WebKitGTK: its MiniBrowser driven by WebKitWebDriver over plain W3C WebDriver (HTTP + JSON), on
// an Xvfb display (MiniBrowser has no headless mode). A small adapter rather than an npm client:
// the journeys need a dozen endpoints, and the adapter adds no package to install or audit.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian's webkit2gtk-driver puts the engine's browser and its driver. */
export const WEBKIT_BROWSER = () => process.env.WEBKIT_BROWSER || '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
export const WEBKIT_DRIVER = () => process.env.WEBKIT_DRIVER || '/usr/bin/WebKitWebDriver';
/** How long the driver and the display may take to come up. */
const START_TIMEOUT_MS = 20_000;
const POLL_MS = 50;

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** A free local TCP port (asked of the OS, then released for the driver). */
function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
      server.close(() => ok(port));
    });
  });
}

/** Waits until `ready()` holds, or fails saying `what` did not come up. */
async function waitUntil(ready, what) {
  const start = Date.now();
  while (!(await ready())) {
    if (Date.now() - start > START_TIMEOUT_MS) throw new Error(`${what} did not start within ${START_TIMEOUT_MS / 1000} s`);
    await sleep(POLL_MS);
  }
}

/** Starts Xvfb on the first free display from :99 up; returns the display and the process. */
async function startDisplay() {
  let display = 99;
  while (existsSync(`/tmp/.X${display}-lock`) || existsSync(`/tmp/.X11-unix/X${display}`)) display++;
  const xvfb = spawn('Xvfb', [`:${display}`, '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
  const failed = new Promise((_, fail) => xvfb.once('error', (err) => fail(new Error(`Xvfb could not start (${err.message}): install the Debian package xvfb`))));
  await Promise.race([failed, waitUntil(async () => existsSync(`/tmp/.X11-unix/X${display}`), `Xvfb :${display}`)]);
  return { display: `:${display}`, process: xvfb };
}

/** The processes to stop when this process ends, however it ends. */
const children = new Set();
process.once('exit', () => { for (const child of children) child.kill('SIGKILL'); });

/**
 * Starts the display and the driver; returns the engine as engines.mjs's others are.
 * @returns {Promise<{version: string, close: () => Promise<void>, newPage: () => Promise<import('./engines.mjs').EnginePage>}>}
 */
export async function startWebKit() {
  for (const [path, what] of [[WEBKIT_DRIVER(), 'WebKitWebDriver'], [WEBKIT_BROWSER(), 'MiniBrowser']]) {
    if (!existsSync(path)) throw new Error(`${what} is missing at ${path}: install the Debian packages webkit2gtk-driver and xvfb (cargo xtask test does)`);
  }
  const screen = await startDisplay();
  children.add(screen.process);
  const port = await freePort();
  const driver = spawn(WEBKIT_DRIVER(), [`--port=${port}`], { env: { ...process.env, DISPLAY: screen.display }, stdio: 'ignore' });
  children.add(driver);
  const base = `http://127.0.0.1:${port}`;
  await waitUntil(async () => (await fetch(`${base}/status`).then((r) => r.json(), () => null))?.value?.ready === true, 'WebKitWebDriver');
  const files = await mkdtemp(join(tmpdir(), 'vae-webkit-'));
  // A first session says which engine this is (and that it starts at all).
  const probe = await openSession(base, files);
  const version = probe.version;
  await probe.close();
  const stop = async () => {
    for (const child of [driver, screen.process]) {
      child.kill('SIGTERM');
      children.delete(child);
    }
    await rm(files, { recursive: true, force: true });
  };
  return { version, close: stop, newPage: () => openSession(base, files) };
}

/** One W3C WebDriver command; its `value`, or an error naming the command and the driver's reason. */
async function command(base, method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const { value } = await response.json();
  if (value && typeof value === 'object' && 'error' in value) throw new Error(`WebDriver ${method} ${path}: ${value.error}: ${value.message}`);
  return value;
}

/** Collects the page's uncaught errors and console errors in `window.__vaeProblems` (from the moment it runs). */
const WATCH_PROBLEMS = `
  if (!window.__vaeProblems) {
    const problems = window.__vaeProblems = [];
    addEventListener('error', (e) => problems.push('pageerror: ' + e.message));
    addEventListener('unhandledrejection', (e) => problems.push('pageerror: ' + ((e.reason && e.reason.message) || e.reason)));
    const error = console.error;
    console.error = (...args) => { problems.push('console: ' + args.join(' ')); error.apply(console, args); };
  }`;

/**
 * A session (one MiniBrowser window) behind the journeys' page API.
 * @returns {Promise<import('./engines.mjs').EnginePage & {version: string}>}
 */
async function openSession(base, files) {
  const session = await command(base, 'POST', '/session', {
    capabilities: { alwaysMatch: { browserName: 'MiniBrowser', 'webkitgtk:browserOptions': { binary: WEBKIT_BROWSER(), args: ['--automation'] } } },
  });
  const at = `/session/${session.sessionId}`;
  const caps = session.capabilities;
  await command(base, 'POST', `${at}/window/rect`, { width: 1100, height: 900 }).catch(() => {}); // a display without a window manager may refuse
  const problems = [];
  const pointer = { x: 0, y: 0 };
  const send = (method, path, body) => command(base, method, `${at}${path}`, body);
  const element = async (selector) => Object.values(await send('POST', '/element', { using: 'css selector', value: selector }))[0];
  const act = (source) => send('POST', '/actions', { actions: [source] });
  const mouse = (...actions) => act({ type: 'pointer', id: 'mouse', parameters: { pointerType: 'mouse' }, actions });
  /** Runs `fn(arg)` in the page (awaiting a promise), and takes the problems the page has seen since. */
  const evaluate = async (fn, arg) => {
    const script = `${WATCH_PROBLEMS}
      const done = arguments[arguments.length - 1];
      const arg = arguments[0];
      const seen = () => window.__vaeProblems.splice(0);
      Promise.resolve().then(() => (${fn})(arg)).then(
        (value) => done({ value: value === undefined ? null : value, problems: seen() }),
        (err) => done({ error: String((err && err.stack) || err), problems: seen() }));`;
    const result = await send('POST', '/execute/async', { script, args: [arg ?? null] });
    problems.push(...result.problems);
    if ('error' in result) throw new Error(`in the page: ${result.error}`);
    return result.value;
  };
  return {
    engine: 'webkit',
    version: `WebKitGTK ${caps.browserVersion} (MiniBrowser ${caps['webkitgtk:browserOptions']?.binary ?? WEBKIT_BROWSER()}, WebKitWebDriver over W3C WebDriver, Xvfb)`,
    problems,
    goto: async (url) => {
      await send('POST', '/url', { url });
      await evaluate(() => true); // from here on the page's errors are collected
    },
    evaluate,
    waitFor: async (fn, arg, timeout = 30_000) => {
      const start = Date.now();
      while (!(await evaluate(fn, arg))) {
        if (Date.now() - start > timeout) throw new Error(`timed out after ${timeout} ms`);
        await sleep(POLL_MS);
      }
    },
    click: async (selector) => { await send('POST', `/element/${await element(selector)}/click`, {}); },
    box: (selector) => evaluate((s) => {
      const r = document.querySelector(s).getBoundingClientRect();
      return { x: r.x, y: r.y, width: r.width, height: r.height };
    }, selector),
    mouse: {
      move: async (x, y) => {
        Object.assign(pointer, { x: Math.round(x), y: Math.round(y) });
        await mouse({ type: 'pointerMove', duration: 0, origin: 'viewport', x: pointer.x, y: pointer.y });
      },
      down: async () => { await mouse({ type: 'pointerDown', button: 0 }); },
      up: async () => { await mouse({ type: 'pointerUp', button: 0 }); },
      wheel: async (deltaY) => {
        await act({ type: 'wheel', id: 'wheel', actions: [{ type: 'scroll', duration: 0, origin: 'viewport', x: pointer.x, y: pointer.y, deltaX: 0, deltaY }] });
      },
    },
    // The file input takes a path on disk: write the bytes under their name first.
    async upload(selector, name, bytes) {
      const path = join(files, name);
      await writeFile(path, bytes);
      await send('POST', `/element/${await element(selector)}/value`, { text: path });
    },
    // As a user picks an option: a click on it (WebDriver selects the option and fires input and change).
    select: async (selector, value) => { await send('POST', `/element/${await element(`${selector} option[value="${value}"]`)}/click`, {}); },
    close: async () => { await send('DELETE', '').catch(() => {}); },
  };
}

// Regenerates docs/screenshot.png: the explorer with the scatter layer on, a drawn-in digit's
// posterior, prior samples and the same-z comparison. Run: node tests/browser/screenshot.mjs
import { join } from 'node:path';
import { WEB_DIR, launchBrowser, openExplorer, renderTextPng, serveWeb } from './harness.mjs';

const browser = await launchBrowser();
const server = await serveWeb();
const page = await openExplorer(browser, server.url);
await page.setViewportSize({ width: 1280, height: 1000 });
await page.check('#layer-scatter');
await page.click('#sample-prior');
await page.setInputFiles('#upload', { name: 'three.png', mimeType: 'image/png', buffer: await renderTextPng(page, '3', { size: 200 }) });
await page.waitForFunction(() => document.getElementById('posterior').dataset.mu);
await page.evaluate(() => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok))));
await page.screenshot({ path: join(WEB_DIR, '..', 'docs', 'screenshot.png'), fullPage: false });
await browser.close();
await server.close();
console.log('wrote docs/screenshot.png');

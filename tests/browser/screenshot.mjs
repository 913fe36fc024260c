// Regenerates docs/screenshot.png (the explorer with the scatter layer on, a drawn-in digit's
// posterior, prior samples and the same-z comparison) and docs/screenshot-training.png (training
// in the page, side by side), docs/lesson-en.png, docs/lesson-fa.png and docs/lesson-fa-phone.png. Run: node tests/browser/screenshot.mjs
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

// docs/screenshot-training.png: training in the page, a VAE and a plain AE side by side, 400
// steps each: the VAE's live test codes on the plane, the chart, and both models' codes and
// prior samples next to each other.
{
  const browser2 = await launchBrowser();
  const server2 = await serveWeb();
  const page2 = await openExplorer(browser2, server2.url);
  await page2.setViewportSize({ width: 1280, height: 1500 });
  await page2.click('#train-pair');
  await page2.waitForFunction(() => Number(document.getElementById('train-status').dataset.step) >= 400, null, { timeout: 300_000 });
  await page2.click('#train-pause');
  await page2.waitForFunction(() => document.getElementById('train-status').dataset.state === 'paused');
  await page2.waitForTimeout(500);
  await page2.screenshot({ path: join(WEB_DIR, '..', 'docs', 'screenshot-training.png'), fullPage: true });
  await browser2.close();
  await server2.close();
  console.log('wrote docs/screenshot-training.png');
}

// docs/lesson-en.png and docs/lesson-fa.png: the lesson at step 6 (the closed-form KL with the
// example's numbers), in each language.
{
  const browser3 = await launchBrowser();
  const server3 = await serveWeb();
  for (const lang of ['en', 'fa']) {
    const page3 = await openExplorer(browser3, `${server3.url}#lang=${lang}&lesson=6`);
    await page3.setViewportSize({ width: 1280, height: 1000 });
    await page3.waitForFunction((l) => document.documentElement.lang === l && document.getElementById('lesson').dataset.step === '6', lang);
    await page3.waitForFunction(() => !document.getElementById('posterior').hidden);
    await page3.evaluate(() => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok))));
    await page3.screenshot({ path: join(WEB_DIR, '..', 'docs', `lesson-${lang}.png`), fullPage: false });
    await page3.close();
    console.log(`wrote docs/lesson-${lang}.png`);
  }
  // On a phone (375 px wide), in Persian: the layout folds to one column without overflowing.
  const phone = await openExplorer(browser3, `${server3.url}#lang=fa&lesson=3`);
  await phone.setViewportSize({ width: 375, height: 1100 });
  await phone.waitForFunction(() => document.documentElement.lang === 'fa' && !document.getElementById('posterior').hidden);
  await phone.evaluate(() => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok))));
  await phone.screenshot({ path: join(WEB_DIR, '..', 'docs', 'lesson-fa-phone.png'), fullPage: false });
  console.log('wrote docs/lesson-fa-phone.png');
  await browser3.close();
  await server3.close();
}

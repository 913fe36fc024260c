// The invariants ARCHITECTURE.md states about the code itself, checked on the source (no browser).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ROOT } from './harness.mjs';
import { functionLengths, sourceFiles } from './code-shape.mjs';

const WEB_SRC = join(ROOT, 'web', 'src');
/** The page's own scripts: its modules and the training Worker. */
const WEB_CODE = [WEB_SRC, join(ROOT, 'web', 'worker')];

/** Longest function allowed in trainer/ and web/src/ (lines, signature to closing brace). */
const MAX_FUNCTION_LINES = 60;
/**
 * Math's logarithms and exponentials however written: `Math.log`, `Math['exp']`, `Math?.log1p`,
 * `const { log } = Math`. Density maths belongs to vae-core.
 */
const DENSITY_MATHS = /Math\s*\??\.\s*(log|exp)|Math\s*\[\s*['"`](log|exp)|\{[^}]*\b(log|exp)\w*\b[^}]*\}\s*=\s*Math\b/;
/** Density maths (log/exp) belongs to vae-core; places in web/src allowed to use it anyway. */
const ALLOWED_DENSITY_MATHS = [];

describe('code invariants', () => {
  test('web/ does no density maths: no Math.log or Math.exp in web/src or web/worker outside the allowed list', () => {
    const found = [];
    for (const file of WEB_CODE.flatMap((dir) => sourceFiles(dir, ['.js']))) {
      readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
        const where = `${file.slice(ROOT.length + 1)}:${i + 1}`;
        if (DENSITY_MATHS.test(line) && !ALLOWED_DENSITY_MATHS.includes(where)) found.push(`${where}: ${line.trim()}`);
      });
    }
    assert.deepEqual(found, [], 'ask vae-core (through the wasm boundary) instead');
    // The check sees through the spellings that would slip past a plain `Math.log`.
    for (const evasion of ["Math['log'](p)", 'Math["exp"](x)', 'Math .log1p(x)', 'const { log } = Math;', 'Math?.expm1(x)']) {
      assert.ok(DENSITY_MATHS.test(evasion), `the check finds ${evasion}`);
    }
    assert.ok(!DENSITY_MATHS.test('Math.max(a, b); logger.log(x); Math.hypot(x, y)'), 'and only those');
  });

  test(`no function in trainer/ or web/src/ is longer than ${MAX_FUNCTION_LINES} lines`, () => {
    const files = [...sourceFiles(join(ROOT, 'trainer'), ['.rs']), ...WEB_CODE.flatMap((dir) => sourceFiles(dir, ['.js']))];
    const all = files.flatMap((f) => functionLengths(f, ROOT));
    assert.ok(all.length > 100, `the scanner found only ${all.length} functions: is it still reading the code?`);
    const long = all.filter((f) => f.lines > MAX_FUNCTION_LINES).map((f) => `${f.file}:${f.line} ${f.name} (${f.lines} lines)`);
    assert.deepEqual(long, []);
  });

  test('the scanner measures functions as they are written', () => {
    const sample = join(ROOT, 'target', 'code-shape-sample.js');
    const body = Array.from({ length: 70 }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const text = `export function long() {\n${body}\n}\n\nconst short = (a) => {\n  return a;\n};\n`;
    return import('node:fs/promises').then(async ({ mkdir, writeFile }) => {
      await mkdir(join(ROOT, 'target'), { recursive: true });
      await writeFile(sample, text);
      const found = functionLengths(sample, ROOT).map((f) => [f.name, f.lines]);
      assert.deepEqual(found, [['long', 72], ['short', 3]]);
    });
  });

  test('every layer of the registry has its toggle and explanation in index.html', async () => {
    const html = readFileSync(join(ROOT, 'web', 'index.html'), 'utf8');
    const { LAYERS } = await import(join(WEB_SRC, 'layers.js'));
    assert.ok(LAYERS.length >= 5);
    for (const layer of LAYERS) {
      assert.match(html, new RegExp(`<input type="checkbox" id="layer-${layer.id}"`), `toggle of ${layer.id}`);
      if (layer.explain) assert.match(html, new RegExp(`id="${layer.explain}"`), `explanation of ${layer.id}`);
    }
    const toggles = [...html.matchAll(/id="layer-([\w-]+)"/g)].map((m) => m[1]);
    assert.deepEqual(toggles.sort(), LAYERS.map((l) => l.id).sort(), 'index.html has a toggle for a layer the registry lacks');
  });
});

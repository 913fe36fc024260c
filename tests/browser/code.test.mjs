// The invariants ARCHITECTURE.md states about the code itself, checked on the source (no browser).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ROOT } from './harness.mjs';
import { sourceFiles } from './code-shape.mjs';

const WEB_SRC = join(ROOT, 'web', 'src');
/** The page's own scripts: its modules and (in web/src/worker) the training Worker's. */
const WEB_CODE = [WEB_SRC];

/** Longest function allowed in crates/, trainer/ and web/src/ (lines, signature to closing brace). */
/**
 * Math's logarithms and exponentials however written: `Math.log`, `Math['exp']`, `Math?.log1p`,
 * `const { log } = Math`. Density maths belongs to vae-core.
 */
const DENSITY_MATHS = /Math\s*\??\.\s*(log|exp)|Math\s*\[\s*['"`](log|exp)|\{[^}]*\b(log|exp)\w*\b[^}]*\}\s*=\s*Math\b/;
/** Density maths (log/exp) belongs to vae-core; places in web/src allowed to use it anyway. */
const ALLOWED_DENSITY_MATHS = [];

/**
 * Maths on densities and layers in Rust: exponentials and logarithms, the logistic, softplus,
 * ln 2π, building a linear layer. vae-core defines them; the other crates call it.
 */
const RUST_MATHS = /\.(exp|ln|ln_1p|exp_m1|log|log2|log10)\s*\(\s*\)|\b(sigmoid|softplus|log_sigmoid)\s*\(|\bLOG_2PI\b|\bLinearConfig\b|\bconsts::PI\b/;
/** The Rust outside vae-core that runs the model: the wasm boundaries and the trainer. */
const RUST_CALLERS = [join(ROOT, 'crates', 'vae-wasm', 'src'), join(ROOT, 'crates', 'vae-train-wasm', 'src'), join(ROOT, 'trainer', 'src')];

/** What I/O looks like in Rust: files, sockets, processes, clocks, the environment, stdio. */
const RUST_IO = /\bstd\s*::\s*(fs|net|process|time|env|io)\b|\b(Instant|SystemTime)\b|\b(println|eprintln|print|eprint)!/;

describe('code invariants', () => {
  test('vae-core does no I/O: no files, sockets, processes, clocks, environment or printing in its source', () => {
    const files = sourceFiles(join(ROOT, 'crates', 'vae-core', 'src'), ['.rs']);
    assert.ok(files.length > 10, `found only ${files.length} vae-core sources: is the path still right?`);
    const found = files.flatMap((file) => readFileSync(file, 'utf8').split('\n').flatMap((line, i) =>
      (RUST_IO.test(line) ? [`${file.slice(ROOT.length + 1)}:${i + 1}: ${line.trim()}`] : [])));
    assert.deepEqual(found, [], 'I/O belongs to the trainer, xtask and the page');
    for (const io of ['std::fs::read(p)', 'use std::time::Instant;', 'std :: env::var("X")', 'println!("x")', 'use std::io::Write;']) {
      assert.ok(RUST_IO.test(io), `the check finds ${io}`);
    }
    assert.ok(!RUST_IO.test('use std::fmt; let instant_ms = 3; format!("x")'), 'and only those');
  });

  test('web/ does no density maths: no Math.log or Math.exp in web/src (the Worker too) outside the allowed list', () => {
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

  test('nothing outside vae-core does maths on densities or builds layers: the wasm crates and the trainer call it', () => {
    const files = RUST_CALLERS.flatMap((dir) => sourceFiles(dir, ['.rs']));
    assert.ok(files.length > 8, `found only ${files.length} sources: are the paths still right?`);
    const found = files.flatMap((file) => readFileSync(file, 'utf8').split('\n').flatMap((line, i) =>
      (RUST_MATHS.test(line) ? [`${file.slice(ROOT.length + 1)}:${i + 1}: ${line.trim()}`] : [])));
    assert.deepEqual(found, [], 'move the maths into vae-core and call it');
    for (const maths of ['Ok(latent::log_prior(z).exp())', 'let l = p.ln();', 'x.sigmoid(y)', 'LOG_2PI * 0.5', 'LinearConfig::new(2, 512)', 'std::f64::consts::PI']) {
      assert.ok(RUST_MATHS.test(maths), `the check finds ${maths}`);
    }
    assert.ok(!RUST_MATHS.test('let x = v.len(); format!("{:.2}", a); latent::prior_density(z)'), 'and only those');
  });

  test('the training crate is a binding of vae-core\'s session, no loop of its own', () => {
    const lib = readFileSync(join(ROOT, 'crates', 'vae-train-wasm', 'src', 'lib.rs'), 'utf8');
    const lines = lib.split('\n').length;
    assert.ok(lines <= 200, `crates/vae-train-wasm/src/lib.rs has ${lines} lines (at most 200: the session lives in vae-core)`);
    assert.match(lib, /vae_core::session::\{[^}]*\bSession\b/, 'it drives vae_core::session::Session');
    for (const own of [/\bLearner\b/, /\.shuffle\(/, /TrainingLogEntry/, /WeightsMeta\s*\{/, /for\s+\w+\s+in\s+0\.\./]) {
      assert.doesNotMatch(lib, own, `the binding holds ${own}: that belongs to the session`);
    }
  });

  test('the page↔wasm contract is generated: globals.d.ts does not type the wasm modules\' API', () => {
    const globals = readFileSync(join(WEB_SRC, 'globals.d.ts'), 'utf8').replace(/\/\/.*$/gm, '');
    for (const api of [/\bwasm_bindgen\b/, /\bExplorer\b/, /\bLiveTrainer\b/, /ExactBoundJob/, /decode\w*\(/]) {
      assert.doesNotMatch(globals, api, `globals.d.ts types ${api}: the declarations wasm-bindgen writes (web/pkg/*.d.ts) do`);
    }
    const page = JSON.parse(readFileSync(join(ROOT, 'web', 'tsconfig.json'), 'utf8'));
    const worker = JSON.parse(readFileSync(join(ROOT, 'web', 'tsconfig.worker.json'), 'utf8'));
    assert.ok(page.include.includes('pkg/vae_wasm.d.ts'), 'tsc checks the page against the page module\'s declarations');
    assert.ok(worker.include.includes('pkg/vae_train_wasm.d.ts') && worker.include.includes('src/worker/**/*.js'), 'and the Worker against the training module\'s');
  });

  test('the trainer writes files only through write_atomic', () => {
    const WRITES = /\bfs\s*::\s*(write|rename)\s*\(|\bFile\s*::\s*create\s*\(|\bOpenOptions\b/;
    const found = sourceFiles(join(ROOT, 'trainer', 'src'), ['.rs'])
      .filter((file) => !file.endsWith(join('src', 'export.rs')))
      .flatMap((file) => readFileSync(file, 'utf8').split('\n').flatMap((line, i) =>
        (WRITES.test(line) ? [`${file.slice(ROOT.length + 1)}:${i + 1}: ${line.trim()}`] : [])));
    assert.deepEqual(found, [], 'write through export::write_atomic, so a killed run never leaves half a file');
    assert.ok(WRITES.test('std::fs::write(&out, &bytes)?;') && WRITES.test('let f = File::create(p)?;'), 'the check finds a write');
  });

  test('every decodeImageData is painted on the next line (its pixels are wasm memory the next decode reuses)', () => {
    const calls = sourceFiles(WEB_SRC, ['.js']).flatMap((file) => {
      const lines = readFileSync(file, 'utf8').split('\n');
      return lines.flatMap((line, i) => {
        const m = line.match(/const (\w+) = [\w.()]+\.decodeImageData\(/);
        return m ? [{ where: `${file.slice(ROOT.length + 1)}:${i + 1}`, painted: new RegExp(`putImageData\\(${m[1]}\\b`).test(lines[i + 1] || '') }] : [];
      });
    });
    assert.ok(calls.length >= 2, `found ${calls.length} decodes into an image: is the pattern still right?`);
    assert.deepEqual(calls.filter((c) => !c.painted).map((c) => c.where), []);
    const unnamed = sourceFiles(WEB_SRC, ['.js']).filter((f) => !f.endsWith('wasm.js'))
      .flatMap((f) => readFileSync(f, 'utf8').split('\n').filter((l) => /decodeImageData\(/.test(l) && !/const \w+ = /.test(l) && !/^\s*(\*|\/\/)/.test(l)));
    assert.deepEqual(unnamed, [], 'a decodeImageData the check cannot follow');
  });

  test('the page names every dataset vae-core knows, and only those', async () => {
    const rust = readFileSync(join(ROOT, 'crates', 'vae-core', 'src', 'dataset.rs'), 'utf8');
    const ids = [...rust.matchAll(/\bid:\s*"([\w-]+)"/g)].map((m) => m[1]);
    assert.ok(ids.length >= 3, `found ${ids.length} datasets in dataset.rs: is the pattern still right?`);
    const main = readFileSync(join(WEB_SRC, 'main.js'), 'utf8');
    const named = main.match(/const DATASET_MESSAGES = (\{[^}]*\})/);
    assert.ok(named, 'web/src/main.js has DATASET_MESSAGES');
    const messages = Function(`return ${named[1]};`)();
    assert.deepEqual(Object.keys(messages).sort(), [...ids].sort(), 'DATASET_MESSAGES and vae-core\'s DATASETS disagree');
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

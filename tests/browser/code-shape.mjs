// Reading the project's source files, for code.test.mjs (the invariants ARCHITECTURE.md states
// about the code itself) and robustness.test.mjs. Function length and complexity are ESLint's and
// clippy's (tests/browser/eslint.config.mjs, clippy.toml), not a scanner's.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every file under `dir` whose name ends with one of `extensions`, recursively. */
export function sourceFiles(dir, extensions) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path, extensions));
    else if (extensions.some((e) => name.endsWith(e))) out.push(path);
  }
  return out.sort();
}

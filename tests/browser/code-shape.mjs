// Reading the project's source as text: where functions start and end, and which lines call
// what. Used by code.test.mjs (the invariants ARCHITECTURE.md states about the code itself).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

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

const RUST_FN = /^(\s*)(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?fn\s+(\w+)/;
const JS_FN = [
  /^(\s*)(export\s+)?(async\s+)?function\s*\*?\s*(\w*)\s*\(/,
  /^(\s*)(export\s+)?(?:const|let)\s+(\w+)\s*=\s*(async\s*)?(\([^)]*\)|\w+)\s*=>\s*\{\s*$/,
  /^(\s*)(async\s+)?(?!if\b|for\b|while\b|switch\b|catch\b|function\b)(\w+)\s*\([^)]*\)\s*\{\s*$/,
];

/**
 * The functions of a Rust or JS file with their length in lines, found by indentation: a
 * function starting at indent k ends at the first later line that is `}` at indent k (the code
 * is formatted, so this holds; rustfmt checks the Rust side). Nested functions count towards
 * the function that holds them too.
 * @returns {{file: string, name: string, line: number, lines: number}[]}
 */
export function functionLengths(path, root) {
  const lines = readFileSync(path, 'utf8').split('\n');
  const patterns = path.endsWith('.rs') ? [RUST_FN] : JS_FN;
  const found = [];
  lines.forEach((text, i) => {
    const match = patterns.map((p) => text.match(p)).find(Boolean);
    if (!match) return;
    const indent = match[1];
    const name = (text.match(/fn\s+(\w+)|function\s*\*?\s*(\w+)|(\w+)\s*(=|\()/) || []).slice(1).find(Boolean) || '(anonymous)';
    const closing = new RegExp(`^${indent}\\}`);
    for (let j = i; j < lines.length; j++) {
      if (j > i && closing.test(lines[j])) {
        found.push({ file: relative(root, path), name, line: i + 1, lines: j - i + 1 });
        return;
      }
      if (j === i && /;\s*$/.test(text)) return; // a declaration without a body
    }
  });
  return found;
}

// ESLint (flat config) over the page's modules and the browser tests: no import circle anywhere,
// and functions kept to a size and a branching a reader can hold. Run by `cargo xtask test`
// (from the repository's root: `tests/browser/node_modules/.bin/eslint -c tests/browser/eslint.config.mjs`).
import importX from 'eslint-plugin-import-x';
import globals from 'globals';

/** Lines per function (blank lines and comments not counted) and cyclomatic complexity: the page's longest and most branching today, not a target to cut code to. */
export const MAX_LINES_PER_FUNCTION = 80;
export const MAX_COMPLEXITY = 15;

export default [
  { ignores: ['**/node_modules/**', 'web/js/**', 'web/pkg/**', 'web/i18n/**', 'tests/browser/peer/**'] },
  {
    files: ['web/src/**/*.js', 'tests/browser/**/*.mjs'],
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: 'module',
      globals: { ...globals.browser, ...globals.node, wasm_bindgen: 'readonly', VaeExplorer: 'readonly' },
    },
    plugins: { 'import-x': importX },
    rules: { 'import-x/no-cycle': 'error' },
  },
  {
    files: ['web/src/**/*.js'],
    rules: {
      'max-lines-per-function': ['error', { max: MAX_LINES_PER_FUNCTION, skipBlankLines: true, skipComments: true }],
      complexity: ['error', MAX_COMPLEXITY],
    },
  },
];

// ESLint: JavaScript's and typescript-eslint's recommended rules over every source, test and demo file.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'demo/.build/', 'demo/.store/', 'demo/.data/', 'demo/.keys/', '.tmp/', 'test/fixtures/**/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Prettier wraps code at 140 columns but leaves long strings and comments alone: split those by
      // hand. ESLint's own max-len (deprecated, kept until ESLint 11; @stylistic's max-len takes the
      // same options) so no dependency is added for one rule.
      'max-len': ['error', { code: 140, ignoreUrls: true }],
    },
  },
);

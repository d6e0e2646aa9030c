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
    },
  },
);

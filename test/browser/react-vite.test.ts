/**
 * docs/frameworks.md's React worked example, followed literally in create-vite's react-ts app
 * (test/support/frameworkExample.ts): the counter, a component with hooks, becomes a tranche
 * module sharing the shell's React; hooks break with a second copy.
 */
import { describeFrameworkExample } from '../support/frameworkExample.js';

describeFrameworkExample({
  framework: 'React',
  template: 'react-ts',
  component: 'modules/counter/Counter.tsx',
  runtime: /^\/shared\/react@[\d.]+-[\w-]+\.js$/,
});

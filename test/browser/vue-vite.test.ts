/**
 * docs/frameworks.md's Vue worked example, followed literally in create-vite's vue-ts app
 * (test/support/frameworkExample.ts): the counter, a component with a `ref`, becomes a tranche
 * module sharing the shell's Vue; a `ref` of a second copy never updates what the first renders.
 */
import { describeFrameworkExample } from '../support/frameworkExample.js';

describeFrameworkExample({
  framework: 'Vue',
  template: 'vue-ts',
  component: 'modules/counter/Counter.vue',
  runtime: /^\/shared\/vue@[\d.]+-[\w-]+\.js$/,
});

/**
 * docs/frameworks.md's Svelte worked example, followed literally in create-vite's svelte-ts app
 * (test/support/frameworkExample.ts): the counter, a component with `$state`, becomes a tranche
 * module sharing the shell's Svelte runtime; state of a second copy never updates what the first renders.
 */
import { describeFrameworkExample } from '../support/frameworkExample.js';

describeFrameworkExample({
  framework: 'Svelte',
  template: 'svelte-ts',
  component: 'modules/counter/Counter.svelte',
  runtime: /^\/shared\/svelte_internal_client@[\d.]+-[\w-]+\.js$/,
});

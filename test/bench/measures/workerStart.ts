/**
 * 7. Worker start: a page asks for a module file while its worker is stopped (as browsers stop
 * idle workers after about 30 s). Timed in the page from `fetch` to the body, for tranche
 * holding a manifest of 1,000 modules, and of 10, with every module staged (its state is read
 * from IndexedDB before the first answer) against a bare worker answering from its cache.
 */
import { publish } from '../../../src/release/publish.js';
import { promote } from '../../../src/release/manifestChanges.js';
import type { Page } from 'playwright-core';
import type { BenchEnv, Measure } from '../env.js';
import type { Figure } from '../figures.js';
import { openOrigin, type Origin } from '../origins.js';
import { interleave, median, pairedRatio } from '../stats.js';
import { moduleName } from '../syntheticManifest.js';
import { versionFiles } from '../storeFiles.js';
import { stopWorkers, waitForState } from '../../support/swPage.js';
import { createTestStore, type TestStore } from '../../support/trancheStore.js';

/** Manifest sizes measured, each with its goal for tranche ÷ bare (issue 12). */
const CASES = [
  { modules: 1000, goal: 1.5 },
  { modules: 10, goal: 1.2 },
] as const;
const PATH = `/modules/${moduleName(0)}/1.0.0/index.js`;

/** Releases `modules` modules and makes 1.0.0 of each stable in one published manifest. */
async function releaseModules(store: TestStore, modules: number): Promise<void> {
  for (let i = 0; i < modules; i++) await store.release(moduleName(i), '1.0.0', { 'index.js': `export const module = ${i};\n` });
  // One manifest for all of them (the CLI would publish one per promote).
  const signingKey = async () => ({ jwk: store.privateKey, where: 'bench key' });
  await publish({ backend: store.store.backend, signingKey, actor: 'bench' }, 'promote', { modules }, (draft) => {
    for (let i = 0; i < modules; i++) promote(draft, moduleName(i), '1.0.0');
    return `${modules} modules stable`;
  });
}

/** Milliseconds from `fetch` to the body of `PATH`, with the worker stopped first. */
async function coldFetch(page: Page): Promise<number> {
  await stopWorkers(page);
  return page.evaluate(async (path) => {
    const start = performance.now();
    const response = await fetch(path);
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    await response.arrayBuffer();
    return performance.now() - start;
  }, PATH);
}

/** The figures for a manifest of `modules` modules. */
async function measure(env: BenchEnv, modules: number, goal: number): Promise<Figure[]> {
  const store = await createTestStore();
  const origins: Origin[] = [];
  try {
    await releaseModules(store, modules);
    env.log(`  ${modules} modules released; staging them in the worker`);
    const options = {
      browser: env.browser,
      bundles: env.bundles,
      store,
      precache: new Map(await versionFiles(store, moduleName(0), '1.0.0')),
    };
    const tranche = await openOrigin('tranche', options);
    origins.push(tranche);
    await waitForState(
      tranche.page,
      (state) => Object.values(state.modules).filter((m) => m.current === '1.0.0').length === modules,
      `${modules} modules staged`,
      300_000,
    );
    const bare = await openOrigin('bare', options);
    origins.push(bare);
    const samples = await interleave({ tranche: () => coldFetch(tranche.page), bare: () => coldFetch(bare.page) }, env.rounds(20, 6), 2);
    const name = `worker start to first answer, ${modules.toLocaleString('en-US')}-module manifest`;
    return [
      {
        name: `${name}: tranche`,
        value: median(samples.tranche),
        unit: 'ms',
        goal: null,
        baseline: median(samples.bare),
        baselineName: 'bare',
      },
      { name: `${name}: tranche ÷ bare`, value: pairedRatio(samples.tranche, samples.bare), unit: '×', goal, baseline: null },
    ];
  } finally {
    for (const origin of origins) await origin.close();
    await store.remove();
  }
}

async function run(env: BenchEnv): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const { modules, goal } of CASES) figures.push(...(await measure(env, modules, goal)));
  return figures;
}

/** The worker start measure. */
export const workerStart: Measure = { title: 'worker start', run };

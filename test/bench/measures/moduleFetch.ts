/**
 * 1. Cached module file throughput: 200 parallel fetches of one cached module file, through
 * tranche, through a bare worker that only calls `caches.match`, and through Workbox's
 * precache route. tranche finds the file in the version's release record and answers with its
 * verified bytes (content-addressed, recently served ones from memory); it must cost next to
 * nothing over the bare worker. The URL is versioned, as the import map makes every module URL.
 */
import type { Page } from 'playwright-core';
import type { BenchEnv, Measure } from '../env.js';
import type { Figure } from '../figures.js';
import { openOrigins } from '../origins.js';
import { interleave, median, pairedRatio } from '../stats.js';
import { createTestStore, moduleFiles } from '../../support/trancheStore.js';

const PARALLEL = 200;
const URL_PATH = '/modules/cart/1.0.0/assets/chunk.js';
const GOAL = 1.03;

/** A module chunk of about `bytes` (default 16 KB, a typical code-split chunk before compression). */
export function chunkSource(seed: string, bytes = 16_384): string {
  const lines = [`// ${seed}`];
  for (let i = 0; lines.join('\n').length < bytes; i++)
    lines.push(`export const item${i} = ${JSON.stringify(`${seed}-${i}-${'x'.repeat(40)}`)};`);
  return `${lines.join('\n')}\n`;
}

/** Milliseconds for `PARALLEL` fetches of `path`, all started at once, bodies read. */
function fetchAll(page: Page, path: string): Promise<number> {
  return page.evaluate(
    async ({ path, parallel }) => {
      const start = performance.now();
      const sizes = await Promise.all(
        Array.from({ length: parallel }, () =>
          fetch(path).then((r) => {
            if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
            return r.arrayBuffer().then((b) => b.byteLength);
          }),
        ),
      );
      const ms = performance.now() - start;
      if (new Set(sizes).size !== 1) throw new Error(`${path}: bodies of different sizes ${[...new Set(sizes)].join(', ')}`);
      return ms;
    },
    { path, parallel: PARALLEL },
  );
}

async function run(env: BenchEnv): Promise<Figure[]> {
  const store = await createTestStore();
  const chunk = chunkSource('cart@1.0.0');
  await store.release('cart', '1.0.0', { ...moduleFiles('cart', '1.0.0'), 'assets/chunk.js': chunk });
  await store.store.promote('cart', '1.0.0');
  const precache = new Map([[URL_PATH, { type: 'text/javascript', body: chunk }]]);
  const origins = await openOrigins(['tranche', 'bare', 'workbox'], { browser: env.browser, bundles: env.bundles, store, precache });
  try {
    const samples = await interleave(
      {
        tranche: () => fetchAll(origins.tranche.page, URL_PATH),
        bare: () => fetchAll(origins.bare.page, URL_PATH),
        workbox: () => fetchAll(origins.workbox.page, URL_PATH),
      },
      env.rounds(60, 15),
      5,
    );
    // Nothing may have reached a server: every fetch was answered from a worker's cache.
    for (const origin of Object.values(origins)) {
      if (origin.server.count(URL_PATH) > 1)
        throw new Error(`${origin.kind}: ${URL_PATH} reached the server ${origin.server.count(URL_PATH)} times`);
    }
    const { tranche, bare, workbox } = samples;
    const name = `module file, ${PARALLEL} parallel cached fetches`;
    return [
      { name: `${name}: tranche`, value: median(tranche), unit: 'ms', goal: null, baseline: median(bare), baselineName: 'bare' },
      { name: `${name}: Workbox`, value: median(workbox), unit: 'ms', goal: null, baseline: median(bare), baselineName: 'bare' },
      {
        name: `${name}: tranche ÷ bare`,
        value: pairedRatio(tranche, bare),
        unit: '×',
        goal: GOAL,
        baseline: pairedRatio(workbox, bare),
        baselineName: 'Workbox ÷ bare',
      },
    ];
  } finally {
    for (const origin of Object.values(origins)) await origin.close();
    await store.remove();
  }
}

/** The module file throughput measure. */
export const moduleFetch: Measure = { title: 'cached module file throughput', run };

/**
 * 2. Navigation: time to first byte and DOMContentLoaded of the app page served through
 * tranche (its HTML as tranche's default configuration serves it, a fresh snapshot pinned and
 * injected) against the very same HTML served from a bare worker's cache. Both pages then
 * import cart from their worker.
 */
import type { Page } from 'playwright-core';
import type { BenchEnv, Measure } from '../env.js';
import type { Figure } from '../figures.js';
import { openOrigin, type Origin, type Served } from '../origins.js';
import { interleave, median, pairedRatio } from '../stats.js';
import { versionFiles } from '../storeFiles.js';
import { createTestStore } from '../../support/trancheStore.js';

const GOAL = 1.2;

interface Timing {
  ttfb: number;
  dcl: number;
}

/** Loads `/` in the origin's page and reads its navigation timing (ms from navigation start). */
async function navigate({ page, server }: Origin): Promise<Timing> {
  await page.goto(`${server.origin}/`);
  await page.waitForFunction(() => document.body?.dataset.booted === 'yes' && document.getElementById('out')?.dataset.cart === '1.0.0');
  return page.evaluate(() => {
    const [entry] = performance.getEntriesByType('navigation') as PerformanceNavigationTiming[];
    if (!entry) throw new Error('no navigation timing');
    return { ttfb: entry.responseStart - entry.startTime, dcl: entry.domContentLoadedEventStart - entry.startTime };
  });
}

/**
 * The HTML tranche's worker serves for `/` (the app with one load's snapshot and import map
 * injected), its URLs made origin-relative so that the same text works on the bare origin.
 */
async function injectedHtml(page: Page, origin: string): Promise<string> {
  const response = await page.goto(`${origin}/`);
  const html = await response?.text();
  if (!html?.includes('id="tranche-snapshot"')) throw new Error('tranche served the page without a snapshot');
  return html.replaceAll(origin, '');
}

async function run(env: BenchEnv): Promise<Figure[]> {
  const store = await createTestStore();
  await store.release('cart', '1.0.0');
  await store.store.promote('cart', '1.0.0');
  const options = { browser: env.browser, bundles: env.bundles, store, precache: new Map<string, Served>() };
  const tranche = await openOrigin('tranche', options);
  let bare: Origin | null = null;
  try {
    const html = await injectedHtml(tranche.page, tranche.server.origin);
    const precache = new Map<string, Served>([
      ['/', { type: 'text/html; charset=utf-8', body: html }],
      ...(await versionFiles(store, 'cart', '1.0.0')),
    ]);
    bare = await openOrigin('bare', { ...options, precache });
    const served = bare;
    const samples = await interleave({ tranche: () => navigate(tranche), bare: () => navigate(served) }, env.rounds(60, 12), 3);
    const figures: Figure[] = [];
    for (const [key, label] of [
      ['ttfb', 'time to first byte'],
      ['dcl', 'DOMContentLoaded'],
    ] as const) {
      const [t, b] = [samples.tranche.map((s) => s[key]), samples.bare.map((s) => s[key])];
      figures.push(
        { name: `navigation ${label}: tranche`, value: median(t), unit: 'ms', goal: null, baseline: median(b), baselineName: 'bare' },
        { name: `navigation ${label}: tranche ÷ bare`, value: pairedRatio(t, b), unit: '×', goal: GOAL, baseline: null },
      );
    }
    return figures;
  } finally {
    await tranche.close();
    await bare?.close();
    await store.remove();
  }
}

/** The navigation measure. */
export const navigation: Measure = { title: 'navigation', run };

/**
 * 5. Assignment: how long the worker takes to assign a new client every module of a
 * 1,000-module manifest (sw/assignment.ts `planModules`, timed inside the service worker by
 * test/bench/workers/tranche-sw.ts), and how many client ids per second the bucketing spec's
 * hash (`bucketOf`) places in Node.
 */
import { randomUUID } from 'node:crypto';
import { bucketOf } from '../../../src/core/bucketing.js';
import type { BenchEnv, Measure } from '../env.js';
import type { Figure } from '../figures.js';
import { openOrigin } from '../origins.js';
import { median, repeat } from '../stats.js';
import { createTestStore } from '../../support/trancheStore.js';

const MODULES = 1000;
const GOAL_MS = 2;
const IDS = 200_000;

/** Median milliseconds of one assignment of `MODULES` modules, timed in the worker after warm-up rounds. */
async function inWorker(env: BenchEnv): Promise<number> {
  const store = await createTestStore();
  await store.release('cart', '1.0.0');
  await store.store.promote('cart', '1.0.0');
  const origin = await openOrigin('tranche', { browser: env.browser, bundles: env.bundles, store, precache: new Map() });
  try {
    const [warmup, rounds] = [20, env.rounds(200, 50)];
    const times = await origin.page.evaluate(
      (request) =>
        new Promise<number[]>((resolve) => {
          const channel = new MessageChannel();
          channel.port1.onmessage = (event) => resolve(event.data as number[]);
          navigator.serviceWorker.controller!.postMessage(request, [channel.port2]);
        }),
      { type: 'BENCH_ASSIGN', modules: MODULES, rounds: warmup + rounds },
    );
    return median(times.slice(warmup));
  } finally {
    await origin.close();
    await store.remove();
  }
}

/** Client ids per second through `bucketOf`, median of rounds over the same ids. */
async function bucketing(env: BenchEnv): Promise<number> {
  const ids = Array.from({ length: IDS }, () => randomUUID());
  let sink = 0;
  const rates = await repeat(
    async () => {
      const start = performance.now();
      for (const id of ids) sink += bucketOf('cart', id);
      return IDS / ((performance.now() - start) / 1000);
    },
    env.rounds(10, 3),
    2,
  );
  if (sink < 0) throw new Error('unreachable: keeps the loop from being optimised away');
  return median(rates);
}

async function run(env: BenchEnv): Promise<Figure[]> {
  return [
    {
      name: `assignment of a ${MODULES.toLocaleString('en-US')}-module manifest in the worker`,
      value: await inWorker(env),
      unit: 'ms',
      goal: GOAL_MS,
      baseline: null,
    },
    { name: 'bucketing in Node (bucketOf)', value: await bucketing(env), unit: 'ids/s', goal: null, baseline: null },
  ];
}

/** The assignment measure. */
export const assignment: Measure = { title: 'assignment', run };

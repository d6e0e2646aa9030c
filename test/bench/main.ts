/**
 * `npm run bench [-- --quick] [-- --out <path>] [-- --only <word>]`: runs every benchmark in
 * headless Chromium and Node, prints a table with each figure beside its goal and baseline, and
 * writes the figures as JSON (default bench-results.json). `--only <word>` runs the measures
 * whose title contains the word (repeat it for several: `--only "worker start" --only distinct`).
 * Benchmarks never gate CI: a missed goal is printed as MISSED, and the exit code is 0 unless a
 * measure could not run at all.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { launchChromium } from '../support/chromium.js';
import type { BenchEnv, Measure } from './env.js';
import { missed, table, writeFigures, type Figure } from './figures.js';
import { moduleFetch } from './measures/moduleFetch.js';
import { navigation } from './measures/navigation.js';
import { updateBytes } from './measures/updateBytes.js';
import { fallback } from './measures/fallback.js';
import { assignment } from './measures/assignment.js';
import { ingest } from './measures/ingest.js';
import { workerStart } from './measures/workerStart.js';
import { distinctFiles } from './measures/distinctFiles.js';
import { rampPlans } from './measures/rampPlans.js';
import { s3Publish } from './measures/s3Publish.js';
import { bundleWorkers } from './origins.js';

/** Every measure, in the order they run. */
const MEASURES: readonly Measure[] = [
  moduleFetch,
  navigation,
  updateBytes,
  fallback,
  assignment,
  ingest,
  workerStart,
  distinctFiles,
  rampPlans,
  s3Publish,
];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      out: { type: 'string', default: 'bench-results.json' },
      only: { type: 'string', multiple: true },
    },
  });
  const started = Date.now();
  const log = (message: string) => console.error(`[bench ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}`);
  log('bundling the workers');
  const bundles = await bundleWorkers();
  const browser = await launchChromium();
  const env: BenchEnv = { browser, bundles, quick: values.quick, rounds: (full, quick) => (values.quick ? quick : full), log };
  const figures: Figure[] = [];
  const failed: string[] = [];
  try {
    for (const measure of MEASURES.filter((m) => !values.only || values.only.some((word) => m.title.includes(word)))) {
      log(measure.title);
      try {
        figures.push(...(await measure.run(env)));
      } catch (err) {
        // One broken measure must not cost the others' figures.
        failed.push(measure.title);
        console.error(`[bench] ${measure.title} could not run:`, err);
      }
    }
  } finally {
    await browser.close();
  }
  console.log(table(figures));
  const out = resolve(values.out);
  await writeFigures(out, figures);
  const misses = figures.filter(missed);
  console.log(misses.length ? `\nMISSED ${misses.length} goal(s): ${misses.map((f) => f.name).join('; ')}` : '\nEvery goal met.');
  if (failed.length) console.log(`FAILED to run: ${failed.join('; ')}`);
  log(`figures written to ${out}`);
  // A missed goal is a finding, not a failure; a measure that could not run is.
  process.exitCode = failed.length ? 1 : 0;
}

await main();

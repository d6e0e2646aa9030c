/**
 * Vitest global setup of the browser project: bundles the test app's service worker (tranche/sw
 * from source) with vite once per run, into .tmp/sw-test/sw.js, the way an app's build would,
 * and the page client the test pages import (.tmp/client-test/tranche.js).
 * The benchmarks (test/bench/) bundle their workers with the same `bundleWorker`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { CLIENT_BUNDLE, bundle } from './clientPages.js';

/** Where the bundle lands; test/support/swServer.ts serves it. */
export const SW_BUNDLE = fileURLToPath(new URL('../../.tmp/sw-test/sw.js', import.meta.url));

/**
 * Bundles the worker source `entry` into the one classic script `outFile` (an IIFE), emptying
 * `outFile`'s directory first. Built as for production: library mode leaves
 * `process.env.NODE_ENV` alone, and Workbox's development checks and logging would otherwise run
 * (or throw: a worker has no `process`). Unminified unless `minify` (the benchmarks, which
 * measure what an app ships: `trancheApp` minifies the app's worker as the app's build does), so
 * the tests' stack traces and profiles name their functions.
 */
export async function bundleWorker(entry: string, outFile: string, { minify = false } = {}): Promise<void> {
  await build({
    configFile: false,
    logLevel: 'warn',
    define: { 'process.env.NODE_ENV': JSON.stringify('production') },
    build: {
      outDir: dirname(outFile),
      emptyOutDir: true,
      minify,
      sourcemap: false,
      lib: {
        entry,
        formats: ['iife'],
        name: 'trancheTestWorker',
        fileName: () => basename(outFile),
      },
    },
  });
}

export default async function buildSwBundle(): Promise<void> {
  await bundleWorker(fileURLToPath(new URL('../browser/fixtures/sw-entry.ts', import.meta.url)), SW_BUNDLE);
  // The page client the test pages run (test/support/clientPages.ts `clientBundle`).
  await mkdir(dirname(CLIENT_BUNDLE), { recursive: true });
  await writeFile(CLIENT_BUNDLE, await bundle(build));
}

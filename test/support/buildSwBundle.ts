/**
 * Vitest global setup of the browser project: bundles the test app's service worker (tranche/sw
 * from source) with vite once per run, into .tmp/sw-test/sw.js, the way an app's build would.
 */
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

/** Where the bundle lands; test/support/swServer.ts serves it. */
export const SW_BUNDLE = fileURLToPath(new URL('../../.tmp/sw-test/sw.js', import.meta.url));

export default async function buildSwBundle(): Promise<void> {
  await build({
    configFile: false,
    logLevel: 'warn',
    build: {
      outDir: fileURLToPath(new URL('../../.tmp/sw-test', import.meta.url)),
      emptyOutDir: true,
      minify: false,
      sourcemap: false,
      lib: {
        entry: fileURLToPath(new URL('../browser/fixtures/sw-entry.ts', import.meta.url)),
        formats: ['iife'],
        name: 'trancheTestWorker',
        fileName: () => 'sw.js',
      },
    },
  });
}

/**
 * Vitest global setup of the browser project: builds the demo once per run into
 * .tmp/demo/build, for a key pair kept in .tmp/demo/keys. The build is keyed by a hash of its
 * sources and the key (demo/build.ts), so a run with nothing changed reuses the last one. Each
 * demo test file then serves this build with a store of its own (test/support/demo.ts).
 */
import { fileURLToPath } from 'node:url';
import { buildDemo } from '../../demo/build.js';
import { demoKeys } from '../../demo/demoStore.js';

/** Where the shared build and its keys live. */
export const DEMO_BUILD_DIR = fileURLToPath(new URL('../../.tmp/demo/build', import.meta.url));
export const DEMO_KEYS_DIR = fileURLToPath(new URL('../../.tmp/demo/keys', import.meta.url));

export default async function buildDemoOnce(): Promise<void> {
  const keys = await demoKeys(DEMO_KEYS_DIR);
  await buildDemo(DEMO_BUILD_DIR, keys.publicKey);
}

/**
 * Valid documents for tests to start from. Each call returns a fresh deep copy, so a test can
 * break one field without touching what another test sees.
 */
import type { Manifest, ReleaseRecord } from '../../src/core/manifest.js';

const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);

/** A release record for cart@2.0.0 with an entry, a chunk and a stylesheet. */
export function validRecord(): ReleaseRecord {
  return {
    format: 1,
    module: 'cart',
    version: '2.0.0',
    entry: 'index.js',
    files: [
      { path: 'index.js', sha256: HASH_A, size: 912, type: 'text/javascript' },
      { path: 'assets/chunk-3f2a.js', sha256: HASH_B, size: 1834, type: 'text/javascript' },
      { path: 'assets/cart.css', sha256: HASH_A, size: 120, type: 'text/css; charset=utf-8' },
    ],
    requires: { catalog: '^1.0.0' },
    created: '2026-11-26T15:00:00.000Z',
  };
}

/**
 * A manifest with cart (stable 1.0.0, canaries 2.0.0 at 12.5% and 2.1.0-beta.1 at 0.01%, one
 * blocked version) and header (own seed, no rollout); every live version is in `releases`.
 */
export function validManifest(): Manifest {
  const ref = (module: string, version: string, sha: string) => ({ record: `records/${module}/${version}.json`, sha256: sha });
  return {
    format: 1,
    sequence: 42,
    published: '2026-11-26T15:04:05.000Z',
    expires: '2026-12-26T15:04:05.000Z',
    keyId: 'q3Yb0T9s2kR5mWcA',
    killSwitch: false,
    modules: {
      cart: {
        stable: '1.0.0',
        rollouts: [
          { version: '2.0.0', percent: 12.5, from: 0 },
          { version: '2.1.0-beta.1', percent: 0.01, from: 1250 },
        ],
        paused: false,
        blocked: ['1.9.0'],
      },
      header: { stable: '2.0.0', rollouts: [], seed: 'chrome', paused: false, blocked: [] },
    },
    releases: {
      'cart@1.0.0': ref('cart', '1.0.0', HASH_A),
      'cart@2.0.0': ref('cart', '2.0.0', HASH_B),
      'cart@2.1.0-beta.1': ref('cart', '2.1.0-beta.1', HASH_A),
      'cart@1.9.0': ref('cart', '1.9.0', HASH_B),
      'header@2.0.0': ref('header', '2.0.0', HASH_A),
    },
  };
}

/** Runs `fn` and returns what it threw (fails the test when it throws nothing). */
export async function caught(fn: () => unknown): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error, but nothing was thrown');
}

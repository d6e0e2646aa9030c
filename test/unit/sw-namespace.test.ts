/**
 * Per-app namespaces of the worker's storage (docs/service-worker.md, "Several apps on one
 * origin"): the names, their default from the scope, and what a worker moving to a namespace
 * keeps. Two real apps side by side run in Chromium: test/browser/sw-two-apps.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveOptions } from '../../sw/options.js';
import { storageNames } from '../../sw/storageNames.js';
import { FakePlatform, MANIFEST_URL, ORIGIN } from '../support/fakePlatform.js';
import { startDriver } from '../support/swHarness.js';
import { createTestStore, type TestStore } from '../support/trancheStore.js';

const resolve = (scope: string, namespace?: string) =>
  resolveOptions({ manifestUrl: MANIFEST_URL, publicKeys: [{}], ...(namespace === undefined ? {} : { namespace }) }, scope).storage;

describe('storage names', () => {
  it('keep the names without a namespace at the root scope, and take the scope path elsewhere', () => {
    expect(resolve(`${ORIGIN}/`)).toEqual({
      database: 'tranche',
      filesCache: 'tranche-files-v1',
      shellCache: 'tranche-shell-v1',
      copiesCache: 'tranche-copies-v1',
    });
    expect(resolve(`${ORIGIN}/shop/`)).toEqual({
      database: 'tranche:/shop/',
      filesCache: 'tranche-files-v1:/shop/',
      shellCache: 'tranche-shell-v1:/shop/',
      copiesCache: 'tranche-copies-v1:/shop/',
    });
    expect(resolve(`${ORIGIN}/`, 'admin').database).toBe('tranche:admin');
  });

  it('refuse a namespace that is not a short printable string', () => {
    expect(() => resolve(`${ORIGIN}/`, 'x'.repeat(201))).toThrow(
      /installTranche\(\) option namespace: expected a string of at most 200 characters/,
    );
    expect(() => resolve(`${ORIGIN}/`, 'a\nb')).toThrow(/option namespace/);
    expect(() => resolve(`${ORIGIN}/`, 42 as never)).toThrow(/option namespace/);
  });
});

describe('a worker in a namespace', () => {
  let t: TestStore;
  beforeEach(async () => {
    t = await createTestStore();
    await t.release('cart', '1.0.0');
    await t.store.promote('cart', '1.0.0');
  });
  afterEach(() => t.remove());

  it('keeps the anonymous id of the database every app shared before namespaces, and nothing else of it', async () => {
    const platform = new FakePlatform(t.dir);
    const before = await startDriver(platform, t.publicKey); // the root scope: the shared database
    const { clientId } = await before.state('');
    before.close();
    const shop = await startDriver(platform, t.publicKey, { namespace: '/shop/' });
    expect((await shop.state('')).clientId).toBe(clientId);
    const names = (await platform.indexedDB.databases()).map((d) => d.name).sort();
    expect(names).toEqual(['tranche', 'tranche:/shop/']);
    expect([...platform.caches.keys()].sort()).toEqual([
      'tranche-copies-v1',
      'tranche-copies-v1:/shop/',
      'tranche-files-v1',
      'tranche-files-v1:/shop/',
    ]);
    shop.close();
    // On a browser that never had the shared database, none is created.
    const fresh = new FakePlatform(t.dir);
    (await startDriver(fresh, t.publicKey, { namespace: '/shop/' })).close();
    expect((await fresh.indexedDB.databases()).map((d) => d.name)).toEqual([storageNames('/shop/').database]);
  });
});

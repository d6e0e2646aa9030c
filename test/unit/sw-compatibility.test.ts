/**
 * Compatibility ranges in the worker (docs/manifest.md, "Compatibility ranges"): whatever the
 * manifest says and in whatever order versions finish staging, a page load never gets a
 * combination that breaks a `requires` range, and a fallback never leaves a module on a version
 * that requires the one that failed.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { compatibleTargets, servedVersions } from '../../sw/assignment.js';
import type { ModuleRow } from '../../sw/Database.js';
import type { Driver } from '../../sw/Driver.js';
import type { Manifest } from '../../src/core/manifest.js';
import { FakePlatform, STORE_URL } from '../support/fakePlatform.js';
import { ask, currentVersions, reportErrors, startDriver } from '../support/swHarness.js';
import { createTestStore, type TestStore } from '../support/trancheStore.js';

const row = (module: string, current: string | null, previous: string[] = []): ModuleRow => ({
  module,
  current,
  previous,
  assignment: null,
  failure: null,
});
const RANGES: Record<string, Record<string, string>> = { 'cart@2.2.0': { catalog: '^1.1.0' }, 'catalog@1.1.0': { cart: '^2.2.0' } };
const requirementsOf = (module: string, version: string) => RANGES[`${module}@${version}`];
const never = () => false;
const manifestWith = (stables: Record<string, string>) =>
  ({ modules: Object.fromEntries(Object.entries(stables).map(([m, stable]) => [m, { stable }])) }) as unknown as Manifest;

describe('assignment: choosing versions that meet every range', () => {
  it('keeps a module on its current version while what it is assigned requires a version nobody gets', () => {
    const rows = [row('cart', '2.1.0'), row('catalog', '1.0.0')];
    const wanted = { cart: '2.2.0', catalog: '1.0.0' } as Record<string, string>;
    const targets = compatibleTargets(
      manifestWith({ cart: '2.2.0', catalog: '1.0.0' }),
      rows,
      (r) => wanted[r.module]!,
      never,
      requirementsOf,
    );
    expect(Object.fromEntries(targets)).toEqual({ cart: '2.1.0', catalog: '1.0.0' });
  });

  it('moves both when both are assigned versions that meet each other, and skips versions that failed here', () => {
    const rows = [row('cart', '2.1.0'), row('catalog', '1.0.0')];
    const wanted = { cart: '2.2.0', catalog: '1.1.0' } as Record<string, string>;
    const manifest = manifestWith({ cart: '2.2.0', catalog: '1.1.0' });
    expect(Object.fromEntries(compatibleTargets(manifest, rows, (r) => wanted[r.module]!, never, requirementsOf))).toEqual({
      cart: '2.2.0',
      catalog: '1.1.0',
    });
    // cart@2.2.0 failed here: catalog may not stay on 1.1.0, which requires it.
    const cartFailed = (m: string, v: string) => m === 'cart' && v === '2.2.0';
    const rowsAfter = [row('cart', '2.1.0'), row('catalog', '1.1.0', ['1.0.0'])];
    expect(Object.fromEntries(compatibleTargets(manifest, rowsAfter, (r) => wanted[r.module]!, cartFailed, requirementsOf))).toEqual({
      cart: '2.1.0',
      catalog: '1.0.0',
    });
  });

  it('serves a previous version of a module whose current one requires what is not committed yet, and nothing when it has none', () => {
    expect(servedVersions([row('cart', '2.2.0', ['2.1.0']), row('catalog', '1.0.0')], never, requirementsOf)).toEqual({
      cart: '2.1.0',
      catalog: '1.0.0',
    });
    expect(servedVersions([row('cart', '2.2.0'), row('catalog', '1.0.0')], never, requirementsOf)).toEqual({ catalog: '1.0.0' });
    expect(servedVersions([row('cart', '2.2.0', ['2.1.0']), row('catalog', '1.1.0')], never, requirementsOf)).toEqual({
      cart: '2.2.0',
      catalog: '1.1.0',
    });
  });
});

describe('Driver: compatibility ranges from the signed manifest', () => {
  let t: TestStore;
  let platform: FakePlatform;
  beforeEach(async () => {
    t = await createTestStore();
    await t.release('catalog', '1.0.0');
    await t.release('cart', '2.1.0');
    platform = new FakePlatform(t.dir);
  });
  afterEach(() => t.remove());

  async function update(driver: Driver): Promise<Record<string, string>> {
    await driver.checkForUpdates();
    await driver.idle();
    return currentVersions(driver);
  }

  it('the manifest carries each live version’s ranges, and the worker never pairs cart@2.2.0 with catalog@1.0.0', async () => {
    await t.release('catalog', '1.1.0');
    await t.release('cart', '2.2.0', undefined, { catalog: '^1.1.0' });
    await t.store.promote('catalog', '1.0.0');
    await t.store.promote('cart', '2.1.0');
    const driver = await startDriver(platform, t.publicKey);
    expect(await currentVersions(driver)).toEqual({ cart: '2.1.0', catalog: '1.0.0' });

    await t.store.promote('cart', '2.2.0', { allowIncompatible: true });
    expect(JSON.parse(JSON.parse(await t.manifestText()).payload).releases['cart@2.2.0'].requires).toEqual({ catalog: '^1.1.0' });
    // cart stays where it is: the version it is assigned needs a catalog this client is not given.
    expect(await update(driver)).toEqual({ cart: '2.1.0', catalog: '1.0.0' });
    expect((await driver.state('')).modules.cart!.staging).toBeNull();

    // catalog@1.1.0 goes out; its files are held back while cart@2.2.0 stages and commits first.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const catalogFiles = new Set(
      JSON.parse(await readRecord(t, 'catalog', '1.1.0')).files.map((f: { sha256: string }) => `${STORE_URL}files/${f.sha256}`),
    );
    const cartFiles = JSON.parse(await readRecord(t, 'cart', '2.2.0')).files.map((f: { sha256: string }) => f.sha256);
    platform.hook = async (url) => {
      if (catalogFiles.has(url.href) && !cartFiles.some((sha: string) => url.href.endsWith(sha))) await held;
      return undefined;
    };
    await t.store.promote('catalog', '1.1.0');
    await driver.checkForUpdates();
    await vi.waitFor(async () => expect((await driver.state('')).modules.cart!.current).toBe('2.2.0'), { timeout: 10_000 });
    // Committed, but not served beside catalog@1.0.0: the page load gets cart's previous version.
    expect(await currentVersions(driver)).toEqual({ cart: '2.1.0', catalog: '1.0.0' });
    release();
    await driver.idle();
    expect(await currentVersions(driver)).toEqual({ cart: '2.2.0', catalog: '1.1.0' });
    driver.close();
  });

  it('rolling cart back on this client moves catalog off a version that requires the failed cart', async () => {
    await t.release('cart', '2.2.0');
    await t.release('catalog', '1.1.0', undefined, { cart: '^2.2.0' });
    await t.store.promote('catalog', '1.0.0');
    await t.store.promote('cart', '2.1.0');
    const driver = await startDriver(platform, t.publicKey);
    // A page load on cart@2.1.0 and catalog@1.0.0 boots healthily: both are good fallbacks here.
    const first = await driver.pinSnapshot('first');
    platform.addClient('first');
    expect(await ask(driver, { type: 'READY', nonce: first.id }, 'first')).toMatchObject({ ok: true });
    await t.store.promote('cart', '2.2.0');
    await t.store.promote('catalog', '1.1.0');
    expect(await update(driver)).toEqual({ cart: '2.2.0', catalog: '1.1.0' });

    const snapshot = await driver.pinSnapshot('page-1');
    platform.addClient('page-1');
    const entries = [{ module: 'cart', version: '2.2.0', kind: 'boot' as const, count: 1, samples: [] }];
    await reportErrors(driver, { type: 'REPORT_ERRORS', nonce: snapshot.id, entries, dropped: 0 }, 'page-1');
    await driver.idle();
    expect((await driver.state('')).bad).toMatchObject([{ module: 'cart', version: '2.2.0' }]);
    // catalog@1.1.0 requires cart ^2.2.0: it goes back to 1.0.0 with cart, though the manifest assigns it 1.1.0.
    expect(await currentVersions(driver)).toEqual({ cart: '2.1.0', catalog: '1.0.0' });
    expect((await driver.state('')).modules.catalog!.current).toBe('1.0.0');
    driver.close();
  });
});

function readRecord(t: TestStore, module: string, version: string): Promise<string> {
  return readFile(join(t.dir, 'records', module, `${version}.json`), 'utf8');
}

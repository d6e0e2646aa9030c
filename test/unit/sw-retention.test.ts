import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resolveOptions } from '../../sw/options.js';
import { Router } from '../../sw/Router.js';
import { Driver } from '../../sw/Driver.js';
import { FakePlatform, MANIFEST_URL, ORIGIN } from '../support/fakePlatform.js';
import { currentVersions, startDriver } from '../support/swHarness.js';
import { createTestStore, type TestStore } from '../support/trancheStore.js';

let t: TestStore;
let platform: FakePlatform;
const VERSIONS = ['1.0.0', '2.0.0', '3.0.0', '4.0.0'];

beforeEach(async () => {
  t = await createTestStore();
  for (const v of VERSIONS) await t.release('cart', v);
  await t.store.promote('cart', '1.0.0');
  platform = new FakePlatform(t.dir);
});
afterEach(() => t.remove());

async function promote(driver: Driver, version: string): Promise<void> {
  await t.store.promote('cart', version);
  await driver.checkForUpdates();
  await driver.idle();
}

function router(driver: Driver): Router {
  return new Router(resolveOptions({ manifestUrl: MANIFEST_URL, publicKeys: [t.publicKey] }, `${ORIGIN}/`), platform, driver);
}

describe('Driver: retention and clean-up', () => {
  it('keeps the current and 2 previous versions plus what a live page runs, and deletes the rest', async () => {
    const driver = await startDriver(platform, t.publicKey);
    platform.addClient('page-1');
    await driver.pinSnapshot('page-1'); // a page that keeps running 1.0.0
    for (const v of VERSIONS.slice(1)) await promote(driver, v);
    const state = (await driver.state('')).modules.cart!;
    expect([state.current, ...state.previous]).toEqual(['4.0.0', '3.0.0', '2.0.0']);
    expect(VERSIONS.map((v) => driver.servable('cart', v) !== null)).toEqual([true, true, true, true]);
    const page1 = await router(driver).handle(new Request(`${ORIGIN}/modules/cart/index.js`), 'page-1', '')!;
    expect(await page1.text()).toContain('"1.0.0"');

    // The page closes: 1.0.0 is no longer needed by anyone (after the grace for new pages).
    platform.removeClient('page-1');
    platform.advance(10 * 60_000);
    await driver.checkForUpdates();
    await driver.idle();
    expect(VERSIONS.map((v) => driver.servable('cart', v) !== null)).toEqual([false, true, true, true]);
    // Its own bytes are gone; bytes shared with kept versions stay.
    const v2 = driver.servable('cart', '2.0.0')!.record.files.map((f) => f.sha256);
    const stored = platform.storedFiles().map((u) => u.slice(u.lastIndexOf('/') + 1));
    expect(stored.sort()).toEqual(
      [...new Set([...v2, ...['3.0.0', '4.0.0'].flatMap((v) => driver.servable('cart', v)!.record.files.map((f) => f.sha256))])].sort(),
    );
    driver.close();
  });
});

describe('Router: module requests', () => {
  it('serves versioned and unversioned URLs from the snapshot, refuses unverifiable versions, leaves the rest to the network', async () => {
    const driver = await startDriver(platform, t.publicKey);
    const r = router(driver);
    await driver.pinSnapshot('page-1');
    await promote(driver, '2.0.0');
    const get = (path: string, client = 'page-1') => r.handle(new Request(`${ORIGIN}${path}`), client, '');

    const versioned = (await get('/modules/cart/2.0.0/chunk.js'))!;
    expect(versioned.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(versioned.headers.get('x-tranche-module')).toBe('cart@2.0.0');
    expect(await versioned.text()).toContain('cart@2.0.0 chunk');
    expect(await (await get('/modules/cart/chunk.js'))!.text()).toContain('cart@1.0.0 chunk');
    expect(await (await get('/modules/cart/chunk.js', 'page-2'))!.text()).toContain('cart@2.0.0 chunk');

    const missing = (await get('/modules/cart/2.0.0/nope.js'))!;
    expect(missing.status).toBe(404);
    expect(await missing.text()).toMatch(/cart@2\.0\.0 has no file nope\.js/);

    // A version the signed manifest does not release cannot be verified: refused after one more look at the manifest, never fetched.
    const fetched = platform.requests.length;
    const unknown = (await get('/modules/cart/3.0.0/index.js'))!;
    expect(`${unknown.status} ${await unknown.text()}`).toBe(
      '404 tranche: cart@3.0.0: not released in the signed manifest, so its bytes cannot be verified',
    );
    expect(platform.requests.slice(fetched)).toEqual([MANIFEST_URL]);
    expect(r.handle(new Request(`${ORIGIN}/app.css`), 'page-1', '')).toBeNull();
    expect(r.handle(new Request(`${ORIGIN}/modules/cart/index.js`, { method: 'POST' }), 'page-1', '')).toBeNull();
    await driver.idle();
    driver.close();
  });

  it('a worker started for a module file answers it first, then reads the rest of its state and does its start work', async () => {
    (await startDriver(platform, t.publicKey)).close();
    await t.store.promote('cart', '2.0.0');
    const options = resolveOptions({ manifestUrl: MANIFEST_URL, publicKeys: [t.publicKey] }, `${ORIGIN}/`);
    const before = platform.requests.length;
    const restarted = new Driver(options, platform);
    restarted.start();
    const response = (await router(restarted).handle(new Request(`${ORIGIN}/modules/cart/1.0.0/chunk.js`), 'page-1', ''))!;
    expect(await response.text()).toContain('cart@1.0.0 chunk');
    expect(platform.requests.slice(before)).toEqual([]); // the start's manifest check waited for the answer
    await restarted.idle(); // nothing else asked: the answer's end read the state, and the check found 2.0.0
    expect((await currentVersions(restarted)).cart).toBe('2.0.0');
    restarted.close();

    // A worker started for a request it leaves alone (and asked nothing) does its start work after a moment.
    await t.store.promote('cart', '3.0.0');
    const idle = new Driver(options, platform);
    idle.start();
    expect(router(idle).handle(new Request(`${ORIGIN}/app.css`), '', '')).toBeNull();
    platform.advance(1000);
    await idle.idle();
    expect((await currentVersions(idle)).cart).toBe('3.0.0');
    idle.close();
  });

  it(
    "a started worker answers a committed version's file from its copy before opening its database; clean-up deletes " +
      'the copies of what it forgets, and a stale manifest is not served from copies',
    async () => {
      const copies = () =>
        [...platform.caches.get('tranche-copies-v1')!.entries.keys()].filter((url) => !url.endsWith('.condition')).sort();
      const driver = await startDriver(platform, t.publicKey);
      expect(copies()).toEqual(['chunk.js', 'index.js', 'shared.js'].map((file) => `${ORIGIN}/modules/cart/1.0.0/${file}`));
      for (const version of ['2.0.0', '3.0.0', '4.0.0']) await promote(driver, version);
      // 1.0.0 is forgotten (current and 2 previous are kept): its copies went with its row.
      expect(copies().map((url) => url.split('/')[5])).toEqual(['2.0.0', '3.0.0', '4.0.0'].flatMap((v) => [v, v, v]));
      driver.close();

      const options = resolveOptions({ manifestUrl: MANIFEST_URL, publicKeys: [t.publicKey] }, `${ORIGIN}/`);
      const opened = vi.spyOn(platform.indexedDB, 'open');
      const restarted = new Driver(options, platform);
      restarted.start();
      const response = (await router(restarted).handle(new Request(`${ORIGIN}/modules/cart/3.0.0/chunk.js`), 'page-1', ''))!;
      expect(await response.text()).toContain('cart@3.0.0 chunk');
      expect(opened).not.toHaveBeenCalled();
      await restarted.idle();
      restarted.close();

      // 31 days without a check (the store is down): the copy says nothing the worker may not serve.
      platform.advance(31 * 24 * 3_600_000);
      platform.hook = (url) => (url.href === MANIFEST_URL ? new Response('down', { status: 503 }) : undefined);
      const stale = new Driver(options, platform);
      stale.start();
      const before = platform.requests.length;
      await router(stale).handle(new Request(`${ORIGIN}/modules/cart/3.0.0/chunk.js`), 'page-1', '');
      expect(platform.requests.slice(before)).toContain(`${ORIGIN}/modules/cart/3.0.0/chunk.js`);
      await stale.idle();
      stale.close();
    },
  );

  it('re-downloads and verifies a blob the browser evicted', async () => {
    const driver = await startDriver(platform, t.publicKey);
    platform.caches.get('tranche-files-v1')!.entries.clear();
    platform.caches.get('tranche-copies-v1')!.entries.clear();
    const response = (await router(driver).handle(new Request(`${ORIGIN}/modules/cart/1.0.0/index.js`), '', ''))!;
    expect(await response.text()).toContain('"1.0.0"');
    expect(platform.storedFiles()).toHaveLength(1);
    expect((await currentVersions(driver)).cart).toBe('1.0.0');
    driver.close();
  });
});

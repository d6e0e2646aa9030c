import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Database } from '../../sw/Database.js';
import { storageNames } from '../../sw/storageNames.js';
import { FakePlatform } from '../support/fakePlatform.js';
import { currentVersions, eventsOf, startDriver } from '../support/swHarness.js';
import { createTestStore, moduleFiles, type TestStore } from '../support/trancheStore.js';

let t: TestStore;
let platform: FakePlatform;

/** cart 2.0.0 with six files, so a failure can land in the middle. */
function bigFiles(version: string): Record<string, string> {
  const files = moduleFiles('cart', version);
  for (let i = 0; i < 3; i++)
    files[`assets/part-${i}.js`] = `export const part = ${JSON.stringify(`${version}-${i}-${'x'.repeat(1000)}`)};\n`;
  return files;
}

beforeEach(async () => {
  t = await createTestStore();
  await t.release('cart', '1.0.0');
  await t.release('cart', '2.0.0', bigFiles('2.0.0'));
  await t.store.promote('cart', '1.0.0');
  platform = new FakePlatform(t.dir);
});
afterEach(() => t.remove());

async function promote2(driver: Awaited<ReturnType<typeof startDriver>>): Promise<void> {
  await t.store.promote('cart', '2.0.0');
  await driver.checkForUpdates();
  await driver.idle();
}

describe('Driver: staging failures', () => {
  it('a cut download leaves the current version; the retry fetches only what is missing, then commits', async () => {
    const page = platform.addClient('page-1');
    const driver = await startDriver(platform, t.publicKey, { retryDelayMs: 1000 });
    let cut = 0;
    platform.hook = (url) => {
      // The connection drops in the middle of the third file of 2.0.0 (once).
      if (!url.pathname.includes('/files/') || platform.requests.filter((r) => r.includes('/files/')).length <= 3 + 3 || cut++)
        return undefined;
      return new Response(
        new ReadableStream({
          start(c) {
            c.enqueue(new Uint8Array(10));
            c.error(new TypeError('network error'));
          },
        }),
      );
    };
    await promote2(driver);
    expect((await currentVersions(driver)).cart).toBe('1.0.0');
    const failed = eventsOf(page, 'STAGING_FAILED');
    expect(failed).toMatchObject([{ module: 'cart', version: '2.0.0', reason: 'download' }]);
    expect(failed[0]!.message).toMatch(/body ended early/);
    driver.close();

    // The worker is stopped and started again after the back-off: it resumes.
    const again = await startDriver(platform, t.publicKey, { retryDelayMs: 1000 });
    platform.advance(1000);
    await again.idle();
    expect((await currentVersions(again)).cart).toBe('2.0.0');
    const files = again.servable('cart', '2.0.0')!.record.files.filter((f) => f.path !== 'shared.js');
    const counts = files.map((f) => platform.fetchCount(platform.storedFiles().find((u) => u.endsWith(f.sha256))!));
    expect(counts.sort()).toEqual([1, 1, 1, 1, 2]); // only the cut file twice
    again.close();
  });

  it('wrong bytes are fetched once more past the caches, then fail the version as integrity', async () => {
    const page = platform.addClient('page-1');
    const driver = await startDriver(platform, t.publicKey, { retryDelayMs: 1000 });
    const inits: (RequestInit | undefined)[] = [];
    platform.hook = (url, init) => {
      if (
        !url.pathname.endsWith('.json') &&
        url.pathname.includes('/files/') &&
        platform.requests.filter((r) => r.includes('/files/')).length > 3
      ) {
        inits.push(init);
        return new Response('tampered');
      }
      return undefined;
    };
    await promote2(driver);
    expect((await currentVersions(driver)).cart).toBe('1.0.0');
    expect(driver.servable('cart', '2.0.0')).toBeNull();
    expect(eventsOf(page, 'STAGING_FAILED')).toMatchObject([{ version: '2.0.0', reason: 'integrity' }]);
    // Every download failed twice: the second time with cache: 'reload' and a cache-busting query.
    expect(inits.some((init) => init?.cache === 'reload')).toBe(true);
    expect(platform.requests.some((r) => r.includes('tranche-bust='))).toBe(true);
    // Nothing of 2.0.0 reached the cache.
    const record = (await driver.state('')).modules.cart!;
    expect(record.staging).toMatchObject({ version: '2.0.0', failure: { reason: 'integrity' } });

    // The deploy finishes: the retry after the back-off succeeds.
    platform.hook = null;
    platform.advance(1000);
    await driver.idle();
    expect((await currentVersions(driver)).cart).toBe('2.0.0');
    driver.close();
  });

  it('backs off exponentially between attempts of the same version', async () => {
    const page = platform.addClient('page-1');
    const driver = await startDriver(platform, t.publicKey, { retryDelayMs: 1000 });
    platform.hook = (url) => (url.pathname.includes('/records/cart/2.0.0') ? new Response('busy', { status: 503 }) : undefined);
    await promote2(driver);
    for (const wait of [1000, 2000, 4000]) {
      platform.advance(wait - 1);
      await driver.idle();
      const before = eventsOf(page, 'STAGING_FAILED').length;
      platform.advance(1);
      await driver.idle();
      expect(eventsOf(page, 'STAGING_FAILED').length).toBe(before + 1);
    }
    const failures = eventsOf(page, 'STAGING_FAILED');
    expect(failures.slice(1).map((e, i) => e.retryAt - failures[i]!.retryAt)).toEqual([2000, 4000, 8000]);
    driver.close();
  });

  it('refuses a version that does not fit the storage quota and keeps the current one', async () => {
    const page = platform.addClient('page-1');
    const driver = await startDriver(platform, t.publicKey);
    platform.estimate = { usage: 1000, quota: 2000 };
    await promote2(driver);
    expect((await currentVersions(driver)).cart).toBe('1.0.0');
    expect(eventsOf(page, 'STAGING_FAILED')).toMatchObject([{ version: '2.0.0', reason: 'quota' }]);
    expect(platform.requests.filter((r) => r.includes('/files/'))).toHaveLength(3); // only 1.0.0's
    driver.close();
  });

  it('a worker stopped between the last file and the commit keeps the old version, then commits with no download', async () => {
    const driver = await startDriver(platform, t.publicKey);
    let puts = 0;
    platform.onCachePut = () => {
      // 2.0.0 adds 5 blobs (shared.js is already stored). The worker dies as the last one is
      // written: its database goes away before the commit can run.
      if (++puts === 5) driver.close();
    };
    const logged = vi.spyOn(console, 'error');
    await promote2(driver);
    platform.onCachePut = null;
    // The commit the stop cut off is no failure to log: the next start finishes it.
    expect(logged).not.toHaveBeenCalled();
    logged.mockRestore();
    const db = await Database.open(platform.indexedDB, storageNames('').database);
    const stored = await db.load();
    expect(stored.modules.map((m) => m.current)).toEqual(['1.0.0']);
    expect(stored.versions.find((v) => v.version === '2.0.0')?.status).toBe('staging');
    db.close();

    const fetched = platform.requests.length;
    const again = await startDriver(platform, t.publicKey);
    expect((await currentVersions(again)).cart).toBe('2.0.0');
    expect(platform.requests.slice(fetched).filter((r) => r.includes('/files/'))).toEqual([]);
    again.close();
  });
});

describe('Database upgrade to schema 3', () => {
  const STORES = { control: 'key', modules: 'module', versions: 'key', clients: 'clientId', bad: ['module', 'version'], telemetry: 'id' };
  const done = <T>(request: IDBRequest<T>) =>
    new Promise<T>(
      (resolve, reject) => ((request.onsuccess = () => resolve(request.result)), (request.onerror = () => reject(request.error))),
    );

  it('version rows a schema-2 worker stored as ready stay committed: served at once, with no download', async () => {
    const first = await startDriver(platform, t.publicKey);
    first.close();
    // What a schema-2 worker left behind: the same rows, with its word for committed.
    const db = await done(platform.indexedDB.open('tranche'));
    const tx = db.transaction(Object.keys(STORES), 'readonly');
    const rows = Object.fromEntries(await Promise.all(Object.keys(STORES).map(async (s) => [s, await done(tx.objectStore(s).getAll())])));
    db.close();
    expect(rows.versions.map((v: { status: string }) => v.status)).toEqual(['committed']);
    await done(platform.indexedDB.deleteDatabase('tranche'));
    const old = platform.indexedDB.open('tranche', 2);
    old.onupgradeneeded = () => {
      for (const [store, keyPath] of Object.entries(STORES)) {
        const created = old.result.createObjectStore(store, { keyPath });
        for (const row of rows[store]) created.put(store === 'versions' ? { ...row, status: 'ready' } : row);
      }
    };
    (await done(old)).close();

    const fetched = platform.requests.length;
    const again = await startDriver(platform, t.publicKey);
    expect((await currentVersions(again)).cart).toBe('1.0.0');
    expect(again.servable('cart', '1.0.0')?.status).toBe('committed');
    expect(platform.requests.slice(fetched).filter((r) => r.includes('/files/') || r.includes('/records/'))).toEqual([]);
    again.close();
  });
});

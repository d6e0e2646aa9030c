import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bucketOf } from '../../src/core/bucketing.js';
import { Driver } from '../../sw/Driver.js';
import { resolveOptions } from '../../sw/options.js';
import { FakePlatform, ORIGIN, STORE_URL } from '../support/fakePlatform.js';
import { currentVersions, eventsOf, scopeOf, startDriver } from '../support/swHarness.js';
import { createTestStore, type TestStore } from '../support/trancheStore.js';

let t: TestStore;
let platform: FakePlatform;

beforeEach(async () => {
  t = await createTestStore();
  await t.release('cart', '1.0.0');
  await t.release('cart', '2.0.0');
  await t.release('search', '1.0.0');
  await t.store.promote('cart', '1.0.0');
  await t.store.promote('search', '1.0.0');
  platform = new FakePlatform(t.dir);
});
afterEach(() => t.remove());

/** The `nth` id whose cart bucket is inside (or outside) a first rollout of `percent`%. */
function idInRollout(inside: boolean, percent: number, nth = 0): string {
  for (let i = 0; ; i++) {
    const id = `client-${i}`;
    if (bucketOf('cart', id) < percent * 100 === inside && nth-- === 0) return id;
  }
}

/** A worker whose page signed in as `userId` before its first manifest check: that identity decides its buckets. */
async function startSignedIn(browser: FakePlatform, userId: string): Promise<Driver> {
  const driver = new Driver(resolveOptions({ manifestUrl: `${STORE_URL}manifest.json`, publicKeys: [t.publicKey] }, `${ORIGIN}/`), browser);
  await driver.setIdentity(userId);
  driver.start();
  await driver.idle();
  return driver;
}

describe('Driver: staging and commit', () => {
  it('stages the stable versions at start and serves their files with the record content type', async () => {
    const page = platform.addClient('page-1');
    const driver = await startDriver(platform, t.publicKey);
    expect(await currentVersions(driver)).toEqual({ cart: '1.0.0', search: '1.0.0' });
    const row = driver.servable('cart', '1.0.0')!;
    const entry = row.record.files.find((f) => f.path === 'index.js')!;
    const response = await driver.respond('cart', '1.0.0', entry);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await response.text()).toContain('"1.0.0"');
    expect(
      eventsOf(page, 'VERSION_ACTIVATED')
        .map((e) => `${e.module}@${e.version}`)
        .sort(),
    ).toEqual(['cart@1.0.0', 'search@1.0.0']);
    expect(eventsOf(page, 'STAGING_PROGRESS').at(-1)).toMatchObject({ files: { done: 3, total: 3 } });
    driver.close();
  });

  it('stores bytes shared by two versions once and downloads them once', async () => {
    const driver = await startDriver(platform, t.publicKey);
    await t.store.promote('cart', '2.0.0');
    await driver.checkForUpdates();
    await driver.idle();
    expect((await currentVersions(driver)).cart).toBe('2.0.0');
    const shared = driver.servable('cart', '2.0.0')!.record.files.find((f) => f.path === 'shared.js')!;
    expect(platform.fetchCount(`${STORE_URL}files/${shared.sha256}`)).toBe(1);
    driver.close();
  });

  it("keeps a page's snapshot after a newer version became current", async () => {
    const driver = await startDriver(platform, t.publicKey);
    const before = await driver.pinSnapshot('page-1');
    await t.store.promote('cart', '2.0.0');
    await driver.checkForUpdates();
    await driver.idle();
    expect((await driver.snapshotFor('page-1')).modules.cart).toBe('1.0.0');
    expect((await driver.snapshotFor('page-2')).modules.cart).toBe('2.0.0');
    expect((await driver.snapshotFor('page-1')).id).toBe(before.id);
    await driver.idle(); // page-2's row is written in the background: a close before it logs a closed-database error
    driver.close();
    // A restarted worker still knows which page runs what.
    const again = await startDriver(platform, t.publicKey);
    expect(await again.snapshotFor('page-1')).toEqual(before);
    again.close();
  });
});

describe('Driver: assignment', () => {
  it('keeps a client on its rollout version across restarts, with the sequence it came from', async () => {
    await t.store.rollout('cart', '2.0.0', 30);
    const driver = await startDriver(platform, t.publicKey);
    const firstState = await driver.state('');
    const first = firstState.modules.cart!;
    // The anonymous id is what decided the bucket, and what GET_STATE reports.
    expect(first.assigned!.bucket).toBe(bucketOf('cart', firstState.clientId));
    driver.close();
    // Another manifest that leaves cart alone: the assignment (and its sequence) stays.
    await t.store.pause('search');
    const again = await startDriver(platform, t.publicKey);
    const secondState = await again.state('');
    const second = secondState.modules.cart!;
    expect(secondState.clientId).toBe(firstState.clientId);
    expect(second.assigned).toEqual(first.assigned);
    expect(second.current).toBe(first.assigned!.version);
    again.close();
  });

  it('on a browser with no assignment yet, an app identity decides the cohort', async () => {
    await t.store.rollout('cart', '2.0.0', 30);
    for (const [inside, expected] of [
      [true, '2.0.0'],
      [false, '1.0.0'],
    ] as const) {
      const driver = await startSignedIn(new FakePlatform(t.dir), idInRollout(inside, 30));
      expect((await driver.state('')).modules.cart!.assigned).toMatchObject({
        version: expected,
        bucket: bucketOf('cart', idInRollout(inside, 30)),
      });
      expect((await currentVersions(driver)).cart).toBe(expected);
      driver.close();
    }
  });

  it('signing in, switching user and signing out keep the versions this browser runs until their cohort moves anyway', async () => {
    await t.store.rollout('cart', '2.0.0', 30);
    const driver = await startSignedIn(platform, idInRollout(false, 30)); // runs 1.0.0
    expect((await driver.state('')).modules.cart!.assigned!.version).toBe('1.0.0');
    // Another user whose bucket is in the 30%, then nobody: the browser stays on 1.0.0.
    for (const userId of [idInRollout(true, 30), idInRollout(true, 30, 1), null]) {
      await driver.setIdentity(userId);
      await driver.idle();
      expect((await driver.state('')).modules.cart!.assigned!.version).toBe('1.0.0');
      expect((await currentVersions(driver)).cart).toBe('1.0.0');
    }
    // A ramp that leaves the cohort 1.0.0 came from alone moves nobody.
    await driver.setIdentity(idInRollout(true, 30));
    await t.store.rollout('cart', '2.0.0', 31);
    await driver.checkForUpdates();
    await driver.idle();
    expect((await currentVersions(driver)).cart).toBe('1.0.0');
    // 2.0.0 becomes stable: that cohort moves anyway, and from now on the signed-in user's bucket decides.
    await t.store.promote('cart', '2.0.0');
    await driver.checkForUpdates();
    await driver.idle();
    expect((await driver.state('')).modules.cart!.assigned).toMatchObject({
      version: '2.0.0',
      bucket: bucketOf('cart', idInRollout(true, 30)),
    });
    driver.close();
  });

  it('a paused module keeps existing assignments, across sign-ins too, and gives newcomers the stable version', async () => {
    await t.store.rollout('cart', '2.0.0', 30);
    const driver = await startSignedIn(platform, idInRollout(true, 30));
    await t.store.pause('cart');
    await driver.checkForUpdates();
    await driver.idle();
    expect((await driver.state('')).modules.cart!.assigned!.version).toBe('2.0.0');
    await driver.setIdentity(idInRollout(false, 30));
    await driver.idle();
    expect((await driver.state('')).modules.cart!.assigned!.version).toBe('2.0.0');
    driver.close();
    // A browser that never ran cart is a newcomer: the stable version.
    const fresh = await startDriver(new FakePlatform(t.dir), t.publicKey);
    expect((await fresh.state('')).modules.cart!.assigned!.version).toBe('1.0.0');
    fresh.close();
  });

  it('drops a blocked version: current falls back at once to the previous good version', async () => {
    const page = platform.addClient('page-1');
    const driver = await startDriver(platform, t.publicKey);
    await t.store.rollout('cart', '2.0.0', 100);
    await driver.checkForUpdates();
    await driver.idle();
    expect((await currentVersions(driver)).cart).toBe('2.0.0');
    await t.store.rollback('cart');
    const fetched = platform.requests.length;
    await driver.checkForUpdates();
    await driver.idle();
    expect((await currentVersions(driver)).cart).toBe('1.0.0');
    expect(eventsOf(page, 'VERSION_ACTIVATED').at(-1)).toMatchObject({ module: 'cart', version: '1.0.0', previous: '2.0.0' });
    expect(platform.requests.slice(fetched)).toEqual([`${ORIGIN}/store/manifest.json`]);
    expect((await driver.state('')).modules.cart!.previous).toEqual([]);
    driver.close();
  });

  it('with nothing good staged, a blocked current leaves the module to the network until stable is staged', async () => {
    await t.store.rollout('cart', '2.0.0', 100);
    const page = platform.addClient('page-1');
    const driver = await startDriver(platform, t.publicKey);
    await driver.pinSnapshot('page-1');
    await t.store.rollback('cart');
    platform.hook = (url) => (url.pathname.includes('/files/') ? new Response('down', { status: 503 }) : undefined);
    await driver.checkForUpdates();
    await driver.idle();
    expect((await currentVersions(driver)).cart).toBeUndefined();
    expect(eventsOf(page, 'VERSION_ACTIVATED').at(-1)).toMatchObject({ module: 'cart', version: null, previous: '2.0.0' });
    expect(driver.servable('cart', '2.0.0')).not.toBeNull(); // still stored for the page that runs it
    platform.removeClient('page-1');
    platform.advance(10 * 60_000);
    await driver.idle();
    expect(driver.servable('cart', '2.0.0')).toBeNull(); // that page is gone: 2.0.0 is cleaned up
    driver.close();
  });

  it('a QA override forces a 0% version and refuses one that was never released', async () => {
    await t.store.rollout('cart', '2.0.0', 0);
    const driver = await startDriver(platform, t.publicKey, { overrideTtlMs: 60_000 });
    await driver.setOverride('cart', '2.0.0');
    await driver.idle();
    expect((await currentVersions(driver)).cart).toBe('2.0.0');
    await expect(driver.setOverride('cart', '9.9.9')).rejects.toThrow(/cart@9\.9\.9 is not a released version/);
    // The override lapses after its lifetime: the next plan goes back to the assignment.
    platform.advance(60_001);
    await driver.setIdentity('someone');
    await driver.idle();
    expect((await currentVersions(driver)).cart).toBe('1.0.0');
    await driver.idle();
    driver.close();
  });
});

describe('Driver: telemetry hook', () => {
  it('receives every event plus one exposure per page load, and cannot break the worker by throwing', async () => {
    const seen: string[] = [];
    const driver = await startDriver(platform, t.publicKey, {
      onEvent: (event) => {
        seen.push(event.type === 'SNAPSHOT_PINNED' ? `pinned ${event.clientId} ${event.snapshot.modules.cart}` : event.type);
        throw new Error('broken collector');
      },
    });
    await driver.pinSnapshot('page-1');
    expect(seen.filter((e) => e === 'VERSION_ACTIVATED')).toHaveLength(2);
    expect(seen).toContain('STAGING_PROGRESS');
    expect(seen.at(-1)).toBe('pinned page-1 1.0.0');
    expect((await currentVersions(driver)).cart).toBe('1.0.0');
    await driver.idle();
    driver.close();
  });
});

describe("the worker's listeners (sw/install.ts, what installTranche adds to the worker)", () => {
  it('answers each page request once on its port, leaves other messages to the app, never answers REPORT_ERRORS', async () => {
    const driver = await startDriver(platform, t.publicKey);
    const scope = scopeOf(driver);
    const state = scope.post({ type: 'GET_STATE' }, 'page-1');
    expect(await state.reply).toMatchObject({ type: 'REPLY', ok: true, result: { condition: 'NORMAL', sequence: 2 } });
    const refused = await scope.ask({ type: 'SET_OVERRIDE', module: 'cart', version: '9.9.9' }, 'page-1');
    expect(refused).toMatchObject({ type: 'REPLY', ok: false, error: { code: 'override-refused', details: { version: '9.9.9' } } });

    // The app's own messages, and page messages that fail the schema, are for the app's listeners.
    const others = [{ type: 'APP_PING' }, { type: 'READY', nonce: 42 }, { type: 'SET_OVERRIDE', module: 'cart' }, 'hello', null].map(
      (data) => scope.post(data, 'page-1'),
    );

    const snapshot = await driver.pinSnapshot('page-1');
    const boot = { module: 'cart', version: '1.0.0', kind: 'boot', count: 1, samples: [] };
    const report = scope.post({ type: 'REPORT_ERRORS', nonce: snapshot.id, entries: [boot], dropped: 0 }, 'page-1');
    await driver.idle();
    expect(report).toMatchObject({ replies: [], keptAlive: true });
    expect((await driver.state('page-1')).bad).toMatchObject([{ module: 'cart', version: '1.0.0' }]);
    expect(state.replies).toHaveLength(1);
    for (const other of others) expect(other).toMatchObject({ replies: [], keptAlive: false });
    driver.close();
  });

  it("answers a module file of the page's snapshot through its fetch listener and leaves other URLs to the network", async () => {
    const driver = await startDriver(platform, t.publicKey);
    const scope = scopeOf(driver);
    await driver.pinSnapshot('page-1');
    const file = scope.fetch(new Request(`${ORIGIN}/modules/cart/1.0.0/index.js`), 'page-1');
    expect(await (await file)!.text()).toContain('"1.0.0"');
    expect(scope.fetch(new Request(`${ORIGIN}/api/cart`), 'page-1')).toBeNull();
    driver.close();
  });

  it('keeps the event of a navigation alive until its page exists (at most 10 s), so a new worker then activates, claims it', async () => {
    const driver = await startDriver(platform, t.publicKey);
    const scope = scopeOf(driver);
    const settled = (work: Promise<unknown>[]) => {
      const all = { done: false };
      void Promise.all(work).then(() => (all.done = true));
      return all;
    };
    scope.fetch(new Request(`${ORIGIN}/`), '', 'page-2');
    const created = settled(scope.fetchKeptFor);
    await driver.idle();
    await platform.nextTask();
    expect(created.done).toBe(false);
    scope.createPage('page-2');
    await expect.poll(() => created.done).toBe(true);

    // A navigation that never creates a page (a download, a 204) keeps it no longer than 10 s.
    scope.fetch(new Request(`${ORIGIN}/report.pdf`), '', 'page-3');
    const never = settled(scope.fetchKeptFor);
    platform.advance(9_999);
    await platform.nextTask();
    expect(never.done).toBe(false);
    platform.advance(1);
    await expect.poll(() => never.done).toBe(true);
    driver.close();
  });
});

import { IDBDatabase } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ErrorEntry, ErrorKind, RolledBackEvent } from '../../src/core/clientMessages.js';
import type { BadVersion } from '../../src/core/clientMessages.js';
import type { Reply } from '../../src/core/protocol.js';
import type { Driver } from '../../sw/Driver.js';
import { FakePlatform, type FakeClient } from '../support/fakePlatform.js';
import { ask, currentVersions, reportErrors, startDriver } from '../support/swHarness.js';
import { createTestStore, type TestStore } from '../support/trancheStore.js';

let t: TestStore;
let platform: FakePlatform;

beforeEach(async () => {
  t = await createTestStore();
  for (const v of ['1.0.0', '2.0.0', '3.0.0']) await t.release('cart', v);
  await t.store.promote('cart', '1.0.0');
  platform = new FakePlatform(t.dir);
});
afterEach(() => t.remove());

const BOOT_MS = 10_000;

const entry = (version: string | null, kind: ErrorKind, count = 1, module: string | null = 'cart'): ErrorEntry => ({
  module: version === null ? null : module,
  version,
  kind,
  count,
  samples: [],
});

/** A page load: a window client with a snapshot of what is current now. */
async function openPage(driver: Driver, id: string, open = true): Promise<{ client: FakeClient | null; nonce: string }> {
  const client = open ? platform.addClient(id) : null;
  const snapshot = await driver.pinSnapshot(id);
  return { client, nonce: snapshot.id };
}

function ready(driver: Driver, clientId: string, nonce: string | null): Promise<Reply> {
  return ask(driver, { type: 'READY', nonce }, clientId);
}

async function report(driver: Driver, clientId: string, nonce: string | null, entries: ErrorEntry[], dropped = 0): Promise<void> {
  await reportErrors(driver, { type: 'REPORT_ERRORS', nonce, entries, dropped }, clientId);
  await driver.idle();
}

/** Opens a page load that never calls `ready()` and lets its boot deadline pass; returns the bad marks after. */
async function missesItsDeadline(driver: Driver, id: string): Promise<BadVersion[]> {
  await openPage(driver, id);
  platform.advance(BOOT_MS);
  await driver.idle();
  return (await driver.state('')).bad;
}

/** Ends the 100% rollout of `from` and rolls `to` out to everyone instead. */
async function moveRollout(from: string, to: string): Promise<void> {
  await t.store.rollout('cart', from, 0);
  await t.store.rollout('cart', to, 100);
}

function rolledBack(client: FakeClient | null): RolledBackEvent[] {
  return (client?.messages ?? []).filter((m): m is RolledBackEvent => (m as RolledBackEvent).type === 'ROLLED_BACK');
}

/** Starts with cart@1.0.0 proven on this client, then moves it to `version` at 100%. */
async function onNewVersion(version = '2.0.0'): Promise<Driver> {
  const driver = await startDriver(platform, t.publicKey);
  const first = await openPage(driver, 'first');
  expect(await ready(driver, 'first', first.nonce)).toMatchObject({ ok: true });
  await t.store.rollout('cart', version, 100);
  await driver.checkForUpdates();
  await driver.idle();
  expect((await currentVersions(driver)).cart).toBe(version);
  return driver;
}

describe('Fallback: a failed version', () => {
  it('a boot error fails it at once: marked bad with its reason, the module back on the last good version, every page told', async () => {
    const driver = await onNewVersion();
    const page = await openPage(driver, 'page-1');
    await report(driver, 'page-1', page.nonce, [entry('2.0.0', 'boot')]);
    const event = { type: 'ROLLED_BACK', module: 'cart', version: '2.0.0', reason: 'boot-error', to: '1.0.0' };
    expect(rolledBack(page.client)).toEqual([event]);
    expect(rolledBack(platform.clientList[0]!)).toEqual([event]); // the other page, on 1.0.0, hears it too
    expect((await currentVersions(driver)).cart).toBe('1.0.0');
    expect((await driver.state('page-1')).bad).toEqual([
      { module: 'cart', version: '2.0.0', reason: 'boot-error', at: platform.now(), assigned: '2.0.0', strikes: 1 },
    ]);

    // A restarted worker keeps the mark and does not offer 2.0.0 again while the manifest assigns it.
    driver.close();
    const again = await startDriver(platform, t.publicKey);
    await again.checkForUpdates();
    await again.idle();
    expect((await currentVersions(again)).cart).toBe('1.0.0');
    expect((await again.state('')).bad).toMatchObject([{ version: '2.0.0', reason: 'boot-error' }]);
    expect((await again.state('')).modules.cart!.staging).toBeNull();

    // The manifest publishes another version for this client: the mark no longer holds it back.
    await moveRollout('2.0.0', '3.0.0');
    await again.checkForUpdates();
    await again.idle();
    expect((await currentVersions(again)).cart).toBe('3.0.0');
    expect((await again.state('')).bad).toEqual([]);
    again.close();
  });

  it('is offered again after the back-off when the manifest still assigns it', async () => {
    const driver = await onNewVersion();
    const page = await openPage(driver, 'page-1');
    await report(driver, 'page-1', page.nonce, [entry('2.0.0', 'chunk-load')]);
    expect((await driver.state('')).bad).toMatchObject([{ version: '2.0.0', reason: 'chunk-load' }]);
    platform.advance(86_400_000 - 1);
    await driver.checkForUpdates();
    await driver.idle();
    expect((await currentVersions(driver)).cart).toBe('1.0.0');
    platform.advance(1);
    await driver.checkForUpdates();
    await driver.idle();
    expect((await currentVersions(driver)).cart).toBe('2.0.0');
    expect((await driver.state('')).bad).toEqual([]);
    driver.close();
  });

  it('quarantines a version that fails again after its mark ran out twice as long, then four times, across restarts', async () => {
    const DAY = 86_400_000;
    let driver = await onNewVersion();
    /** Fails cart 2.0.0 on a new page load, then waits `days` and checks: is 2.0.0 offered again? */
    const failThenWait = async (days: number) => {
      const page = await openPage(driver, `page-${platform.now()}`);
      await report(driver, page.client!.id, page.nonce, [entry('2.0.0', 'chunk-load')]);
      expect((await currentVersions(driver)).cart).toBe('1.0.0');
      platform.advance(days * DAY - 1);
      await driver.checkForUpdates();
      await driver.idle();
      const before = (await currentVersions(driver)).cart;
      platform.advance(1);
      await driver.checkForUpdates();
      await driver.idle();
      return [before, (await currentVersions(driver)).cart];
    };
    expect(await failThenWait(1)).toEqual(['1.0.0', '2.0.0']);
    expect(await failThenWait(2)).toEqual(['1.0.0', '2.0.0']);
    expect((await driver.state('')).bad).toEqual([]);
    // The quarantine's length is remembered across a worker restart.
    driver.close();
    driver = await startDriver(platform, t.publicKey);
    expect(await failThenWait(4)).toEqual(['1.0.0', '2.0.0']);
    driver.close();
  });

  it("with nothing good cached, falls back to the manifest's stable version and stages it", async () => {
    await t.store.rollout('cart', '2.0.0', 100);
    const driver = await startDriver(platform, t.publicKey); // a first visit: only 2.0.0 is staged
    expect(driver.servable('cart', '1.0.0')).toBeNull();
    const page = await openPage(driver, 'page-1');
    await report(driver, 'page-1', page.nonce, [entry('2.0.0', 'boot')]);
    const told = page
      .client!.messages.map((m) => m as { type: string; version?: string | null })
      .filter((m) => ['ROLLED_BACK', 'VERSION_ACTIVATED'].includes(m.type));
    expect(told.slice(-2)).toMatchObject([
      { type: 'ROLLED_BACK', version: '2.0.0', to: '1.0.0' },
      { type: 'VERSION_ACTIVATED', version: '1.0.0', previous: null },
    ]);
    expect((await currentVersions(driver)).cart).toBe('1.0.0');
    expect((await driver.state('')).modules.cart!.staging).toBeNull();
    driver.close();
  });

  it('with nothing to fall back to, the module stays and pages are told to: null', async () => {
    const driver = await startDriver(platform, t.publicKey);
    const page = await openPage(driver, 'page-1');
    await report(driver, 'page-1', page.nonce, [entry('1.0.0', 'boot')]);
    expect(rolledBack(page.client)).toEqual([{ type: 'ROLLED_BACK', module: 'cart', version: '1.0.0', reason: 'boot-error', to: null }]);
    expect((await currentVersions(driver)).cart).toBe('1.0.0');
    driver.close();
  });
});

describe('Fallback: readiness and the boot deadline', () => {
  it('a page missing its deadline fails the versions new here; not a proven one, not a closed page, not before the deadline', async () => {
    const driver = await startDriver(platform, t.publicKey);
    const proven = await openPage(driver, 'proven');
    expect(await ready(driver, 'proven', proven.nonce)).toMatchObject({ ok: true });
    await openPage(driver, 'slow-on-proven'); // never calls ready(), but runs only 1.0.0, which booted here
    await t.store.rollout('cart', '2.0.0', 100);
    await driver.checkForUpdates();
    await driver.idle();
    await openPage(driver, 'closed', false); // the user left before it was ready
    const page = await openPage(driver, 'page-1');
    platform.advance(BOOT_MS - 1);
    await driver.idle();
    expect((await driver.state('')).bad).toEqual([]);
    platform.advance(1);
    await driver.idle();
    expect(rolledBack(page.client)).toEqual([
      { type: 'ROLLED_BACK', module: 'cart', version: '2.0.0', reason: 'boot-timeout', to: '1.0.0' },
    ]);
    driver.close();
  });

  it("READY credits only the sender's own page load", async () => {
    await t.store.rollout('cart', '2.0.0', 100);
    const driver = await startDriver(platform, t.publicKey);
    const a = await openPage(driver, 'page-a');
    const b = await openPage(driver, 'page-b');
    // page-b vouches with page-a's nonce: refused, and page-a's versions stay unproven.
    const refused = await ready(driver, 'page-b', a.nonce);
    expect(refused).toMatchObject({ ok: false, error: { code: 'unknown-page-load' } });
    expect((refused as { error: { message: string } }).error.message).toMatch(/a page can only vouch for its own load/);
    expect(await ready(driver, 'page-b', b.nonce)).toMatchObject({ ok: true });
    // page-b's own READY proved 2.0.0 on this client: page-a missing its deadline fails nothing.
    platform.advance(BOOT_MS);
    await driver.idle();
    expect((await driver.state('')).bad).toEqual([]);
    expect(await missesItsDeadline(driver, 'page-c')).toEqual([]); // proven: a later load is not even watched
    driver.close();
  });

  it('a deadline survives a worker restart, and a page without an injected snapshot vouches by its client id', async () => {
    await t.store.rollout('cart', '2.0.0', 100);
    const driver = await startDriver(platform, t.publicKey);
    await openPage(driver, 'page-1');
    await driver.idle(); // the snapshot's write, which the navigation's waitUntil waits for
    driver.close(); // the browser stops the worker: its timers die
    const again = await startDriver(platform, t.publicKey);
    platform.advance(BOOT_MS);
    await again.idle();
    expect((await again.state('')).bad).toMatchObject([{ module: 'cart', version: '2.0.0', reason: 'boot-timeout' }]);

    // navigation: false: the page's module requests pinned its snapshot; READY carries no nonce.
    await moveRollout('2.0.0', '3.0.0');
    await again.checkForUpdates();
    await again.idle();
    platform.addClient('page-2');
    await again.snapshotFor('page-2');
    expect(await ready(again, 'page-2', null)).toMatchObject({ ok: true });
    expect(await missesItsDeadline(again, 'page-3')).toEqual([]);
    expect(await ready(again, 'never-pinned', null)).toMatchObject({ ok: true }); // nothing to credit
    again.close();
  });
});

describe('Fallback: error reports', () => {
  it('runtime errors fail a version at the third within the window; reports about other loads or versions blame nothing', async () => {
    const driver = await onNewVersion();
    const page = await openPage(driver, 'page-1');
    const other = await openPage(driver, 'page-2');
    expect(await ready(driver, 'page-1', page.nonce)).toMatchObject({ ok: true });
    await report(driver, 'page-1', other.nonce, [entry('2.0.0', 'runtime', 5)]); // not page-1's load
    await report(driver, 'page-1', page.nonce, [entry('1.0.0', 'runtime', 5)]); // a version page-1 does not run
    await report(driver, 'page-1', page.nonce, [entry(null, 'runtime', 100)], 500); // the shell, a third party
    await report(driver, 'page-1', page.nonce, [entry('2.0.0', 'runtime', 2)]);
    platform.advance(60_000);
    await report(driver, 'page-1', page.nonce, [entry('2.0.0', 'runtime', 1)]); // the first two are out of the window
    expect((await driver.state('')).bad).toEqual([]);
    await report(driver, 'page-1', page.nonce, [entry('2.0.0', 'runtime', 2)]);
    expect(rolledBack(page.client)).toEqual([
      { type: 'ROLLED_BACK', module: 'cart', version: '2.0.0', reason: 'runtime-errors', to: '1.0.0' },
    ]);
    driver.close();
  });

  it('a storm of 10,000 errors in 100 reports writes storage once, for the failure', async () => {
    const driver = await onNewVersion();
    const page = await openPage(driver, 'page-1');
    expect(await ready(driver, 'page-1', page.nonce)).toMatchObject({ ok: true });
    const transaction = vi.spyOn(IDBDatabase.prototype, 'transaction');
    for (let i = 0; i < 100; i++) {
      // What the page's batcher sends: a few described errors per entry, the rest dropped.
      await report(driver, 'page-1', page.nonce, [entry('2.0.0', 'runtime', 40), entry(null, 'runtime', 40)], 20);
    }
    const writes = transaction.mock.calls.filter(([, mode]) => mode === 'readwrite');
    transaction.mockRestore();
    expect(writes.map(([stores]) => stores)).toEqual([['bad', 'modules', 'events']]);
    expect(rolledBack(page.client)).toHaveLength(1);
    driver.close();
  });
});

describe('Fallback: a new worker installed while the old one runs (both over one database)', () => {
  /** The old worker on cart@2.0.0 with page-1 pinned to it, and the new worker started (installing) after that. */
  async function twoWorkers(): Promise<{ old: Driver; fresh: Driver; page: { client: FakeClient | null; nonce: string } }> {
    const old = await onNewVersion();
    const page = await openPage(old, 'page-1');
    await old.idle(); // its snapshot is stored: the new worker arms its boot deadline too
    return { old, fresh: await startDriver(platform, t.publicKey), page };
  }

  it('activation reads what the old worker changed since: a version it failed is not served again', async () => {
    const { old, fresh, page } = await twoWorkers();
    await report(old, 'page-1', page.nonce, [entry('2.0.0', 'boot')]);
    expect((await currentVersions(fresh)).cart).toBe('2.0.0'); // loaded before the failure
    await fresh.activate();
    expect((await currentVersions(fresh)).cart).toBe('1.0.0');
    expect((await fresh.state('')).bad).toMatchObject([{ module: 'cart', version: '2.0.0', reason: 'boot-error' }]);
    old.close();
    fresh.close();
  });

  it('a failure both judge is told to pages once: the second verdict finds the first stored', async () => {
    const { old, fresh, page } = await twoWorkers();
    await report(old, 'page-1', page.nonce, [entry('2.0.0', 'boot')]);
    platform.advance(BOOT_MS); // the new worker's deadline for page-1, which never called ready()
    await fresh.idle();
    expect(rolledBack(page.client)).toEqual([{ type: 'ROLLED_BACK', module: 'cart', version: '2.0.0', reason: 'boot-error', to: '1.0.0' }]);
    expect((await fresh.state('')).bad).toMatchObject([{ version: '2.0.0', reason: 'boot-error' }]);
    old.close();
    fresh.close();
  });

  it('a page load that vouched for itself to the old worker is not judged by the new one', async () => {
    const { old, fresh, page } = await twoWorkers();
    expect(await ready(old, 'page-1', page.nonce)).toMatchObject({ ok: true });
    platform.advance(BOOT_MS);
    await fresh.idle();
    expect((await fresh.state('')).bad).toEqual([]);
    expect(rolledBack(page.client)).toEqual([]);
    old.close();
    fresh.close();
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storageNames } from '../../sw/storageNames.js';
import { FakePlatform, MANIFEST_URL } from '../support/fakePlatform.js';
import { currentVersions, eventsOf, startDriver } from '../support/swHarness.js';
import { badManifests, createTestStore, type TestStore } from '../support/trancheStore.js';

let t: TestStore;
let platform: FakePlatform;

beforeEach(async () => {
  t = await createTestStore();
  await t.release('cart', '1.0.0');
  await t.release('cart', '2.0.0');
  await t.store.promote('cart', '1.0.0');
  await t.store.rollout('cart', '2.0.0', 0);
  platform = new FakePlatform(t.dir);
});
afterEach(() => t.remove());

/** Serves `text` as the manifest from now on. */
function serveManifest(text: string | null): void {
  platform.hook = (url) => {
    if (url.href !== MANIFEST_URL) return undefined;
    if (text === null) throw new TypeError('Failed to fetch');
    return new Response(text);
  };
}

describe('Driver: manifest checks', () => {
  it('rejects tampered, unsigned, foreign-key, replayed, expired, malformed, unreachable manifests; keeps last good state', async () => {
    const page = platform.addClient('page-1');
    const old = await t.manifestText();
    await t.store.promote('cart', '2.0.0');
    const driver = await startDriver(platform, t.publicKey);
    const good = await driver.pinSnapshot('page-1');
    expect(good.modules.cart).toBe('2.0.0');
    const bad = await badManifests(t);
    const cases: [string, string | null, string][] = [
      ['tampered', bad.tampered, 'signature'],
      ['unsigned', bad.unsigned, 'signature'],
      ['signed by an unknown key', bad.foreignKey, 'signature'],
      ['replayed (older sequence)', old, 'sequence'],
      ['expired', bad.expired, 'expired'],
      ['not JSON', '<html>maintenance</html>', 'schema'],
      ['unreachable', null, 'download'],
    ];
    for (const [what, text, reason] of cases) {
      serveManifest(text);
      const result = await driver.checkForUpdates();
      expect({ what, outcome: result.outcome, reason: result.reason }).toEqual({ what, outcome: 'rejected', reason });
      expect(eventsOf(page, 'MANIFEST_REJECTED').at(-1)).toMatchObject({ reason });
      const state = await driver.state('page-1');
      expect(state.condition).toBe('STALE');
      expect(state.why).toMatch(new RegExp(`^${reason}: `));
      expect(state.sequence).toBe(good.sequence);
      expect((await currentVersions(driver)).cart).toBe('2.0.0');
    }
    // The degraded condition survives a restart, and pages can still ask the worker anything.
    driver.close();
    const again = await startDriver(platform, t.publicKey);
    expect((await again.state('')).condition).toBe('STALE');
    platform.hook = null;
    await t.store.pause('cart');
    expect((await again.checkForUpdates()).outcome).toBe('updated');
    expect((await again.state('')).condition).toBe('NORMAL');
    again.close();
  });

  it('an unchanged manifest is not a rejection', async () => {
    const page = platform.addClient('page-1');
    const driver = await startDriver(platform, t.publicKey);
    expect(await driver.checkForUpdates()).toMatchObject({ outcome: 'unchanged' });
    expect(eventsOf(page, 'MANIFEST_REJECTED')).toEqual([]);
    driver.close();
  });

  it('a check asked for while another runs answers with a manifest at least as new as the ask', async () => {
    const driver = await startDriver(platform, t.publicKey);
    const before = (await driver.state('')).sequence;
    // The first check's request reaches the store before the publish, its answer arrives after.
    let arrived!: () => void;
    const requested = new Promise<void>((resolve) => (arrived = resolve));
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    platform.hook = async (url) => {
      if (url.href.split('?')[0] !== MANIFEST_URL) return undefined;
      platform.hook = null;
      const text = await t.manifestText();
      arrived();
      await answered;
      return new Response(text);
    };
    const fetches = platform.fetchCount(MANIFEST_URL);
    const first = driver.checkForUpdates();
    await requested;
    await t.store.promote('cart', '2.0.0');
    // Two callers after the publish (a page's checkForUpdates(), the interval) share one more check.
    const asked = [driver.checkForUpdates(), driver.checkForUpdates()];
    answer();
    expect(await first).toEqual({ outcome: 'unchanged', sequence: before });
    for (const result of await Promise.all(asked)) expect(result).toEqual({ outcome: 'updated', sequence: before + 1 });
    expect(platform.fetchCount(MANIFEST_URL) - fetches).toBe(2);
    await driver.idle();
    expect((await currentVersions(driver)).cart).toBe('2.0.0');
    driver.close();
  });

  it('pages get no module until a first manifest is accepted', async () => {
    serveManifest(null);
    const driver = await startDriver(platform, t.publicKey);
    expect(await currentVersions(driver)).toEqual({});
    platform.hook = null;
    await driver.checkForUpdates();
    await driver.idle();
    expect(await currentVersions(driver)).toEqual({ cart: '1.0.0' });
    driver.close();
  });

  it('the kill switch stops interception, deletes caches and database, and unregisters', async () => {
    const page = platform.addClient('page-1');
    const driver = await startDriver(platform, t.publicKey);
    expect(platform.storedFiles()).not.toEqual([]);
    await t.store.setKillSwitch(true);
    await driver.checkForUpdates();
    await driver.idle();
    expect(driver.intercepting).toBe(false);
    expect(platform.unregistered).toBe(true);
    expect(eventsOf(page, 'WORKER_DISABLED')).toHaveLength(1);
    expect([...platform.caches.keys()]).toEqual([]);
    expect((await platform.indexedDB.databases()).map((d) => d.name)).not.toContain(storageNames('').database);
    // Page requests are still answered, with a clear error.
    await expect(driver.setOverride('cart', '2.0.0')).rejects.toThrow(/kill switch/);
  });
});

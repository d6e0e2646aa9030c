/**
 * The worker under a device clock that jumps, and browsers' timers, which run any delay above
 * 2^31−1 ms at once (the fake platform does too): nothing stored under a skewed clock may
 * become a wait of weeks, nor a busy loop.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_TIMER_MS, timerDelay } from '../../sw/clock.js';
import { FakePlatform } from '../support/fakePlatform.js';
import { currentVersions, eventsOf, startDriver } from '../support/swHarness.js';
import { createTestStore, type TestStore } from '../support/trancheStore.js';

const DAY = 86_400_000;
let t: TestStore;
let platform: FakePlatform;

beforeEach(async () => {
  t = await createTestStore();
  await t.release('cart', '1.0.0');
  await t.release('cart', '2.0.0');
  await t.store.promote('cart', '1.0.0');
  platform = new FakePlatform(t.dir);
});
afterEach(() => t.remove());

/** Lets `ms` of time pass in steps of 200 ms, the worker doing whatever it schedules meanwhile. */
async function run(driver: Awaited<ReturnType<typeof startDriver>>, ms: number): Promise<void> {
  for (let passed = 0; passed < ms; passed += 200) {
    platform.advance(200);
    await driver.idle();
  }
}

/** Promotes cart 2.0.0 while its record answers 503: the staging fails and is scheduled for a retry. */
async function failStaging(driver: Awaited<ReturnType<typeof startDriver>>): Promise<void> {
  platform.hook = (url) => (url.pathname.includes('/records/cart/2.0.0') ? new Response('busy', { status: 503 }) : undefined);
  await t.store.promote('cart', '2.0.0');
  await driver.checkForUpdates();
  await driver.idle();
}

describe('a clock that jumps', () => {
  it('a retry scheduled while the clock ran 30 days ahead neither spins nor waits 30 days once it is right', async () => {
    platform.jumpClock(30 * DAY);
    const page = platform.addClient('page-1');
    const skewed = await startDriver(platform, t.publicKey);
    await failStaging(skewed);
    expect(eventsOf(page, 'STAGING_FAILED')).toMatchObject([{ version: '2.0.0', reason: 'download' }]);
    skewed.close();

    // The clock is put right and the worker starts again; the store answers again.
    platform.jumpClock(-30 * DAY);
    platform.hook = null;
    const driver = await startDriver(platform, t.publicKey);
    const fired = platform.timersFired;
    await run(driver, 10_000);
    // A retry time 30 days out was a 30-day timer, which browsers run at once, again and again.
    expect(platform.timersFired - fired).toBeLessThanOrEqual(1);
    expect((await currentVersions(driver)).cart).toBe('2.0.0');
    driver.close();
  });

  it('a retry scheduled before the clock jumped 30 days ahead runs once, when its delay is up', async () => {
    const page = platform.addClient('page-1');
    const driver = await startDriver(platform, t.publicKey);
    await failStaging(driver);
    platform.jumpClock(30 * DAY);
    platform.hook = null;
    const fired = platform.timersFired;
    await run(driver, 30_000); // the first retry waits 30 s
    expect(platform.timersFired - fired).toBe(1);
    expect((await currentVersions(driver)).cart).toBe('2.0.0');
    expect(eventsOf(page, 'STAGING_FAILED')).toHaveLength(1);
    driver.close();
  });

  it('a page pinned while the clock ran ahead still has its boot judged, at its deadline', async () => {
    await t.store.rollout('cart', '2.0.0', 100);
    platform.jumpClock(30 * DAY);
    const skewed = await startDriver(platform, t.publicKey);
    platform.addClient('page-1');
    await skewed.pinSnapshot('page-1');
    await skewed.idle();
    skewed.close();

    platform.jumpClock(-30 * DAY);
    const driver = await startDriver(platform, t.publicKey);
    const fired = platform.timersFired;
    await run(driver, 10_000);
    expect(platform.timersFired - fired).toBeLessThanOrEqual(1);
    // The page never called ready() within 10 s of the restart: 2.0.0 failed its boot here.
    expect((await driver.state('')).bad).toMatchObject([{ module: 'cart', version: '2.0.0', reason: 'boot-timeout' }]);
    driver.close();
  });

  it('a navigation after the clock was set back still checks the manifest', async () => {
    const driver = await startDriver(platform, t.publicKey);
    platform.jumpClock(-30 * DAY);
    await t.store.promote('cart', '2.0.0');
    driver.checkIfDue();
    await driver.idle();
    expect((await currentVersions(driver)).cart).toBe('2.0.0');
    driver.close();
  });
});

describe('timerDelay (what browserAdapter passes to setTimeout)', () => {
  it('clamps every delay to one the browser honours (2^31−1 ms at most)', () => {
    expect([30 * DAY, 2 ** 31, -5, Number.NaN, 1000].map(timerDelay)).toEqual([MAX_TIMER_MS, MAX_TIMER_MS, 0, 0, 1000]);
  });
});

/**
 * Automatic fallback end to end in Chromium: the real worker (tranche/sw) and the page client
 * (tranche) in an app whose cart versions break in each way docs/fallback.md names. Each test
 * gets a fresh store, server and browser context.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { beforeEach, describe, expect, it } from 'vitest';
import type { TrancheState } from '../../src/client/index.js';
import { CART, errorCount, fallbackTest, moveTo, poll, tab, type FallbackWorld } from '../support/fallbackApp.js';
import { loaded, stopWorkers } from '../support/swPage.js';

const t = fallbackTest();
let world: FallbackWorld;
let context: BrowserContext;
let page: Page;

beforeEach(() => void ({ world, context, page } = t));

function state(p: Page): Promise<TrancheState> {
  return p.evaluate(() => (window as unknown as { tranche: { state(): Promise<TrancheState> } }).tranche.state());
}

async function click(p: Page, times: number): Promise<void> {
  for (let i = 0; i < times; i++) await p.click('#buy');
}

const rollback = (version: string, reason: string, to: string | null, willReload = to !== null) => ({
  module: 'cart',
  version,
  reason,
  to,
  affectsThisPage: true,
  willReload,
});

describe('automatic fallback in Chromium', () => {
  it('a version that throws on import: the tab reloads once into the good version, later loads stay there, state() says why', async () => {
    await moveTo(world, page, CART.throwsOnImport);
    const before = (await tab(page)).loads;
    await page.reload();
    await poll(async () => (await tab(page)).loads).toBe(before + 2);
    expect((await loaded(page)).rendered.cart).toBe(CART.good);
    expect((await tab(page)).rolledBack).toEqual([rollback(CART.throwsOnImport, 'boot-error', CART.good)]);
    const { bad, snapshot } = await state(page);
    expect(bad).toMatchObject([{ module: 'cart', version: CART.throwsOnImport, reason: 'boot-error', assigned: CART.throwsOnImport }]);
    expect(snapshot!.modules.cart).toBe(CART.good);

    await page.goto(`${world.server.origin}/elsewhere`);
    expect((await loaded(page)).rendered.cart).toBe(CART.good);
    await page.reload();
    expect((await loaded(page)).rendered.cart).toBe(CART.good);
    expect(await tab(page)).toMatchObject({ loads: before + 4, rolledBack: [rollback(CART.throwsOnImport, 'boot-error', CART.good)] });
    // The collector heard of it, with the reason and the version the client went back to.
    await poll(() => world.accepted.flatMap((b) => b.events).filter((e) => e.type === 'rollback')).toMatchObject([
      { module: 'cart', version: CART.throwsOnImport, reason: 'boot-error', to: CART.good },
    ]);
  });

  it('the database deleted under an open tab: a new one at once, same client id and buckets, the failed version stays off', async () => {
    await moveTo(world, page, CART.throwsOnImport);
    const before = (await tab(page)).loads;
    await page.reload();
    await poll(async () => (await tab(page)).loads).toBe(before + 2);
    const was = await state(page);
    expect(was.bad).toMatchObject([{ module: 'cart', version: CART.throwsOnImport }]);

    // What DevTools' "delete database" or a page's script does, while the worker runs.
    const name = await page.evaluate(() => indexedDB.databases().then((dbs) => dbs.find((db) => db.name?.startsWith('tranche'))!.name!));
    await page.evaluate(
      (name) =>
        new Promise<void>((resolve, reject) => {
          const request = indexedDB.deleteDatabase(name);
          request.onsuccess = () => resolve();
          request.onerror = () => reject(request.error);
        }),
      name,
    );
    // The worker writes a new database at once, with what it knew.
    await poll(() => page.evaluate(() => indexedDB.databases().then((dbs) => dbs.map((db) => db.name)))).toContain(name);
    await poll(async () => (await state(page)).worker.modules.cart?.current).toBe(CART.good);

    // A restarted worker reads it back: same client, same buckets, the failed version still held back.
    await stopWorkers(page);
    await page.reload();
    expect((await loaded(page)).rendered.cart).toBe(CART.good);
    const now = await state(page);
    expect(now.worker.clientId).toBe(was.worker.clientId);
    expect(now.buckets).toEqual(was.buckets);
    expect(now.bad).toMatchObject([{ module: 'cart', version: CART.throwsOnImport }]);
    expect(now.snapshot!.modules.cart).toBe(CART.good);
    expect((await tab(page)).rolledBack).toHaveLength(1);
  });

  it('a version that throws from the third click after ready(): no fallback at two errors, fallback at the third', async () => {
    await moveTo(world, page, CART.throwsFromThirdClick);
    await page.reload();
    expect((await loaded(page)).rendered.cart).toBe(CART.throwsFromThirdClick);
    const before = (await tab(page)).loads;
    await click(page, 4);
    // The worker has judged both errors once the collector counted them.
    await poll(() => errorCount(world, `cart@${CART.throwsFromThirdClick}`)).toBe(2);
    expect((await state(page)).bad).toEqual([]);
    await click(page, 1);
    await poll(async () => (await tab(page)).loads).toBe(before + 1);
    expect((await loaded(page)).rendered.cart).toBe(CART.good);
    expect((await tab(page)).rolledBack).toEqual([rollback(CART.throwsFromThirdClick, 'runtime-errors', CART.good)]);
  });

  it('after ready(), one failed import of a bare specifier nothing maps falls its version back, blamed on the importer', async () => {
    await moveTo(world, page, CART.importsUnmapped);
    await page.reload();
    expect((await loaded(page)).rendered.cart).toBe(CART.importsUnmapped);
    const before = (await tab(page)).loads;
    await click(page, 1); // "Failed to resolve module specifier "left-pad"": the browser names no importer
    await poll(async () => (await tab(page)).loads).toBe(before + 1);
    expect((await loaded(page)).rendered.cart).toBe(CART.good);
    expect((await tab(page)).rolledBack).toEqual([rollback(CART.importsUnmapped, 'chunk-load', CART.good)]);
    expect(errorCount(world, null)).toBe(0);
  });

  it('a version that never calls ready(): the boot timeout falls back', async () => {
    await moveTo(world, page, CART.neverReady);
    const before = (await tab(page)).loads;
    await page.reload(); // hangs in cart@3.0.0's import, so ready() never comes
    await poll(async () => (await tab(page)).loads).toBe(before + 2);
    expect((await loaded(page)).rendered.cart).toBe(CART.good);
    expect((await tab(page)).rolledBack).toEqual([rollback(CART.neverReady, 'boot-timeout', CART.good)]);
    expect((await state(page)).bad).toMatchObject([{ version: CART.neverReady, reason: 'boot-timeout' }]);
  });

  it('errors from the app shell or a third-party script fall nothing back, not even on a version new here', async () => {
    await moveTo(world, page, CART.storms);
    await page.goto(`${world.server.origin}/?noise`); // shell and third party throw while booting
    expect((await loaded(page)).rendered.cart).toBe(CART.storms);
    await page.evaluate(() => {
      const w = window as unknown as { shellFail(): void; thirdPartyFail(): void };
      for (let i = 0; i < 3; i++) {
        w.shellFail();
        w.thirdPartyFail();
      }
    });
    await poll(() => errorCount(world, null)).toBe(8);
    expect(errorCount(world, `cart@${CART.storms}`)).toBe(0);
    expect((await state(page)).bad).toEqual([]);
    expect((await tab(page)).rolledBack).toEqual([]);
    expect((await loaded(page)).rendered.cart).toBe(CART.storms);
  });

  it('two tabs on the bad version: the errors of one fall both back', async () => {
    await moveTo(world, page, CART.throwsFromThirdClick);
    const other = await context.newPage();
    await other.goto(world.server.origin);
    await page.reload();
    for (const p of [page, other]) expect((await loaded(p)).rendered.cart).toBe(CART.throwsFromThirdClick);
    const before = await Promise.all([tab(page), tab(other)]);
    await page.bringToFront(); // a background tab's frames are throttled, which slows clicks
    await click(page, 5);
    for (const [i, p] of [page, other].entries()) {
      await poll(async () => (await tab(p)).loads).toBe(before[i]!.loads + 1);
      expect((await loaded(p)).rendered.cart).toBe(CART.good);
      expect((await tab(p)).rolledBack).toEqual([rollback(CART.throwsFromThirdClick, 'runtime-errors', CART.good)]);
    }
  });

  it('the good version fails too: one reload, then the tab stays, with both reasons visible', async () => {
    await moveTo(world, page, CART.throwsOnImport);
    await page.evaluate(() => localStorage.setItem('break', 'yes')); // cart@1.0.0 breaks as well now
    const before = (await tab(page)).loads;
    await page.reload();
    await poll(async () => (await tab(page)).rolledBack).toEqual([
      rollback(CART.throwsOnImport, 'boot-error', CART.good),
      rollback(CART.good, 'boot-error', null),
    ]);
    expect((await tab(page)).loads).toBe(before + 2);
    const { bad, snapshot } = await state(page);
    expect(bad.map((b) => [b.version, b.reason]).sort()).toEqual([
      [CART.good, 'boot-error'],
      [CART.throwsOnImport, 'boot-error'],
    ]);
    expect(snapshot!.modules.cart).toBe(CART.good);
    // Stable: asked once more, nothing moves.
    expect((await tab(page)).loads).toBe(before + 2);
  });

  it('a storm of 10,000 errors in one second: the page stays responsive, every error is counted, and the fallback happens', async () => {
    await moveTo(world, page, CART.storms);
    await page.goto(`${world.server.origin}/?prompt`); // the app prompts instead of reloading
    expect((await loaded(page)).rendered.cart).toBe(CART.storms);
    const ticked = await page.evaluate(async () => {
      (window as unknown as { storm(count: number, ms: number): void }).storm(10_000, 1000);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await new Promise((resolve) => requestAnimationFrame(resolve));
      return true;
    });
    expect(ticked).toBe(true);
    await page.click('#buy');
    expect(await page.evaluate(() => (window as unknown as { buys: number }).buys)).toBe(1);
    await poll(() => page.evaluate(() => (window as unknown as { stormThrown: number }).stormThrown)).toBe(10_000);
    await poll(async () => (await tab(page)).rolledBack).toEqual([rollback(CART.storms, 'runtime-errors', CART.good, false)]);
    expect((await state(page)).bad).toMatchObject([{ version: CART.storms, reason: 'runtime-errors' }]);
    // Batched, budgeted and summed, every error still reaches the collector.
    await poll(() => errorCount(world, `cart@${CART.storms}`) + errorCount(world, null)).toBe(10_000);
    await page.evaluate(() => (window as unknown as { tranche: { applyUpdate(): void } }).tranche.applyUpdate());
    await poll(async () => (await loaded(page)).rendered.cart).toBe(CART.good);
  });

  it('telemetry batches reach the collector with unique ids, and are retried after it was down', async () => {
    world.collectorDown = true;
    await page.reload(); // an exposure and a healthy boot
    expect((await loaded(page)).rendered.cart).toBe(CART.good);
    await poll(() => world.refused.length).toBeGreaterThanOrEqual(2);
    world.collectorDown = false;
    const refusedIds = new Set(world.refused.flatMap((b) => b.events.map((e) => e.id)));
    const acceptedIds = () => world.accepted.flatMap((b) => b.events.map((e) => e.id));
    await poll(() => [...refusedIds].every((id) => acceptedIds().includes(id))).toBe(true);
    expect(new Set(acceptedIds()).size).toBe(acceptedIds().length);
    const events = world.accepted.flatMap((b) => b.events);
    expect(events).toContainEqual(expect.objectContaining({ type: 'exposure', module: 'cart', version: CART.good }));
    expect(events).toContainEqual(expect.objectContaining({ type: 'healthy-boot', module: 'cart', version: CART.good }));
    // The anonymous client id, never the app identity.
    await page.evaluate(() => (window as unknown as { tranche: { identify(id: string): Promise<void> } }).tranche.identify('user-42'));
    const sent = world.accepted.length;
    await page.reload();
    await poll(() => world.accepted.length).toBeGreaterThan(sent);
    expect(new Set([...world.refused, ...world.accepted].map((b) => b.client)).size).toBe(1);
    expect(world.accepted[0]!.client).not.toBe('user-42');
  });
  it("the page tells a refused override, a bad argument and the kill switch apart by the worker's error codes", async () => {
    type Tried = { name: string; message: string } | 'ok';
    const override = (module: string, version: string | null): Promise<Tried> =>
      page.evaluate(
        ([m, v]) =>
          (window as unknown as { tranche: { override(m: string, v: string | null): Promise<void> } }).tranche.override(m!, v!).then(
            () => 'ok' as const,
            (err: Error) => ({ name: err.name, message: err.message }),
          ),
        [module, version] as const,
      );
    expect(await override('cart', '9.9.9')).toEqual({
      name: 'override-refused',
      message: "override(): override cart@9.9.9: cart@9.9.9 is not a released version (not in the signed manifest's releases)",
    });
    expect(await override('Not A Module', null)).toEqual({
      name: 'invalid-argument',
      message: 'override() module: expected a module name, got "Not A Module"',
    });
    expect(await override('cart', CART.good)).toBe('ok');

    await world.t.store.setKillSwitch(true);
    await page.evaluate(() => (window as unknown as { tranche: { checkForUpdate(): Promise<unknown> } }).tranche.checkForUpdate());
    expect(await override('cart', CART.good)).toEqual({
      name: 'kill-switch',
      message: "override(): tranche service worker: refused, the manifest's kill switch disabled the tranche service worker",
    });
  });
});

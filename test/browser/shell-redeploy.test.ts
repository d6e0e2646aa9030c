/**
 * A new build of the app shell (new HTML, new worker script) deployed while tabs are open, in
 * Chromium: the real worker (tranche/sw) and page client (tranche) of the fallback test app.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { BOOT_TIMEOUT_MS, CART, fallbackTest, moveTo, poll, redeployShell, shellBuildOf, tab } from '../support/fallbackApp.js';
import { lazyChunk, loaded, workerState } from '../support/swPage.js';

const t = fallbackTest();

/** Has the browser look for a new worker script now, and waits until the new worker is waiting. */
async function findWaitingWorker(p: Page): Promise<void> {
  await p.evaluate(async () => {
    const registration = (await navigator.serviceWorker.getRegistration())!;
    await registration.update();
    while (!registration.waiting) await new Promise((resolve) => setTimeout(resolve, 20));
  });
}

/** A second tab on the app, booted. */
async function secondTab(): Promise<Page> {
  const other = await t.context.newPage();
  await other.goto(t.world.server.origin);
  expect((await loaded(other)).rendered.cart).toBe(CART.good);
  return other;
}

/** Whether a worker of the registration still waits behind the active one. */
function waiting(p: Page): Promise<boolean> {
  return p.evaluate(async () => (await navigator.serviceWorker.getRegistration())!.waiting !== null);
}

describe('a new worker takes over open tabs', () => {
  it('with a module rollout: open tabs keep versions and lazy chunks, are told once; a reload shows new shell and version', async () => {
    const other = await secondTab();
    redeployShell(t.world);
    await moveTo(t.world, t.page, CART.next);
    // The browser finds the new worker (here when the app checks; else at a navigation).
    await t.page.evaluate(() => (window as unknown as { tranche: { checkForUpdate(): Promise<unknown> } }).tranche.checkForUpdate());
    for (const p of [t.page, other])
      await poll(async () => (await tab(p)).updates).toEqual(['worker-updated on build 1', 'shell-updated on build 1']);
    for (const p of [t.page, other]) {
      expect(await waiting(p)).toBe(false);
      expect((await workerState(p)).snapshot!.modules.cart).toBe(CART.good);
      expect(await lazyChunk(p)).toBe(`cart@${CART.good} chunk`);
      expect(await shellBuildOf(p)).toBe(1);
    }
    const before = (await tab(t.page)).loads;
    await t.page.reload();
    expect((await loaded(t.page)).rendered.cart).toBe(CART.next);
    expect(await shellBuildOf(t.page)).toBe(2);
    expect(await lazyChunk(t.page)).toBe(`cart@${CART.next} chunk`);
    expect((await tab(t.page)).loads).toBe(before + 1);
    // The tab left open still runs what it was pinned to, through the new worker, told once.
    expect(await lazyChunk(other)).toBe(`cart@${CART.good} chunk`);
    expect((await loaded(other)).rendered.cart).toBe(CART.good);
    expect((await tab(other)).updates).toEqual(['worker-updated on build 1', 'shell-updated on build 1']);
  });

  it('with a module failure: tabs learn of the rollback once; the failing one reloads once to the good version, new shell', async () => {
    const other = await secondTab();
    redeployShell(t.world);
    await moveTo(t.world, t.page, CART.throwsOnImport);
    const before = (await tab(t.page)).loads;
    // The reload finds the new worker, which takes over while the page fails to boot.
    await t.page.reload();
    await poll(async () => (await tab(t.page)).loads).toBe(before + 2);
    expect((await loaded(t.page)).rendered.cart).toBe(CART.good);
    expect(await shellBuildOf(t.page)).toBe(2);
    const failed = { module: 'cart', version: CART.throwsOnImport, reason: 'boot-error', to: CART.good };
    await poll(async () => (await tab(other)).rolledBack).toEqual([{ ...failed, affectsThisPage: false, willReload: false }]);
    await poll(async () => (await tab(other)).updates).toContain('worker-updated on build 1');
    // Whichever worker judged it, no other one judges it again (a boot deadline is the longest wait).
    await t.page.waitForTimeout(BOOT_TIMEOUT_MS);
    expect((await tab(t.page)).rolledBack).toEqual([{ ...failed, affectsThisPage: true, willReload: true }]);
    expect((await tab(other)).rolledBack).toEqual([{ ...failed, affectsThisPage: false, willReload: false }]);
    expect((await tab(t.page)).loads).toBe(before + 2);
    expect(await waiting(t.page)).toBe(false);
    expect(await lazyChunk(other)).toBe(`cart@${CART.good} chunk`);
  });
});

describe('a worker waiting behind the one that controls the page', () => {
  it('a version that throws on import still rolls back: rolled-back fires and the tab reloads once onto the good version', async () => {
    // The new worker stays waiting: the tab, reloaded, stays on the old one.
    redeployShell(t.world, { takeOver: false });
    await findWaitingWorker(t.page);
    await moveTo(t.world, t.page, CART.throwsOnImport);
    const before = (await tab(t.page)).loads;
    await t.page.reload();
    await poll(async () => (await tab(t.page)).loads).toBe(before + 2);
    expect((await loaded(t.page)).rendered.cart).toBe(CART.good);
    expect((await tab(t.page)).rolledBack).toEqual([
      { module: 'cart', version: CART.throwsOnImport, reason: 'boot-error', to: CART.good, affectsThisPage: true, willReload: true },
    ]);
    // The worker was waiting all along: the page was controlled by the old one throughout.
    expect(await waiting(t.page)).toBe(true);
  });
});

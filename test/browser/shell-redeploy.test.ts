/**
 * A new build of the app shell (new HTML, new worker script) deployed while tabs are open, in
 * Chromium: the real worker (tranche/sw) and page client (tranche) of the fallback test app.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { CART, fallbackTest, moveTo, poll, redeployShell, tab } from '../support/fallbackApp.js';
import { loaded } from '../support/swPage.js';

const t = fallbackTest();

/** Has the browser look for a new worker script now, and waits until the new worker is waiting. */
async function findWaitingWorker(p: Page): Promise<void> {
  await p.evaluate(async () => {
    const registration = (await navigator.serviceWorker.getRegistration())!;
    await registration.update();
    while (!registration.waiting) await new Promise((resolve) => setTimeout(resolve, 20));
  });
}

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
    expect(await t.page.evaluate(async () => (await navigator.serviceWorker.getRegistration())!.waiting !== null)).toBe(true);
  });
});

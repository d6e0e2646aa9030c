/**
 * The demo's broken releases heal themselves in Chromium: header 3.0.0 (throws while imported)
 * rolled out to everyone, and cart 2.1.0 (throws on every click from the third on). Each page
 * falls back to a good version by itself, the dashboard counts the rollbacks with their
 * reasons, and `tranche rollback` ends the rollout for good.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.js';
import {
  clientState,
  openShop,
  settled,
  startTestDemo,
  statsOf,
  waitForCurrent,
  waitForDashboard,
  type TestDemo,
} from '../support/demo.js';

let browser: Browser;
let demo: TestDemo;
/** Browsers that ran the stable versions before the broken releases. */
const regulars: Array<{ context: BrowserContext; page: Page }> = [];

beforeAll(async () => {
  [demo, browser] = await Promise.all([startTestDemo(), launchChromium()]);
  for (let i = 0; i < 2; i++) {
    const context = await browser.newContext();
    regulars.push({ context, page: await openShop(context, demo.url) });
  }
});

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

describe('automatic fallback in the demo', () => {
  it('header 3.0.0 rolled out to everyone: every page falls back to 1.0.0 and the dashboard counts the rollbacks', async () => {
    demo.tranche('rollout', 'header@3.0.0', '--percent', '100');
    for (const { page } of regulars) {
      await waitForCurrent(page, 'header', '3.0.0');
      // The load onto 3.0.0 fails to boot, is reported, rolled back, and the page reloads once.
      await page.reload();
      await settled(page, 'header', '1.0.0');
      const state = await clientState(page);
      expect(state.snapshot!.modules.header).toBe('1.0.0');
      expect(state.bad).toEqual([expect.objectContaining({ module: 'header', version: '3.0.0', reason: 'boot-error' })]);
      expect(await page.isHidden('#notice')).toBe(true);
    }
    // A first visit straight onto the rollout: 1.0.0 was never stored here, and is staged for the fallback.
    const context = await browser.newContext();
    const newcomer = await context.newPage();
    await newcomer.goto(demo.url);
    await newcomer.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
    await newcomer.reload();
    await settled(newcomer, 'header', '1.0.0');
    expect((await clientState(newcomer)).bad).toEqual([
      expect.objectContaining({ module: 'header', version: '3.0.0', reason: 'boot-error' }),
    ]);
    regulars.push({ context, page: newcomer });

    const state = await waitForDashboard(
      demo,
      '3 rollbacks of header 3.0.0',
      (s) => statsOf(s, 'header', '3.0.0').fallbackReasons['boot-error'] === 3,
    );
    expect(statsOf(state, 'header', '3.0.0')).toMatchObject({ activeClients: 3, healthyBoots: 0, fallbackReasons: { 'boot-error': 3 } });
    const dashboard = await context.newPage();
    await dashboard.goto(`${demo.url}dashboard`);
    const rollbacks = () => dashboard.textContent('[data-stats=header] tr[data-version="3.0.0"] td[data-column="rollbacks"]');
    await expect.poll(rollbacks).toBe('3 (boot-error: 3)');
    expect(await dashboard.textContent('[data-stats=header] tr[data-version="3.0.0"] td[data-column="rollback rate"]')).toBe('100.0%');
    // "This browser" shows the same client id the shop page's worker reports, and its bad mark.
    const { clientId } = (await clientState(newcomer)).worker;
    await expect.poll(() => dashboard.textContent('#client-id')).toBe(clientId);
    await expect.poll(() => dashboard.textContent('#bad')).toBe('header@3.0.0 (boot-error)');
    await dashboard.close();
  });

  it('tranche rollback header ends the rollout and blocks 3.0.0', async () => {
    demo.tranche('rollback', 'header');
    const status = (await demo.state()).status.modules.header!;
    expect(status).toMatchObject({ stable: '1.0.0', rollouts: [], blocked: ['3.0.0'] });
    const { page } = regulars[0]!;
    await page.evaluate(() => window.tranche.checkForUpdate());
    await page.reload();
    await settled(page, 'header', '1.0.0');
    expect((await clientState(page)).worker.modules.header!.assigned!.version).toBe('1.0.0');
  });

  it('cart 2.1.0 throwing on every click from the third on falls back after three runtime errors', async () => {
    demo.tranche('rollout', 'cart@2.1.0', '--percent', '100');
    const { page } = regulars[0]!;
    await waitForCurrent(page, 'cart', '2.1.0');
    await page.reload();
    await settled(page, 'cart', '2.1.0');
    // Clicks 3, 4 and 5 throw: three runtime errors within a minute fail the version here.
    for (let click = 0; click < 5; click++) await page.click('#cart button');
    await settled(page, 'cart', '1.0.0');
    const state = await clientState(page);
    expect(state.bad).toEqual(
      expect.arrayContaining([expect.objectContaining({ module: 'cart', version: '2.1.0', reason: 'runtime-errors' })]),
    );
    // The good version works: its drawer chunk loads on the first click.
    expect(await page.isHidden('#cart .drawer')).toBe(true);
    await page.click('#cart button');
    await expect.poll(() => page.textContent('#cart .drawer')).toBe('Your cart is empty.');

    const dashboard = await waitForDashboard(
      demo,
      'the rollback of cart 2.1.0',
      (s) => statsOf(s, 'cart', '2.1.0').fallbackReasons['runtime-errors'] === 1,
    );
    expect(statsOf(dashboard, 'cart', '2.1.0')).toMatchObject({
      activeClients: 1,
      healthyBoots: 1,
      runtimeErrors: 3,
      fallbackReasons: { 'runtime-errors': 1 },
    });
  });
});

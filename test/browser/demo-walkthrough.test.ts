/**
 * The README's demo walkthrough in Chromium, driven by the real `tranche` bin against the demo's
 * store: a first visit from the network, the 50% split of cart 2.0.0 across 24 fresh browsers
 * (each page running what it was assigned, the dashboard counting the same), promotion with the
 * cart's lazy chunk, and the shell starting offline.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.js';
import {
  booted,
  clientState,
  openShop,
  renderedVersions,
  startTestDemo,
  statsOf,
  waitForCurrent,
  waitForDashboard,
  type TestDemo,
} from '../support/demo.js';

const BROWSERS = 24;
/** Browsers opening at once. */
const PARALLEL = 4;

let browser: Browser;
let demo: TestDemo;
/** Clients per cart version, as the pages of this file ran them (what the dashboard must show). */
const cartClients: Record<string, number> = {};
/** A browser that ran cart 1.0.0, kept for the promotion. */
let onStable: { context: BrowserContext; page: Page } | null = null;

beforeAll(async () => {
  [demo, browser] = await Promise.all([startTestDemo(), launchChromium()]);
});

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

/** Opens one fresh browser on the shop and checks that its page runs what the worker assigned it. */
async function visit(): Promise<{ context: BrowserContext; page: Page; cart: string }> {
  const context = await browser.newContext();
  const page = await openShop(context, demo.url);
  expect(await booted(page)).toBe('ok');
  const state = await clientState(page);
  const assigned = state.worker.modules.cart!.assigned!.version;
  expect(state.snapshot!.modules.cart, `the worker's cart: ${JSON.stringify(state.worker.modules.cart)}`).toBe(assigned);
  expect((await renderedVersions(page)).cart).toBe(assigned);
  cartClients[assigned] = (cartClients[assigned] ?? 0) + 1;
  return { context, page, cart: assigned };
}

const cartClientsShown = (state: Awaited<ReturnType<TestDemo['state']>>) =>
  state.stats.filter((s) => s.module === 'cart').reduce((sum, s) => sum + s.activeClients, 0);

describe('the demo walkthrough', () => {
  it('a first visit runs the stable versions from the network; the next load is served by the worker', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(demo.url);
    expect(await booted(page)).toBe('ok');
    expect(await renderedVersions(page)).toEqual({ header: '1.0.0', catalog: '1.0.0', cart: '1.0.0' });
    expect(await page.$('#tranche-snapshot')).toBeNull();
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
    await page.reload();
    expect(await booted(page)).toBe('ok');
    expect((await clientState(page)).snapshot?.modules).toEqual({ header: '1.0.0', catalog: '1.0.0', cart: '1.0.0' });
    expect(await renderedVersions(page)).toEqual({ header: '1.0.0', catalog: '1.0.0', cart: '1.0.0' });
    cartClients['1.0.0'] = 1;
    await waitForDashboard(demo, 'the first client', (s) => cartClientsShown(s) === 1);
    await context.close();
  });

  it(`tranche rollout cart@2.0.0 --percent 50 splits ${BROWSERS} fresh browsers about evenly, and the dashboard counts them`, async () => {
    demo.tranche('rollout', 'cart@2.0.0', '--percent', '50');
    const open: Array<{ context: BrowserContext; page: Page; cart: string }> = [];
    let busy = 0;
    const lane = async () => {
      while (open.length + busy < BROWSERS) {
        busy++;
        open.push(await visit());
        busy--;
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, lane));
    expect(open).toHaveLength(BROWSERS);
    // A closed browser takes its worker's unsent telemetry with it: every one stays open until
    // the collector has heard from it.
    await waitForDashboard(demo, `${BROWSERS + 1} cart clients`, (s) => cartClientsShown(s) === BROWSERS + 1);
    onStable = open.splice(
      open.findIndex((o) => o.cart === '1.0.0'),
      1,
    )[0]!;
    await Promise.all(open.map((o) => o.context.close()));
    // Binomial(24, 0.5): mean 12, sd 2.45; 4 sd either side fails once in ~30,000 runs.
    const canary = cartClients['2.0.0'] ?? 0;
    expect(canary).toBeGreaterThanOrEqual(3);
    expect(canary).toBeLessThanOrEqual(21);
    const state = await demo.state();
    expect(statsOf(state, 'cart', '2.0.0')).toMatchObject({
      activeClients: canary,
      pageLoads: canary,
      healthyBoots: canary,
      runtimeErrors: 0,
    });
    expect(statsOf(state, 'cart', '1.0.0')).toMatchObject({ activeClients: cartClients['1.0.0'], runtimeErrors: 0 });
    expect(state.status.modules.cart!.rollouts).toEqual([{ version: '2.0.0', percent: 50 }]);

    // The dashboard page shows the same figures.
    const context = await browser.newContext();
    const dashboard = await context.newPage();
    await dashboard.goto(`${demo.url}dashboard`);
    const cell = (version: string, column: string) =>
      dashboard.textContent(`[data-stats=cart] tr[data-version="${version}"] td[data-column="${column}"]`);
    await expect.poll(() => cell('2.0.0', 'clients')).toBe(String(canary));
    expect(await cell('2.0.0', 'manifest')).toBe('rollout 50%');
    expect(await cell('1.0.0', 'clients')).toBe(String(cartClients['1.0.0']));
    expect(await dashboard.textContent('[data-module=cart] .tags')).toContain('2.0.0 at 50%');
    await context.close();
  }, 150_000);

  it('after tranche promote cart@2.0.0 a browser that ran 1.0.0 runs 2.0.0 and its lazy chunk loads', async () => {
    const { page } = onStable!;
    demo.tranche('promote', 'cart@2.0.0');
    await waitForCurrent(page, 'cart', '2.0.0');
    await page.reload();
    expect(await booted(page)).toBe('ok');
    expect((await renderedVersions(page)).cart).toBe('2.0.0');
    await page.click('#cart button');
    await expect.poll(() => page.textContent('#cart .drawer')).toBe('Your cart is empty.');
    const chunks = await page.evaluate(() =>
      performance
        .getEntriesByType('resource')
        .map((e) => new URL(e.name).pathname)
        .filter((p) => p.includes('/drawer-')),
    );
    expect(chunks).toEqual([expect.stringMatching(/^\/modules\/cart\/2\.0\.0\/assets\/drawer-[\w-]+\.js$/)]);
  });

  it('a browser that never had the worker gets the promoted version and its lazy chunk from the network', async () => {
    const context = await browser.newContext({ serviceWorkers: 'block' });
    const page = await context.newPage();
    await page.goto(demo.url);
    expect(await booted(page)).toBe('ok');
    expect(await renderedVersions(page)).toEqual({ header: '1.0.0', catalog: '1.0.0', cart: '2.0.0' });
    const drawer = page.waitForResponse((res) => /\/modules\/cart\/2\.0\.0\/assets\/drawer-[\w-]+\.js$/.test(res.url()));
    await page.click('#cart button');
    expect((await drawer).headers()['cache-control']).toBe('public, max-age=31536000, immutable');
    await expect.poll(() => page.textContent('#cart .drawer')).toBe('Your cart is empty.');
    await context.close();
  });

  it('the shop starts offline once the worker has served it', async () => {
    const { context, page } = onStable!;
    await context.setOffline(true);
    await page.reload();
    expect(await booted(page)).toBe('ok');
    expect(await renderedVersions(page)).toEqual({ header: '1.0.0', catalog: '1.0.0', cart: '2.0.0' });
    await context.close();
  });
});

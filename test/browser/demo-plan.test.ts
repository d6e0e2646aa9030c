/**
 * A ramp plan on the demo, in Chromium (issue 15): cart 2.1.0, the demo's broken version (it
 * throws on every click from the third on), is started on a plan at 50%. Browsers bucketed onto
 * it fail it by themselves and report it; `tranche advance`, run once as a CI job would, halts
 * the plan and rolls 2.1.0 back with no human command; `tranche status --health` and the
 * dashboard show why, 2.1.0's figures beside the stable's.
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
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  [demo, browser] = await Promise.all([startTestDemo(), launchChromium()]);
});

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

describe('a ramp plan on the demo', () => {
  it('cart 2.1.0 on a plan is halted and rolled back by advance alone; status --health and the dashboard show why', async () => {
    demo.tranche('rollout', 'cart@2.1.0', '--plan', '50,100', '--step', '1h');

    // New visitors until at least two are bucketed onto the canary and two onto the stable.
    const canary: Page[] = [];
    const stable: Page[] = [];
    while ((canary.length < 2 || stable.length < 2) && contexts.length < 16) {
      const context = await browser.newContext();
      contexts.push(context);
      const page = await openShop(context, demo.url);
      const assigned = (await clientState(page)).worker.modules.cart!.assigned!.version;
      (assigned === '2.1.0' ? canary : stable).push(page);
    }
    expect(canary.length).toBeGreaterThanOrEqual(2);
    expect(stable.length).toBeGreaterThanOrEqual(2);

    // The stable's visitors keep loading pages, healthily.
    for (const page of stable)
      for (let i = 0; i < 8; i++) {
        await page.reload();
        await settled(page, 'cart', '1.0.0');
      }
    // The canary's visitors use the cart: 2.1.0 throws from the third click, fails there and falls back.
    for (const page of canary) {
      await waitForCurrent(page, 'cart', '2.1.0');
      await page.reload();
      await settled(page, 'cart', '2.1.0');
      for (let click = 0; click < 5; click++) await page.click('#cart button');
      await settled(page, 'cart', '1.0.0');
    }
    await waitForDashboard(
      demo,
      `${canary.length} rollbacks of cart 2.1.0 and the stable's page loads`,
      (s) =>
        statsOf(s, 'cart', '2.1.0').fallbackReasons['runtime-errors'] === canary.length &&
        statsOf(s, 'cart', '1.0.0').pageLoads >= 9 * stable.length,
      30_000,
    );

    // What a CI job runs every minute; nobody else touches the release.
    const decision = await demo.trancheAsync('advance', '--metrics', demo.url);
    expect(decision).toMatch(/cart@2\.1\.0 {2}Failed -> rollback \(step 1, 50%\): (runtime errors per page load|client fallback rate) /);
    expect(JSON.parse(demo.tranche('status', '--json')).modules.cart).toMatchObject({ stable: '1.0.0', rollouts: [], blocked: ['2.1.0'] });
    expect(demo.tranche('history', 'cart')).toMatch(/tranche advance: Failed: (runtime errors per page load|client fallback rate)/);

    // status --health: 2.1.0's figures beside the stable's, and the plan's last decision with its reason.
    const health = await demo.trancheAsync('status', '--health', '--metrics', demo.url);
    const header = health.split('\n').find((line) => line.includes('2.1.0 (rolled back)'));
    expect(header).toMatch(/2\.1\.0 \(rolled back\)\s+1\.0\.0 \(stable\)/);
    expect(health).toMatch(new RegExp(`top fallback reasons\\s+runtime-errors ${canary.length}\\s+-`));
    expect(health).toMatch(/errors per page load\s+[1-9]\d*\.\d{3}\s+0\.000/);
    expect(health).toMatch(/plan 2\.1\.0 50,100%: failed at step 1 \(50%\); last decision \S+ Failed \(rollback\): /);

    // The dashboard shows the same.
    const dashboard = await contexts[0]!.newPage();
    await dashboard.goto(`${demo.url}dashboard`);
    await expect
      .poll(() => dashboard.textContent('[data-module=cart] .plan'))
      .toMatch(/: failed at step 1 \(50%\); last decision .* Failed \(rollback\): /);
    const cell = (version: string, row: string) =>
      dashboard.textContent(`[data-health=cart] td[data-version="${version}"][data-row="${row}"]`);
    expect(await cell('2.1.0', 'top fallback reasons')).toBe(`runtime-errors ${canary.length}`);
    expect(await cell('1.0.0', 'errors per page load')).toBe('0.000');
    expect(Number(await cell('2.1.0', 'errors per page load'))).toBeGreaterThan(0);
    expect(await dashboard.textContent('[data-module=cart] .tags')).toContain('2.1.0 blocked');
  }, 300_000);
});

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.js';
import { loaded, openApp, workerState } from '../support/swPage.js';
import { startSwServer, type SwTestServer } from '../support/swServer.js';
import { createTestStore, type TestStore } from '../support/trancheStore.js';

const CONTEXTS = 40;
const PARALLEL = 3;

let browser: Browser;
let t: TestStore;
let server: SwTestServer;

beforeAll(async () => {
  t = await createTestStore();
  await t.release('cart', '1.0.0');
  await t.release('cart', '2.0.0');
  await t.store.promote('cart', '1.0.0');
  await t.store.rollout('cart', '2.0.0', 30);
  server = await startSwServer(t.dir, { publicKeys: [t.publicKey], retryDelayMs: 1000, navigationCheckThrottleMs: 0 });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await t?.remove();
});

describe('tranche/sw rollout in Chromium', () => {
  it(`puts ~30% of ${CONTEXTS} fresh browsers on the canary, and each page runs its assigned version`, async () => {
    const results: { bucket: number; assigned: string; snapshot: string; rendered: string }[] = [];
    let next = 0;
    const lane = async () => {
      while (next < CONTEXTS) {
        next++;
        const context = await browser.newContext();
        try {
          const page = await openApp(context, server.origin);
          const { snapshot, rendered } = await loaded(page);
          const cart = (await workerState(page)).modules.cart!;
          results.push({
            bucket: cart.assigned!.bucket,
            assigned: cart.assigned!.version,
            snapshot: snapshot!.modules.cart!,
            rendered: rendered.cart!,
          });
        } finally {
          await context.close();
        }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, lane));
    expect(results).toHaveLength(CONTEXTS);
    for (const r of results) {
      // The bucketing spec decides, the snapshot follows it and the executed code agrees.
      expect(r.assigned).toBe(r.bucket < 3000 ? '2.0.0' : '1.0.0');
      expect(r.snapshot).toBe(r.assigned);
      expect(r.rendered).toBe(r.assigned);
    }
    // Binomial(40, 0.3): mean 12, sd 2.9; 4 sd either side fails once in ~30,000 runs.
    const canary = results.filter((r) => r.assigned === '2.0.0').length;
    expect(canary).toBeGreaterThanOrEqual(1);
    expect(canary).toBeLessThanOrEqual(23);
  }, 240_000);
});

/**
 * No telemetry is lost to a worker stop (issue 15), in Chromium: browsers stop service workers
 * whenever they like, and an event the worker kept in memory until its next batch was gone with
 * it. The worker here batches every 30 s, so nothing is sent before the stop; the collector is
 * tranche's own (collectorHandler over SQLite), mounted on the app's server.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collectorHandler, openCollector, type Collector, type VersionFigures } from '../../src/collector/index.js';
import { CART, fallbackTest, moveTo, poll, tab, type FallbackWorld } from '../support/fallbackApp.js';
import { loaded, stopWorkers } from '../support/swPage.js';

const t = fallbackTest({ telemetry: { url: '/api/telemetry', batchIntervalMs: 30_000 } });
let world: FallbackWorld;
let context: BrowserContext;
let page: Page;
let collector: Collector;

beforeEach(() => {
  ({ world, context, page } = t);
  collector = openCollector({ db: ':memory:' });
  const handler = collectorHandler({ collector, metrics: false });
  const app = world.server.hook!;
  world.server.hook = (req, res, path) => (path === '/api/telemetry' ? handler.handle(req, res) : app(req, res, path));
});
afterEach(() => collector.close());

/** What the collector holds of cart@`version` over the last hour. */
function figures(version: string): VersionFigures | undefined {
  const now = Date.now();
  return collector.figures({ from: now - 3_600_000, to: now + 60_000 }).find((f) => f.module === 'cart' && f.version === version);
}

describe('telemetry across a worker stop', () => {
  it('a worker stopped right after a fallback: once it runs again, the collector receives the rollback with its reason', async () => {
    await moveTo(world, page, CART.throwsOnImport);
    const before = (await tab(page)).loads;
    await page.reload(); // cart@2.0.0 throws on import: the worker marks it bad and the tab reloads into 1.0.0
    await poll(async () => (await tab(page)).rolledBack).toMatchObject([{ version: CART.throwsOnImport, reason: 'boot-error' }]);
    await stopWorkers(page);
    expect(figures(CART.throwsOnImport)).toBeUndefined(); // nothing was sent before the stop

    // The worker runs again (a page load starts it) and sends what it stored.
    await poll(async () => (await tab(page)).loads).toBe(before + 2);
    await page.reload();
    expect((await loaded(page)).rendered.cart).toBe(CART.good);
    await poll(() => figures(CART.throwsOnImport)).toMatchObject({
      fallbacks: 1,
      bootErrors: 1,
      fallbackReasons: { 'boot-error': 1 },
    });
    expect(context.pages()).toHaveLength(1);
  });
});

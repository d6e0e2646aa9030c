/**
 * The set-up every worker browser test shares: one Chromium per test file, and for each test a
 * fresh "world" (a store and its server) and a fresh browser context, closed in that order's
 * reverse (pages first, then the server they talk to).
 */
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { launchChromium } from './chromium.js';

/** What a test reads: its context and its world. */
export interface BrowserFixture<W> {
  context(): BrowserContext;
  world(): W;
}

/** Registers the vitest hooks; call at the top of a test file, before its own `beforeEach`. */
export function browserFixture<W extends { close(): Promise<void> }>(makeWorld: () => Promise<W>): BrowserFixture<W> {
  let browser: Browser | undefined;
  let world: W | undefined;
  let context: BrowserContext | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(() => browser?.close());
  beforeEach(async () => {
    world = await makeWorld();
    context = await browser!.newContext();
  });
  afterEach(async () => {
    await context?.close();
    await world?.close();
  });
  return { context: () => context!, world: () => world! };
}

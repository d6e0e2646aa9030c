import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { beforeEach, describe, expect, it } from 'vitest';
import { browserFixture } from '../support/browserFixture.js';
import { lazyChunk, loaded, openApp, stopWorkers, waitForState, workerState } from '../support/swPage.js';
import { newFilePaths, scenario, type Scenario } from '../support/swScenario.js';

const fixture = browserFixture(scenario);
let s: Scenario;
let context: BrowserContext;

beforeEach(() => {
  [s, context] = [fixture.world(), fixture.context()];
});

describe('tranche/sw updates in Chromium', () => {
  it('a promotion changes only new page loads; an open page keeps its versions, its lazy chunk and its workers', async () => {
    const pageA = await openApp(context, s.server.origin);
    expect((await loaded(pageA)).rendered.cart).toBe('1.0.0');

    await s.t.store.promote('cart', '2.0.0');
    const pageB = await context.newPage();
    await pageB.goto(`${s.server.origin}/`); // its navigation makes the worker check the manifest
    await waitForState(pageA, (st) => st.modules.cart?.current === '2.0.0', 'cart@2.0.0 to become current');
    const pageC = await context.newPage();
    await pageC.goto(`${s.server.origin}/`);
    expect((await loaded(pageC)).rendered.cart).toBe('2.0.0');

    // The server deletes everything of 1.0.0: the open page still has all of it.
    const v1 = await s.record('cart', '1.0.0');
    for (const f of v1.files) await rm(join(s.t.dir, 'files', f.sha256), { force: true });
    expect((await workerState(pageA)).snapshot?.modules.cart).toBe('1.0.0');
    expect(await lazyChunk(pageA)).toBe('cart@1.0.0 chunk');
    // A dedicated worker started by the old page runs the old page's versions too.
    const fromWorker = await pageA.evaluate(
      () =>
        new Promise((resolve, reject) => {
          const worker = new Worker('/modules/cart/worker.js', { type: 'module' });
          worker.onmessage = (event) => resolve(event.data);
          worker.onerror = (event) => reject(new Error(`worker failed: ${event.message}`));
        }),
    );
    expect(fromWorker).toBe('1.0.0');
    expect(await lazyChunk(pageC)).toBe('cart@2.0.0 chunk');
    // Reloading the old page is a new page load: it moves on.
    await pageA.reload();
    expect((await loaded(pageA)).rendered.cart).toBe('2.0.0');
  });

  it('a worker stopped mid-staging leaves the old version whole, then finishes staging', async () => {
    const page = await openApp(context, s.server.origin);
    await loaded(page);
    const [held] = await newFilePaths(s, '2.0.0', '1.0.0');
    let arrive!: () => void;
    let release!: () => void;
    const arrived = new Promise<void>((r) => (arrive = r));
    const released = new Promise<void>((r) => (release = r));
    s.server.hook = async (_req, _res, path) => {
      if (path === held) {
        arrive();
        await released;
      }
      return false;
    };
    await s.t.store.promote('cart', '2.0.0');
    await page.reload();
    await arrived;
    await stopWorkers(page);
    // The next load wakes a new worker, which resumes staging (still held): old version, whole.
    await page.reload();
    const during = await loaded(page);
    expect(during.rendered.cart).toBe('1.0.0');
    expect(await lazyChunk(page)).toBe('cart@1.0.0 chunk');
    release();
    await waitForState(page, (st) => st.modules.cart?.current === '2.0.0', 'staging to complete after the stop');
    await page.reload();
    expect((await loaded(page)).rendered.cart).toBe('2.0.0');
    expect(await lazyChunk(page)).toBe('cart@2.0.0 chunk');
    // The held download died with the first worker and was asked for once more by the second.
    expect(s.server.count(held!)).toBe(2);
    for (const path of await newFilePaths(s, '2.0.0', '1.0.0')) expect(s.server.count(path)).toBeLessThanOrEqual(2);
  });

  it('a worker stopped as the last file arrives (mid-commit) ends old or new, never mixed, and completes', async () => {
    const page = await openApp(context, s.server.origin);
    await loaded(page);
    const fresh = await newFilePaths(s, '2.0.0', '1.0.0');
    const seen = new Set<string>();
    let stopped: Promise<void> | null = null;
    s.server.hook = (_req, res, path) => {
      if (fresh.includes(path)) seen.add(path);
      if (seen.size === fresh.length && !stopped) {
        stopped = new Promise((resolve) => res.on('finish', () => void stopWorkers(page).then(resolve)));
      }
      return false;
    };
    await s.t.store.promote('cart', '2.0.0');
    await page.reload();
    await waitForCondition(() => stopped !== null);
    await stopped;
    await page.reload();
    const after = await loaded(page);
    // Whichever side of the commit the stop landed, the page runs one version throughout.
    expect(after.rendered.cart).toBe(after.snapshot!.modules.cart);
    expect(await lazyChunk(page)).toBe(`cart@${after.snapshot!.modules.cart} chunk`);
    await waitForState(page, (st) => st.modules.cart?.current === '2.0.0', 'the commit to complete after the stop');
    await page.reload();
    expect((await loaded(page)).rendered.cart).toBe('2.0.0');
    for (const path of fresh) expect(s.server.count(path)).toBeLessThanOrEqual(2);
  });
});

describe('tranche/sw QA overrides in Chromium', () => {
  it('?tranche=cart@2.0.0 forces a 0% version on that very load; refused items are listed; clear releases it', async () => {
    await s.t.store.rollout('cart', '2.0.0', 0);
    const page = await openApp(context, s.server.origin);
    expect((await loaded(page)).rendered.cart).toBe('1.0.0');
    await page.goto(`${s.server.origin}/?tranche=cart@2.0.0`);
    expect((await loaded(page)).rendered.cart).toBe('2.0.0');
    expect((await workerState(page)).modules.cart!.override).toMatchObject({ version: '2.0.0' });
    await page.goto(`${s.server.origin}/`); // the override lasts beyond the load that set it
    expect((await loaded(page)).rendered.cart).toBe('2.0.0');
    await page.goto(`${s.server.origin}/?tranche=cart@9.9.9,nope`);
    const refused = await loaded(page);
    expect(refused.snapshot!.overrideErrors).toEqual([
      expect.stringMatching(/override cart@9\.9\.9: cart@9\.9\.9 is not a released version/),
      expect.stringMatching(/^nope: expected <module>@<version>/),
    ]);
    await page.goto(`${s.server.origin}/?tranche=clear`);
    expect((await loaded(page)).rendered.cart).toBe('1.0.0');
  });
});

async function waitForCondition(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setTimeout(r, 20));
}

/**
 * Driving the test app in Chromium: open it (first visit installs the worker, which stages;
 * the second load is served by the worker with a snapshot), ask the worker things through the
 * page's client (`window.tranche`), and stop the worker through CDP.
 */
import type { BrowserContext, Page } from 'playwright-core';
import type { Tranche } from '../../src/client/index.js';
import type { CheckResult, Snapshot, WorkerEvent, WorkerState } from '../../src/core/protocol.js';

/** What a loaded page runs: its snapshot and the versions its module code wrote into the DOM. */
export interface Loaded {
  snapshot: Snapshot | null;
  rendered: Record<string, string>;
  text: string;
}

/** Waits until the app page booted and reads what it runs. */
export async function loaded(page: Page): Promise<Loaded> {
  await page.waitForFunction(() => document.body?.dataset.booted === 'yes');
  return page.evaluate(() => {
    const out = document.getElementById('out')!;
    return {
      snapshot: (window as unknown as { snapshot: Snapshot | null }).snapshot,
      rendered: { ...out.dataset } as Record<string, string>,
      text: out.textContent ?? '',
    };
  });
}

/** A first visit (installs the worker and waits until it is active) then a load through it. */
export async function openApp(context: BrowserContext, origin: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${origin}/`);
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
  await page.goto(`${origin}/`);
  return page;
}

/** The page client of a test app page (test/support/swServer.ts `APP_HTML`). */
interface AppWindow {
  tranche: Tranche;
}

/** Waits until the page's module script created its client. */
async function clientReady(page: Page): Promise<void> {
  await page.waitForFunction(() => (window as unknown as Partial<AppWindow>).tranche !== undefined);
}

/** Asks the worker to check the manifest now, through the page's client (`checkForUpdate()`). */
export async function checkForUpdate(page: Page): Promise<CheckResult> {
  await clientReady(page);
  return page.evaluate(() => (window as unknown as AppWindow).tranche.checkForUpdate());
}

/** Sets the app identity through the page's client (`identify()`). */
export async function identify(page: Page, userId: string | null): Promise<void> {
  await clientReady(page);
  await page.evaluate((id) => (window as unknown as AppWindow).tranche.identify(id), userId);
}

/** The worker's state as this page sees it, through the page's client (`state()`). */
export async function workerState(page: Page): Promise<WorkerState> {
  await clientReady(page);
  return page.evaluate(async () => (await (window as unknown as AppWindow).tranche.state()).worker);
}

/** Polls the worker until `done(state)` holds. */
export async function waitForState(page: Page, done: (state: WorkerState) => boolean, what: string, ms = 30_000): Promise<WorkerState> {
  const deadline = Date.now() + ms;
  for (;;) {
    const state = await workerState(page);
    if (done(state)) return state;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; worker state: ${JSON.stringify(state)}`);
    await page.waitForTimeout(100);
  }
}

/** Starts recording the worker events this page receives (read them with `events`). */
export async function recordEvents(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { workerEvents: unknown[] };
    w.workerEvents = [];
    navigator.serviceWorker.addEventListener('message', (event) => w.workerEvents.push(event.data));
  });
}

/** The worker events recorded on `page`. */
export function events(page: Page): Promise<WorkerEvent[]> {
  return page.evaluate(() => (window as unknown as { workerEvents: WorkerEvent[] }).workerEvents);
}

/** Stops every service worker of the browser, as the browser does to an idle or busy worker. */
export async function stopWorkers(page: Page): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.stopAllWorkers');
  await cdp.detach();
}

/**
 * Imports module `name` in the page (through its import map) and returns what its lazy chunk
 * exports. Passed as source text: vitest rewrites `import()` inside test functions.
 */
export function lazyChunk(page: Page, name = 'cart'): Promise<string> {
  return page.evaluate(`import(${JSON.stringify(name)}).then((m) => m.lazy())`) as Promise<string>;
}

/**
 * Moves the test worker's clock `ms` forward (test/browser/fixtures/sw-entry.ts), as a device
 * clock does after days offline; a worker the browser restarts has the right time again.
 */
export async function shiftWorkerClock(page: Page, ms: number): Promise<void> {
  await page.evaluate(
    (shift) =>
      new Promise<void>((resolve, reject) => {
        const channel = new MessageChannel();
        channel.port1.onmessage = () => resolve();
        const worker = navigator.serviceWorker.controller;
        if (!worker) return reject(new Error('page has no controlling worker'));
        worker.postMessage({ type: 'TEST_SHIFT_CLOCK', ms: shift }, [channel.port2]);
      }),
    ms,
  );
}

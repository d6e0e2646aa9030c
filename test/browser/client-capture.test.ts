/**
 * The page client in real Chromium: what it captures (module code that throws while booting or
 * on a click, a failed dynamic import, a module script that is missing, the app shell, a
 * third-party script, an error storm), how it attributes and batches it, and how a page
 * recovers from a `ROLLED_BACK` broadcast (one reload per failed version per tab).
 *
 * The controlling worker here is a recorder standing in for the worker side of READY,
 * REPORT_ERRORS and ROLLED_BACK: it keeps exactly what pages send, so the batches themselves
 * can be checked, and broadcasts what the test asks it to, so the loop guard can be driven
 * past anything a real worker sends. The real worker's fallback is tested end to end in
 * test/browser/fallback.test.ts.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorEntry } from '../../src/core/clientMessages.js';
import { launchChromium } from '../support/chromium.js';
import { RECORDER_SW, appPage, clientBundle, type PageFile } from '../support/clientPages.js';
import type { Tranche as TrancheClass } from '../../src/client/Tranche.js';

/** What the test pages (test/support/clientPages.ts) put on `window`. */
interface TestWindow {
  tranche: TrancheClass;
  cart: { loadMissingChunk(): void; storm(errors: number, ms: number): void; clicks: number };
  shell: { fail(): void };
}

let server: Server;
let browser: Browser;
let origin: string;
const files = new Map<string, PageFile>();

beforeAll(async () => {
  files.set('/tranche.js', { type: 'text/javascript', body: await clientBundle() });
  files.set('/sw.js', { type: 'text/javascript', body: RECORDER_SW });
  server = createServer((req, res) => {
    const file = files.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (!file) return void res.writeHead(404).end('not found');
    res
      .writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' })
      .end(typeof file.body === 'string' ? file.body : file.body());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  // Same server, other origin: a third-party script laid out like a module file.
  for (const [path, file] of appPage(`http://localhost:${port}`)) files.set(path, file);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
});

/**
 * A page of the app, controlled by the recorder from its first script on: a load that began
 * uncontrolled may be claimed halfway through its boot, so the page is loaded again.
 */
async function controlledPage(context: BrowserContext, query = ''): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${origin}/app.html${query}`);
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  await page.reload();
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null && 'tranche' in window);
  return page;
}

/** Asks the recorder (through the page) to run `type` with `fields`. */
function recorder<T>(page: Page, type: string, fields: object = {}): Promise<T> {
  return page.evaluate(
    ([type, fields]) =>
      new Promise<T>((resolve) => {
        const channel = new MessageChannel();
        channel.port1.onmessage = (event) => resolve(event.data.result);
        navigator.serviceWorker.controller!.postMessage({ type, ...fields }, [channel.port2]);
      }),
    [type, fields] as const,
  );
}

/**
 * Has the recorder post `message` to every window of the app, without waiting for its reply: the
 * broadcast may reload this very page, which would destroy the evaluate still waiting for the
 * reply (`Execution context was destroyed`). Posting returns at once, before the worker's
 * broadcast can reach the page; the caller polls for what the broadcast does. Broadcasts that
 * leave the page in place go through `recorder`, whose reply keeps them in order.
 */
function broadcast(page: Page, message: object): Promise<void> {
  return page.evaluate((message) => {
    navigator.serviceWorker.controller!.postMessage({ type: 'TEST_BROADCAST', message }, [new MessageChannel().port2]);
  }, message);
}

interface Received {
  type: string;
  nonce: string | null;
  entries?: ErrorEntry[];
  dropped?: number;
}

/** What the recorder received from this page load (other loads of the page send too, e.g. on leaving). */
async function received(page: Page): Promise<Received[]> {
  const nonce = await page.evaluate(() => JSON.parse(document.getElementById('tranche-snapshot')!.textContent!).id);
  return (await recorder<Received[]>(page, 'TEST_RECEIVED')).filter((m) => m.nonce === nonce);
}

/** Errors this page load reported so far, summed per `module@version kind` (`- kind` when unattributed). */
async function totals(page: Page): Promise<Record<string, number>> {
  const sums: Record<string, number> = {};
  for (const msg of await received(page)) {
    for (const e of msg.entries ?? []) {
      const key = `${e.module === null ? '-' : `${e.module}@${e.version}`} ${e.kind}`;
      sums[key] = (sums[key] ?? 0) + e.count;
    }
  }
  return sums;
}

describe('capture and attribution', () => {
  it('attributes boot errors, clicks, failed imports and explicit reports; blames nothing for the shell or a third party', async () => {
    const context = await browser.newContext();
    const page = await controlledPage(context);
    // Before ready(): header@1.0.0 throws on import and one of its scripts is missing; the shell
    // and a cross-origin script throw too.
    await expect.poll(() => totals(page)).toEqual({ 'header@1.0.0 boot': 1, 'header@1.0.0 chunk-load': 1, '- boot': 2 });

    await page.evaluate(() => (window as unknown as TestWindow).tranche.ready());
    for (let i = 0; i < 3; i++) await page.click('#buy');
    await page.evaluate(() => (window as unknown as TestWindow).cart.loadMissingChunk());
    await page.evaluate(() => (window as unknown as TestWindow).tranche.reportError(new Error('caught by the app'), { module: 'cart' }));
    await page.evaluate(() => (window as unknown as TestWindow).shell.fail());
    await expect
      .poll(() => totals(page))
      .toEqual({
        'header@1.0.0 boot': 1,
        'header@1.0.0 chunk-load': 1,
        '- boot': 2,
        'cart@2.1.0 runtime': 4,
        'cart@2.1.0 chunk-load': 1,
        '- runtime': 1,
      });

    const click = (await received(page)).flatMap((m) => m.entries ?? []).find((e) => e.module === 'cart' && e.kind === 'runtime')!;
    expect(click.samples[0]!.message).toMatch(/^TypeError: /);
    expect(click.samples[0]!.stack).toContain(`${origin}/modules/cart/2.1.0/index.js`);
    await context.close();
  });

  it('sends boot errors before the readiness that follows them at once, both naming the page load', async () => {
    const context = await browser.newContext();
    const page = await controlledPage(context, '?ready=boot');
    await expect.poll(async () => (await received(page)).map((m) => m.type)).toEqual(['REPORT_ERRORS', 'READY']);
    expect(await totals(page)).toEqual({ 'header@1.0.0 boot': 1, 'header@1.0.0 chunk-load': 1, '- boot': 2 });
    await context.close();
  });

  it('survives a storm of 10,000 errors in one second: a few batches carry every count', async () => {
    const context = await browser.newContext();
    const page = await controlledPage(context);
    await page.evaluate(() => (window as unknown as TestWindow).tranche.ready());
    await expect.poll(() => totals(page)).toMatchObject({ '- boot': 2 });
    await recorder(page, 'TEST_RESET');
    await page.evaluate(() => (window as unknown as TestWindow).cart.storm(10_000, 1000));
    const storm = async () => {
      return (await received(page)).reduce((n, m) => n + (m.dropped ?? 0) + (m.entries ?? []).reduce((s, e) => s + e.count, 0), 0);
    };
    await expect.poll(storm, { timeout: 20_000 }).toBe(10_000);
    const batches = await received(page);
    // Batched: a handful of messages per second, not one per error; every one small.
    expect(batches.length).toBeLessThan(100);
    for (const m of batches) for (const e of m.entries ?? []) expect(e.samples.length).toBeLessThanOrEqual(3);
    expect((await totals(page))['cart@2.1.0 runtime']).toBeGreaterThanOrEqual(3);
    // The page still answers.
    await page.click('#buy');
    await expect.poll(() => page.evaluate(() => (window as unknown as TestWindow).cart.clicks)).toBe(1);
    await context.close();
  });

  it('rejects a request the worker never answers with a timeout error naming the call', async () => {
    const context = await browser.newContext();
    const page = await controlledPage(context);
    const error = await page.evaluate(async () => {
      const Tranche = (window as unknown as TestWindow).tranche.constructor as typeof TrancheClass;
      try {
        await new Tranche('/sw.js', { timeoutMs: 300, captureErrors: false }).state();
        return null;
      } catch (err) {
        return { name: (err as Error).name, message: (err as Error).message };
      }
    });
    expect(error).toEqual({ name: 'timeout', message: 'state(): the service worker did not answer within 300 ms' });
    await context.close();
  });
});

describe('recovery from ROLLED_BACK', () => {
  const rolledBack = (module: string, version: string, to: string | null = '1.0.0') => ({
    type: 'ROLLED_BACK',
    module,
    version,
    reason: 'runtime-errors',
    to,
  });
  const loads = (page: Page) => page.evaluate(() => Number(sessionStorage.getItem('loads')));
  const events = (page: Page) => page.evaluate(() => JSON.parse(sessionStorage.getItem('events') ?? '[]'));

  it('reloads each tab on the failed version once, never twice for the same version', async () => {
    const context = await browser.newContext();
    const [a, b] = [await controlledPage(context), await controlledPage(context)];
    const [loadsA, loadsB] = [await loads(a), await loads(b)];
    await broadcast(a, rolledBack('cart', '2.1.0'));
    await expect.poll(() => loads(a)).toBe(loadsA + 1);
    await expect.poll(() => loads(b)).toBe(loadsB + 1);
    expect(await events(a)).toEqual([
      {
        type: 'rolled-back',
        module: 'cart',
        version: '2.1.0',
        reason: 'runtime-errors',
        to: '1.0.0',
        affectsThisPage: true,
        willReload: true,
      },
    ]);

    // The page still runs cart@2.1.0 (its fallback failed too): told again, it stays put.
    await a.waitForFunction(() => 'tranche' in window);
    await recorder(a, 'TEST_BROADCAST', { message: rolledBack('cart', '2.1.0') });
    await expect.poll(async () => (await events(a)).length).toBe(2);
    expect((await events(a))[1]).toMatchObject({ affectsThisPage: true, willReload: false });
    expect(await loads(a)).toBe(loadsA + 1);
    await context.close();
  });

  it('does not reload for a version the page does not run, with nothing to fall back to, or when the app prompts', async () => {
    const context = await browser.newContext();
    const page = await controlledPage(context);
    const prompting = await controlledPage(context, '?reload=no');
    const [before, beforePrompting] = [await loads(page), await loads(prompting)];
    await recorder(page, 'TEST_BROADCAST', { message: rolledBack('cart', '9.9.9') });
    await recorder(page, 'TEST_BROADCAST', { message: rolledBack('header', '1.0.0', null) });
    const flags = (p: Page) =>
      events(p).then((list: { affectsThisPage: boolean; willReload: boolean }[]) => list.map((e) => [e.affectsThisPage, e.willReload]));
    await expect
      .poll(() => flags(page))
      .toEqual([
        [false, false],
        [true, false],
      ]);
    await broadcast(page, rolledBack('cart', '2.1.0'));
    await expect
      .poll(() => flags(prompting))
      .toEqual([
        [false, false],
        [true, false],
        [true, false],
      ]);
    expect(await loads(prompting)).toBe(beforePrompting);
    // The tab that reloads by default did, once, for the one event that called for it.
    await expect.poll(() => loads(page)).toBe(before + 1);
    await context.close();
  });
});

/**
 * Two apps on one origin, each with its own worker (scopes /a/ and /b/), store and versions of
 * a module both call `cart`, in real Chromium: neither serves, cleans up or wipes the other's
 * state (per-app namespaces, docs/service-worker.md "Several apps on one origin").
 */
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { WorkerState } from '../../src/core/protocol.js';
import { storeHandler, type StoreHandler } from '../../src/release/index.js';
import { browserFixture } from '../support/browserFixture.js';
import { SW_BUNDLE } from '../support/buildSwBundle.js';
import type { SwTestConfig } from '../support/swServer.js';
import { createTestStore, type TestStore } from '../support/trancheStore.js';

/** cart@<version> of app `app`: it writes which app and version it is into the page. */
function cartFiles(app: string, version: string): Record<string, string> {
  return { 'index.js': `export function render(el) { el.dataset.cart = ${JSON.stringify(`${app} ${version}`)}; }\n` };
}

function appHtml(base: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"></head><body><div id="out"></div>
<script type="module">
  const element = document.getElementById('tranche-snapshot');
  const snapshot = element ? JSON.parse(element.textContent) : null;
  const out = document.getElementById('out');
  for (const name of Object.keys(snapshot?.modules ?? {})) (await import(name)).render(out);
  document.body.dataset.booted = 'yes';
  if (snapshot) navigator.serviceWorker.controller?.postMessage({ type: 'READY', nonce: snapshot.id }, [new MessageChannel().port2]);
</script>
<script>navigator.serviceWorker.register(${JSON.stringify(`${base}sw.js`)});</script>
</body></html>`;
}

interface World {
  origin: string;
  a: TestStore;
  b: TestStore;
  close(): Promise<void>;
}

async function twoApps(): Promise<World> {
  const [a, b] = [await createTestStore(), await createTestStore()];
  // The same module name and version in both apps, with different bytes.
  await a.release('cart', '1.0.0', cartFiles('A', '1.0.0'));
  await a.release('cart', '2.0.0', cartFiles('A', '2.0.0'));
  await b.release('cart', '1.0.0', cartFiles('B', '1.0.0'));
  await a.store.promote('cart', '1.0.0');
  await b.store.promote('cart', '1.0.0');
  // App A publishes more often: its sequence runs ahead of B's.
  await a.store.pause('cart');
  await a.store.resume('cart');
  const bundle = await readFile(SW_BUNDLE, 'utf8');
  const apps = new Map<string, { config: SwTestConfig; store: StoreHandler }>(
    (
      [
        ['/a/', a],
        ['/b/', b],
      ] as const
    ).map(([base, t]) => {
      const config: SwTestConfig = { publicKeys: [t.publicKey], retryDelayMs: 1000, navigationCheckThrottleMs: 0, base };
      return [base, { config, store: storeHandler(t.dir, { mount: `${base}store/`, modulePrefix: `${base}modules/` }) }];
    }),
  );
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const base = path.slice(0, 3);
    const app = apps.get(base);
    if (!app) return void res.writeHead(404).end();
    if (path === `${base}sw.js`) {
      res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-cache' });
      return void res.end(`self.TRANCHE_TEST = ${JSON.stringify(app.config)};\n${bundle}`);
    }
    // Module files are not on this network: only each app's worker answers them.
    if (path.startsWith(`${base}modules/`)) return void res.writeHead(404).end();
    void app.store.handle(req, res).then((ours) => {
      if (!ours) res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' }).end(appHtml(base));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    a,
    b,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await Promise.all([a.remove(), b.remove()]);
    },
  };
}

const fixture = browserFixture(twoApps);

/** First visit to the app at `base` (installs its worker), then a load through the worker. */
async function open(base: string): Promise<Page> {
  const page = await fixture.context().newPage();
  await page.goto(fixture.world().origin + base);
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
  await page.goto(fixture.world().origin + base);
  return page;
}

/** What the page's cart wrote, once the page booted. */
async function cart(page: Page): Promise<string | undefined> {
  await page.waitForFunction(() => document.body?.dataset.booted === 'yes');
  return page.evaluate(() => document.getElementById('out')!.dataset.cart);
}

function state(page: Page): Promise<WorkerState> {
  return page.evaluate(
    () =>
      new Promise<WorkerState>((resolve) => {
        const channel = new MessageChannel();
        channel.port1.onmessage = (event) => resolve((event.data as { result: WorkerState }).result);
        navigator.serviceWorker.controller!.postMessage({ type: 'GET_STATE' }, [channel.port2]);
      }),
  );
}

async function storage(page: Page): Promise<{ databases: string[]; caches: string[] }> {
  return page.evaluate(async () => ({
    databases: (await indexedDB.databases()).map((d) => d.name!).sort(),
    caches: (await caches.keys()).sort(),
  }));
}

describe('two apps on one origin', () => {
  it('each runs its own module bytes and manifest, and a kill switch in one leaves the other whole', async () => {
    const pageA = await open('/a/');
    const pageB = await open('/b/');
    expect(await cart(pageA)).toBe('A 1.0.0');
    expect(await cart(pageB)).toBe('B 1.0.0');
    // B accepts its own manifest, although A's sequence is ahead.
    expect(await state(pageB)).toMatchObject({ condition: 'NORMAL', sequence: 1 });
    expect(await state(pageA)).toMatchObject({ condition: 'NORMAL', sequence: 3 });

    // A moves on to 2.0.0; B's pages and worker are untouched by A's staging and clean-up.
    await fixture.world().a.store.promote('cart', '2.0.0');
    await pageA.reload(); // a navigation checks the manifest, and the worker stages 2.0.0
    await expect.poll(async () => (await state(pageA)).modules.cart?.current, { timeout: 15_000 }).toBe('2.0.0');
    await pageA.reload();
    expect(await cart(pageA)).toBe('A 2.0.0');
    await pageB.reload();
    expect(await cart(pageB)).toBe('B 1.0.0');
    expect(await storage(pageB)).toEqual({
      databases: ['tranche:/a/', 'tranche:/b/'],
      caches: [
        'tranche-copies-v1:/a/',
        'tranche-copies-v1:/b/',
        'tranche-files-v1:/a/',
        'tranche-files-v1:/b/',
        'tranche-shell-v1:/a/',
        'tranche-shell-v1:/b/',
      ],
    });

    // A's kill switch: A's worker wipes its own state and unregisters; B keeps serving.
    await fixture.world().a.store.setKillSwitch(true);
    await pageA.reload();
    await pageA.waitForFunction(async () => (await navigator.serviceWorker.getRegistrations()).length === 1, undefined, {
      timeout: 15_000,
    });
    expect(await storage(pageB)).toEqual({
      databases: ['tranche:/b/'],
      caches: ['tranche-copies-v1:/b/', 'tranche-files-v1:/b/', 'tranche-shell-v1:/b/'],
    });
    await pageB.reload();
    expect(await cart(pageB)).toBe('B 1.0.0');
    expect(await state(pageB)).toMatchObject({ condition: 'NORMAL', sequence: 1 });
  });
});

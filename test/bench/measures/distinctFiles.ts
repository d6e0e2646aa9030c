/**
 * 8. Many distinct module files, cold and warm, and the browser's native floor: a page fetches
 * 200 distinct files of one module version (2–8 KB each, all at once, bodies read), through
 * tranche, a bare `caches.match` worker and Workbox's precache route, each on its own origin:
 * - cold: the origin's worker stopped just before (browsers stop a worker idle for about 30 s,
 *   so this is what a page load after a pause meets);
 * - warm: right after, the worker still running;
 * - native: the same bytes from a plain server on its own origin sending
 *   `Cache-Control: public, max-age=31536000, immutable`, no worker, every file already in the
 *   HTTP cache (fetched once before the rounds; the server checks none is fetched again).
 * Every variant runs in interleaved rounds; ratios are medians of round-by-round ratios.
 *
 * How it is taken: not through Playwright. Playwright enables the CDP `Network` domain on every
 * page, and that instrumentation slows the HTTP-cache path more than the worker paths (tranche
 * read 0.93–0.95× native with it, 1.07–1.10× without, issue 12). This measure launches its own
 * headless Chromium (same binary and flags) over `--remote-debugging-pipe` and drives its pages
 * with `Page.navigate` and `Runtime.evaluate` only, no domain enabled (test/bench/rawCdp.ts);
 * workers are stopped with `ServiceWorker.stopAllWorkers` on a second session detached at once.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BenchEnv, Measure } from '../env.js';
import type { Figure } from '../figures.js';
import { chunkSource } from './moduleFetch.js';
import { INSTALL_TIMEOUT_MS, serveOrigin, within, type Served, type WorkerKind } from '../origins.js';
import { launchRawChromium, type RawBrowser, type RawPage } from '../rawCdp.js';
import { interleave, median, pairedRatio } from '../stats.js';
import { versionFiles } from '../storeFiles.js';
import { createTestStore, moduleFiles } from '../../support/trancheStore.js';

const FILES = 200;
const GOALS = { cold: 1.05, warm: 1.0, nativeWarm: 1.05, nativeCold: 1.3 };
const WORKERS: readonly WorkerKind[] = ['tranche', 'bare', 'workbox'];
const LABEL: Record<WorkerKind, string> = { tranche: 'tranche', bare: 'bare', workbox: 'Workbox' };

/** File `i` of the 200, from 2 KB to 8 KB. */
function assetSource(i: number): string {
  return chunkSource(`cart@1.0.0 asset ${i}`, 2048 + Math.round((6144 * i) / (FILES - 1)));
}

/** A page controlled by an origin's worker, in a context of its own. */
interface Tab {
  page: RawPage;
  close(): Promise<void>;
}

/** A first visit (installs the worker) then a load through it, as test/support/swPage.ts `openApp`, over raw CDP. */
async function openWorkerTab(browser: RawBrowser, kind: WorkerKind, origin: string): Promise<Tab> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await within(INSTALL_TIMEOUT_MS, `the ${kind} worker to install and control its page`, async () => {
      await page.goto(`${origin}/`);
      await page.evaluate(() => navigator.serviceWorker.ready.then(() => true), null);
      await page.goto(`${origin}/`);
      const controlled = await page.evaluate(
        () =>
          navigator.serviceWorker.controller !== null ||
          new Promise<boolean>((resolve) => navigator.serviceWorker.addEventListener('controllerchange', () => resolve(true))),
        null,
      );
      if (!controlled) throw new Error(`${kind}: page not controlled`);
    });
    return { page, close: () => context.close() };
  } catch (err) {
    await context.close();
    throw err;
  }
}

/** A plain HTTP server for `files` (path → bytes), every one immutable, and an empty page at `/`. */
async function nativeServer(files: ReadonlyMap<string, Served>) {
  const requests = new Map<string, number>();
  const http = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    requests.set(path, (requests.get(path) ?? 0) + 1);
    const served = files.get(path);
    if (!served) return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>native</title>');
    res.writeHead(200, { 'content-type': served.type, 'cache-control': 'public, max-age=31536000, immutable' }).end(served.body);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    /** Requests for `path` that reached the server. */
    count: (path: string) => requests.get(path) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}

/** Milliseconds for fetching every path at once and reading the bodies; each body must have its expected size. */
function fetchAll(page: RawPage, files: readonly (readonly [string, number])[]): Promise<number> {
  return page.evaluate(async (files) => {
    const start = performance.now();
    const sizes = await Promise.all(
      files.map(([path]) =>
        fetch(path).then((r) => {
          if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
          return r.arrayBuffer().then((b) => b.byteLength);
        }),
      ),
    );
    const ms = performance.now() - start;
    const wrong = files.findIndex(([, size], i) => sizes[i] !== size);
    if (wrong >= 0) throw new Error(`${files[wrong]![0]}: ${sizes[wrong]} bytes, expected ${files[wrong]![1]}`);
    return ms;
  }, files);
}

async function run(env: BenchEnv): Promise<Figure[]> {
  const store = await createTestStore();
  const assets = Object.fromEntries(Array.from({ length: FILES }, (_, i) => [`assets/f${String(i).padStart(3, '0')}.js`, assetSource(i)]));
  await store.release('cart', '1.0.0', { ...moduleFiles('cart', '1.0.0'), ...assets });
  await store.store.promote('cart', '1.0.0');
  const served = new Map(await versionFiles(store, 'cart', '1.0.0'));
  const files = Object.keys(assets).map((path) => {
    const url = `/modules/cart/1.0.0/${path}`;
    return [url, Buffer.byteLength(served.get(url)!.body)] as const;
  });
  const browser = await launchRawChromium();
  const closers: (() => Promise<void>)[] = [() => browser.close(), () => store.remove()];
  try {
    const tabs = {} as Record<WorkerKind, Tab>;
    for (const kind of WORKERS) {
      const server = await serveOrigin(kind, { bundles: env.bundles, store, precache: served });
      closers.unshift(() => server.close());
      tabs[kind] = await openWorkerTab(browser, kind, server.origin);
      closers.unshift(() => tabs[kind].close());
    }
    const native = await nativeServer(served);
    closers.unshift(() => native.close());
    const nativeContext = await browser.newContext();
    closers.unshift(() => nativeContext.close());
    const nativePage = await nativeContext.newPage();
    await nativePage.goto(`${native.origin}/`);
    await fetchAll(nativePage, files); // into the HTTP cache
    const rounds = env.rounds(40, 12);
    env.log(`  workers installed; ${rounds} rounds of 7 variants`);

    const cold = (kind: WorkerKind) => async () => {
      await tabs[kind].page.stopWorkers();
      return fetchAll(tabs[kind].page, files);
    };
    const warm = (kind: WorkerKind) => () => fetchAll(tabs[kind].page, files);
    // Each worker's warm round right after its cold one: the worker is running, as on a second load.
    const s = await interleave(
      {
        trancheCold: cold('tranche'),
        trancheWarm: warm('tranche'),
        bareCold: cold('bare'),
        bareWarm: warm('bare'),
        workboxCold: cold('workbox'),
        workboxWarm: warm('workbox'),
        native: () => fetchAll(nativePage, files),
      },
      rounds,
      2,
    );
    const refetched = files.filter(([path]) => native.count(path) !== 1);
    if (refetched.length) throw new Error(`native: ${refetched.length} files were not answered from the HTTP cache (${refetched[0]![0]})`);

    const name = `${FILES} distinct files`;
    const figures: Figure[] = [];
    for (const [state, label, goal] of [
      ['Cold', 'worker just stopped (cold)', GOALS.cold],
      ['Warm', 'worker running (warm)', GOALS.warm],
    ] as const) {
      const [t, b, w] = [s[`tranche${state}`], s[`bare${state}`], s[`workbox${state}`]];
      figures.push(
        { name: `${name}, ${label}: tranche`, value: median(t), unit: 'ms', goal: null, baseline: median(b), baselineName: 'bare' },
        { name: `${name}, ${label}: Workbox`, value: median(w), unit: 'ms', goal: null, baseline: median(b), baselineName: 'bare' },
        {
          name: `${name}, ${label}: tranche ÷ bare`,
          value: pairedRatio(t, b),
          unit: '×',
          goal,
          baseline: pairedRatio(w, b),
          baselineName: 'Workbox ÷ bare',
        },
      );
    }
    figures.push({
      name: `${name}, no worker, immutable HTTP cache (native floor)`,
      value: median(s.native),
      unit: 'ms',
      goal: null,
      baseline: null,
    });
    for (const [state, label, goal] of [
      ['Warm', 'warm', GOALS.nativeWarm],
      ['Cold', 'cold', GOALS.nativeCold],
    ] as const) {
      for (const kind of WORKERS) {
        const ratio = (k: WorkerKind) => pairedRatio(s[`${k}${state}`], s.native);
        figures.push({
          name: `${name}, ${label}: ${LABEL[kind]} ÷ native`,
          value: ratio(kind),
          unit: '×',
          goal: kind === 'tranche' ? goal : null,
          baseline: null,
        });
      }
    }
    return figures;
  } finally {
    for (const close of closers) await close();
  }
}

/** The distinct files measure. */
export const distinctFiles: Measure = { title: 'distinct files (cold, warm, native floor)', run };

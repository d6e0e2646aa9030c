/**
 * The service workers the benchmarks compare, each on its own origin (a test server at its own
 * port, so each has its own registration, caches and IndexedDB) in its own browser context:
 * - tranche: the browser tests' worker (test/bench/workers/tranche-sw.ts) over a real store,
 *   served by the tests' server (test/support/swServer.ts);
 * - bare: `caches.match` and nothing else (the floor);
 * - workbox: workbox-precaching's `precacheAndRoute`.
 * bare and workbox precache the same bytes at the same URLs as tranche serves them, and their
 * servers serve those bytes, which a tranche origin leaves to the worker alone.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import buildSwBundle, { SW_BUNDLE, bundleWorker } from '../support/buildSwBundle.js';
import { openApp } from '../support/swPage.js';
import { startSwServer, type SwTestConfig, type SwTestServer } from '../support/swServer.js';
import type { TestStore } from '../support/trancheStore.js';

/** Which worker an origin runs. */
export type WorkerKind = 'tranche' | 'bare' | 'workbox';

const KINDS: readonly WorkerKind[] = ['tranche', 'bare', 'workbox'];
const bundlePath = (kind: WorkerKind) => fileURLToPath(new URL(`../../.tmp/bench/${kind}/sw.js`, import.meta.url));

/** The built code of each worker. */
export type WorkerBundles = Record<WorkerKind, string>;

/** Bundles the three workers with vite, minified as an app's build does, and returns their code. */
export async function bundleWorkers(): Promise<WorkerBundles> {
  // The tests' server reads the tests' bundle when it starts (the bench serves its own instead);
  // rebuilding it while a test run elsewhere reads it would race, so only when it is missing.
  if (!existsSync(SW_BUNDLE)) await buildSwBundle();
  const code = await Promise.all(
    KINDS.map(async (kind) => {
      await bundleWorker(fileURLToPath(new URL(`./workers/${kind}-sw.ts`, import.meta.url)), bundlePath(kind), { minify: true });
      return [kind, await readFile(bundlePath(kind), 'utf8')] as const;
    }),
  );
  return Object.fromEntries(code) as WorkerBundles;
}

/** A response body a bare or Workbox origin's server serves at a path. */
export interface Served {
  type: string;
  body: Buffer | string;
}

/** One origin with its worker installed and a page it controls. */
export interface Origin {
  kind: WorkerKind;
  server: SwTestServer;
  context: BrowserContext;
  /** A page at `/`, controlled by the origin's worker. */
  page: Page;
  close(): Promise<void>;
}

/** What an origin's server serves. */
export interface ServeOptions {
  bundles: WorkerBundles;
  /** The store every origin's server serves at /store/ (only tranche's worker reads it). */
  store: TestStore;
  /** Paths bare and Workbox precache at install, and the bytes their servers serve there. */
  precache: ReadonlyMap<string, Served>;
}

/** How to open an origin in a Playwright browser. */
export interface OriginOptions extends ServeOptions {
  browser: Browser;
}

/** tranche's worker script as a test server serves it: its config, then the bench bundle. */
export function trancheScript(bundles: WorkerBundles, config: SwTestConfig): string {
  return `self.TRANCHE_TEST = ${JSON.stringify(config)};\n${bundles.tranche}`;
}

/** Install stages every module the store has live: 1,000 of them take a while on a busy machine. */
export const INSTALL_TIMEOUT_MS = 300_000;

/** `work()`, or an error naming `what` once `ms` passed (a worker that never installs would hang the run). */
export async function within<T>(ms: number, what: string, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)),
  );
  try {
    return await Promise.race([work(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts the server of a `kind` origin: its worker at /sw.js and, for bare and Workbox, the bytes they precache. */
export async function serveOrigin(kind: WorkerKind, { bundles, store, precache }: ServeOptions): Promise<SwTestServer> {
  // Navigations check the manifest at most once a minute, the default: a bench measures steady state.
  const server = await startSwServer(store.dir, { publicKeys: [store.publicKey], retryDelayMs: 1000, navigationCheckThrottleMs: 60_000 });
  const script =
    kind === 'tranche'
      ? trancheScript(bundles, server.config)
      : `self.BENCH_PRECACHE = ${JSON.stringify([...precache.keys()])};\n${bundles[kind]}`;
  server.hook = (_req, res, path) => {
    if (path === '/sw.js') {
      res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'no-cache' }).end(script);
      return true;
    }
    const served = kind === 'tranche' ? undefined : precache.get(path);
    if (!served) return false;
    res.writeHead(200, { 'content-type': served.type, 'cache-control': 'no-cache' }).end(served.body);
    return true;
  };
  return server;
}

/** Starts a server for `kind`, installs its worker in a new context and returns a controlled page. */
export async function openOrigin(kind: WorkerKind, options: OriginOptions): Promise<Origin> {
  const server = await serveOrigin(kind, options);
  const context = await options.browser.newContext();
  const close = async () => {
    await context.close();
    await server.close();
  };
  try {
    const page = await within(INSTALL_TIMEOUT_MS, `the ${kind} worker to install and control its page`, async () => {
      const opened = await openApp(context, server.origin);
      await opened.waitForFunction(() => navigator.serviceWorker.controller !== null);
      return opened;
    });
    return { kind, server, context, page, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Opens one origin per kind, side by side. */
export async function openOrigins(kinds: readonly WorkerKind[], options: OriginOptions): Promise<Record<WorkerKind, Origin>> {
  const origins: Partial<Record<WorkerKind, Origin>> = {};
  try {
    for (const kind of kinds) origins[kind] = await openOrigin(kind, options);
  } catch (err) {
    for (const origin of Object.values(origins)) await origin.close();
    throw err;
  }
  return origins as Record<WorkerKind, Origin>;
}

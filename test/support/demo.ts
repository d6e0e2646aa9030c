/**
 * The demo for browser tests: the shared build (demoBuild.ts) served with a fresh store and
 * collector in a temp dir, the real `tranche` bin acting on that store, and the shop driven in
 * Chromium the way a visitor uses it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { runDemo } from '../../demo/main.js';
import type { DashboardState } from '../../demo/dashboard/api.js';
import { emptyFigures } from '../../src/collector/Collector.js';
import type { TrancheState } from '../../src/client/index.js';
import { runCli, runCliAsync, type CliRun } from './cli.js';
import { DEMO_BUILD_DIR, DEMO_KEYS_DIR } from './demoBuild.js';

/** A running demo with its own store and collector. */
export interface TestDemo {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  storeDir: string;
  /** Runs `tranche <args> --store <store> --key <keys>/private.jwk`; fails the test unless it exits 0. */
  tranche(...args: string[]): string;
  /** The same without blocking this process, so the demo can answer the command meanwhile (`--metrics <demo url>`). */
  trancheAsync(...args: string[]): Promise<string>;
  /** GET /api/state */
  state(): Promise<DashboardState>;
  stop(): Promise<void>;
}

/** Starts the demo (built by the global setup) on a free port, with a new store in a temp dir. */
export async function startTestDemo(): Promise<TestDemo> {
  const root = await mkdtemp(path.join(tmpdir(), 'tranche-demo-'));
  const storeDir = path.join(root, 'store');
  const withStore = (args: string[]) => [...args, '--store', storeDir, '--key', path.join(DEMO_KEYS_DIR, 'private.jwk')];
  const { server, stop } = await runDemo(
    { port: 0, store: storeDir, keys: DEMO_KEYS_DIR, data: path.join(root, 'data'), buildDir: DEMO_BUILD_DIR, build: false },
    () => undefined,
  );
  return {
    url: server.url,
    storeDir,
    tranche: (...args) => succeeded(args, runCli(withStore(args))),
    trancheAsync: async (...args) => succeeded(args, await runCliAsync(withStore(args))),
    state: async () => (await (await fetch(`${server.url}api/state`)).json()) as DashboardState,
    async stop() {
      await stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** The output of `tranche <args>`; fails the test unless it exited 0. */
function succeeded(args: string[], run: CliRun): string {
  expect(run.status, `tranche ${args.join(' ')}: ${run.stderr}`).toBe(0);
  return run.stdout;
}

/** Module name -> the version whose code rendered it (its root's data-version), for the modules that rendered. */
export async function renderedVersions(page: Page): Promise<Record<string, string>> {
  return page.$$eval('[data-module]', (els) =>
    Object.fromEntries(els.map((el) => [el.getAttribute('data-module'), el.getAttribute('data-version')])),
  );
}

/** Waits until the shop's shell finished booting (`ok` or `degraded`) and returns how. */
export async function booted(page: Page): Promise<string> {
  await page.waitForSelector('body[data-booted]');
  return (await page.getAttribute('body', 'data-booted'))!;
}

/** The version of `module` a page runs once it has settled (after any automatic reload). */
export async function settled(page: Page, module: string, version: string): Promise<void> {
  await expect
    .poll(
      async () => {
        try {
          return (await booted(page)) === 'ok' ? (await renderedVersions(page))[module] : null;
        } catch {
          return null; // the page was reloading
        }
      },
      { timeout: 30_000 },
    )
    .toBe(version);
}

/** The page client's state, through `window.tranche` as the shop exposes it. */
export function clientState(page: Page): Promise<TrancheState> {
  return page.evaluate(() => window.tranche.state());
}

/**
 * A visitor's first two loads: the first comes from the network (the server's stable import
 * map) and installs the worker; the second is served by the worker, pinned to a snapshot.
 */
export async function openShop(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(url);
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
  await stagedAll(page);
  await page.reload();
  await booted(page);
  return page;
}

/**
 * Waits until the worker stages nothing. A new worker stages its assigned versions while it
 * installs, but a download that fails (a busy machine's server is slow) is retried after
 * activation, and a page load meanwhile runs the last good version, as it should: a test that
 * expects the assigned one waits for the retry. A staging failure is logged, and named if it lasts.
 */
async function stagedAll(page: Page, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let logged = '';
  for (;;) {
    const modules = (await clientState(page)).worker.modules;
    const staging = Object.entries(modules).filter(([, m]) => m.staging);
    if (staging.length === 0) return;
    const failures = JSON.stringify(staging.filter(([, m]) => m.staging!.failure).map(([name, m]) => [name, m.staging]));
    if (failures !== '[]' && failures !== logged) console.warn(`openShop: staging failed, waiting for the retry: ${(logged = failures)}`);
    if (Date.now() > deadline) throw new Error(`openShop: the worker still stages ${JSON.stringify(Object.fromEntries(staging))}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Makes the page's worker fetch the manifest now and waits until it serves `module@version`
 * to new page loads (staged and current), instead of waiting for its next periodic check.
 */
export async function waitForCurrent(page: Page, module: string, version: string): Promise<void> {
  await page.evaluate(() => window.tranche.checkForUpdate());
  await expect.poll(async () => (await clientState(page)).worker.modules[module]?.current, { timeout: 20_000 }).toBe(version);
}

/** Polls the dashboard's state until `check` holds (telemetry arrives in batches, every 2 s). */
export async function waitForDashboard(
  demo: TestDemo,
  what: string,
  check: (state: DashboardState) => boolean,
  timeout = 20_000,
): Promise<DashboardState> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const state = await demo.state();
    if (check(state)) return state;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for the dashboard to show ${what}; stats: ${JSON.stringify(state.stats)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The collector's figures for module@version (zeros when nothing was reported). */
export function statsOf(state: DashboardState, module: string, version: string): DashboardState['stats'][number] {
  return state.stats.find((s) => s.module === module && s.version === version) ?? emptyFigures(module, version);
}

/**
 * React shared through trancheApp({ shared }) in Chromium: a React shell renders a counter
 * module (useState, through a CommonJS package it bundles that requires React) built by
 * trancheModule with the same declaration, from a plain server of the
 * built app and the store (storeHandler). No vendor build, import map or precache plugin is
 * written by hand. The module's hooks work with the shell's React on a first visit (the shell's
 * import map beside the store's importmap.js) and through the worker; 2.0.0 rolls out; a 3.0.0
 * whose render throws inside a TrancheBoundary is rolled back after one page load, which reloads
 * onto 2.0.0. A 4.0.0 built for a React the shell does not have (sharedRanges) is refused by
 * `rollout` (the manifest knows the shell's React through `tranche shared`), and once forced out
 * the worker never assigns it: the page stays on 2.0.0 and the worker says why. `vite dev`
 * renders the module from its source with one React.
 */
import { createReadStream } from 'node:fs';
import { mkdir, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { build, createServer as createViteServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeHandler } from '../../src/release/storeHandler.js';
import { trancheApp, trancheModule } from '../../src/vite/index.js';
import { launchChromium } from '../support/chromium.js';
import { createTestStore, type TestStore } from '../support/trancheStore.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SHARED = ['react', 'react-dom/client', 'react/jsx-runtime'];
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript' };

const MAIN = `import { createElement as h, lazy, Suspense } from 'react';
import { createRoot } from 'react-dom/client';
import { Tranche } from '${REPO}src/client/index.ts';
import { TrancheBoundary, TrancheReady, trancheRootOptions } from '${REPO}src/react/index.ts';

sessionStorage.setItem('loads', String(Number(sessionStorage.getItem('loads')) + 1));
const tranche = new Tranche('/sw.js', { reportIntervalMs: 50 });
window.tranche = tranche;
tranche.addEventListener('rolled-back', ({ version, reason, to }) => {
  const before = JSON.parse(sessionStorage.getItem('rolled-back') ?? '[]');
  sessionStorage.setItem('rolled-back', JSON.stringify([...before, { version, reason, to }]));
});
void tranche.register();
const Counter = lazy(() => import('counter'));
createRoot(document.getElementById('root'), trancheRootOptions(tranche)).render(
  h(TrancheBoundary, { tranche, module: 'counter', fallback: h('p', { id: 'failed' }, 'counter failed') },
    h(Suspense, { fallback: null }, h(Counter), h(TrancheReady, { tranche }))),
);
`;

const COUNTER = `import { createElement as h } from 'react';
import { useCount } from 'use-count';
export default function Counter() {
  const [count, setCount] = useCount();
  if (import.meta.env.TRANCHE_VERSION === '3.0.0') throw new Error('counter 3.0.0 cannot render');
  return h('button', { id: 'counter', onClick: () => setCount(count + 1) }, 'counter ' + import.meta.env.TRANCHE_VERSION + ': ' + count);
}
`;

/** A CommonJS package the module bundles, which requires the shared React (as use-sync-external-store's shim does). */
const USE_COUNT = `'use strict';
var React = require('react');
exports.useCount = function useCount() { return React.useState(0); };
`;

let t: TestStore;
let app: string;
let server: Server;
let browser: Browser;
let origin: string;

async function release(version: string, sharedRanges?: Record<string, string>): Promise<void> {
  const outDir = path.join(app, 'builds', version);
  await build({
    configFile: false,
    logLevel: 'silent',
    root: app,
    build: { outDir },
    plugins: [
      trancheModule({ name: 'counter', version, entry: 'counter/index.js', shared: SHARED, ...(sharedRanges ? { sharedRanges } : {}) }),
    ],
  });
  await t.store.release(outDir, { module: 'counter', version });
}

beforeAll(async () => {
  t = await createTestStore();
  app = path.join(t.root, 'app');
  await mkdir(path.join(app, 'counter'), { recursive: true });
  await symlink(path.join(REPO, 'node_modules'), path.join(app, 'node_modules'), 'dir');
  await writeFile(path.join(app, 'package.json'), '{ "name": "app", "type": "module" }\n');
  await writeFile(
    path.join(app, 'index.html'),
    '<!doctype html><html><head><meta charset="utf-8"></head>' +
      '<body><div id="root"></div><script type="module" src="/main.js"></script></body></html>\n',
  );
  await writeFile(path.join(app, 'main.js'), MAIN);
  await writeFile(path.join(app, 'counter/index.js'), COUNTER);
  await mkdir(path.join(app, 'counter/node_modules/use-count'), { recursive: true });
  await writeFile(path.join(app, 'counter/node_modules/use-count/package.json'), '{ "name": "use-count", "version": "1.0.0" }\n');
  await writeFile(path.join(app, 'counter/node_modules/use-count/index.js'), USE_COUNT);
  await writeFile(
    path.join(app, 'sw.js'),
    `import { installTranche } from '${REPO}sw/index.ts';
installTranche({ manifestUrl: '/tranche/manifest.json', publicKeys: [${JSON.stringify(t.publicKey)}], navigation: { shellUrl: '/' } });
`,
  );
  await build({
    configFile: false,
    logLevel: 'silent',
    root: app,
    plugins: trancheApp({ modules: { counter: 'counter/index.js' }, shared: SHARED, types: false, worker: 'sw.js' }),
  });
  // The shell's React versions into the manifest, from the app build's tranche-shared.json.
  await t.store.setShared(path.join(app, 'dist'));
  await release('1.0.0');
  await t.store.promote('counter', '1.0.0');
  const store = storeHandler(t.dir, { mount: '/tranche/' });
  const dist = path.join(app, 'dist');
  server = createServer(async (req, res) => {
    if (await store.handle(req, res)) return;
    const file = path.join(dist, path.normalize(new URL(req.url ?? '/', 'http://x').pathname.replace(/\/$/, '/index.html')));
    if (!file.startsWith(dist) || !(await stat(file).catch(() => null))?.isFile()) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await t?.remove();
});

const counterText = (page: Page) => page.locator('#counter').textContent({ timeout: 30_000 });

/** Clicks the counter: hooks work only when the module's React is the shell's. */
async function clickCounts(page: Page, version: string): Promise<void> {
  await expect.poll(() => counterText(page), { timeout: 30_000 }).toBe(`counter ${version}: 0`);
  await page.click('#counter');
  await expect.poll(() => counterText(page)).toBe(`counter ${version}: 1`);
}

type CounterState = { current: string | null; unmet: string[] } | undefined;
const counterState = (page: Page): Promise<CounterState> =>
  page.evaluate(
    async () =>
      (
        await (
          window as unknown as { tranche: { state(): Promise<{ worker: { modules: Record<string, CounterState> } }> } }
        ).tranche.state()
      ).worker.modules.counter,
  );
const checkForUpdate = (page: Page) =>
  page.evaluate(() => (window as unknown as { tranche: { checkForUpdate(): Promise<unknown> } }).tranche.checkForUpdate());

/** Publishes `version` at 100% and waits until the worker has it staged for the next page load. */
async function rollOut(page: Page, version: string): Promise<void> {
  await t.store.rollout('counter', version, 100);
  await checkForUpdate(page);
  await expect.poll(async () => (await counterState(page))?.current, { timeout: 30_000 }).toBe(version);
}

const tab = (page: Page) =>
  page.evaluate(() => ({
    loads: Number(sessionStorage.getItem('loads')),
    rolledBack: JSON.parse(sessionStorage.getItem('rolled-back') ?? '[]'),
  }));

describe('React shared by trancheApp({ shared }) in Chromium', () => {
  it('uses the shell React; rolls 2.0.0 out, a throwing 3.0.0 back after one load; never assigns a 4.0.0 for another React', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const sharedRequests: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/shared/')) sharedRequests.push(new URL(r.url()).pathname);
    });
    // A first visit: no worker yet, the shell's import map beside the store's importmap.js.
    await page.goto(`${origin}/`);
    await clickCounts(page, '1.0.0');
    expect(sharedRequests.some((p) => /^\/shared\/react@[\d.]+-[\w-]+\.js$/.test(p))).toBe(true);
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
    // Served by the worker: its import map merged with the shell's.
    await page.reload();
    await clickCounts(page, '1.0.0');
    expect(await page.evaluate(() => document.getElementById('tranche-snapshot') !== null)).toBe(true);

    await release('2.0.0');
    await rollOut(page, '2.0.0');
    await page.reload();
    await clickCounts(page, '2.0.0');

    await release('3.0.0');
    await rollOut(page, '3.0.0');
    const before = (await tab(page)).loads;
    await page.reload();
    // The broken load shows the boundary's fallback, reports, and reloads onto 2.0.0.
    await clickCounts(page, '2.0.0');
    expect(await tab(page)).toEqual({ loads: before + 2, rolledBack: [{ version: '3.0.0', reason: 'fatal-error', to: '2.0.0' }] });

    // 4.0.0 needs a React the shell does not have: refused at rollout, never assigned once forced.
    const react = (await t.store.status()).shared!.react!;
    await release('4.0.0', { react: '^99.0.0' });
    await expect(t.store.rollout('counter', '4.0.0', 100)).rejects.toThrow(
      `tranche rollout: counter@4.0.0 requires shared react@^99.0.0, which the shell does not meet (the shell has react@${react})`,
    );
    await t.store.rollout('counter', '4.0.0', 100, { allowIncompatible: true });
    await checkForUpdate(page);
    await expect
      .poll(() => counterState(page), { timeout: 30_000 })
      .toMatchObject({ current: '2.0.0', unmet: [`counter@4.0.0 requires shared react@^99.0.0 (the shell has react@${react})`] });
    await page.reload();
    await clickCounts(page, '2.0.0');
    await context.close();
  });

  it('vite dev renders the module from its source with one React (hooks work)', async () => {
    const dev = await createViteServer({
      configFile: false,
      logLevel: 'silent',
      root: app,
      server: { host: '127.0.0.1', port: 0, fs: { allow: [app, REPO] } },
      plugins: trancheApp({ modules: { counter: 'counter/index.js' }, shared: SHARED, types: false, worker: 'sw.js' }),
    });
    await dev.listen();
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const fromSource = page.waitForRequest((r) => new URL(r.url()).pathname === '/counter/index.js');
      await page.goto(dev.resolvedUrls!.local[0]!);
      await fromSource;
      // No version in dev: the module runs from source, not from a release.
      await clickCounts(page, 'undefined');
      expect(await page.evaluate(() => navigator.serviceWorker.controller)).toBe(null);
    } finally {
      await context.close();
      await dev.close();
    }
  });
});

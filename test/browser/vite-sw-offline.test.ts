/**
 * The app's worker built by trancheApp() precaches the shell through installTranche's
 * `precache` option, so the app starts with the network gone: tranche answers the HTML from
 * its copy, workbox-precaching the scripts.
 */
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { trancheApp } from '../../src/vite/index.js';
import { launchChromium } from '../support/chromium.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/vite/app/', import.meta.url));
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript' };
let tmp: string;
let server: Server;
let browser: Browser;
let origin: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'tranche-vite-sw-offline-'));
  await build({
    configFile: false,
    logLevel: 'silent',
    root: FIXTURE,
    build: { outDir: tmp },
    plugins: trancheApp({ modules: {}, worker: 'sw.ts', types: false }),
  });
  server = createServer(async (req, res) => {
    const file = new URL(req.url ?? '/', 'http://x').pathname.replace(/\/$/, '/index.html');
    try {
      const body = await readFile(path.join(tmp, path.normalize(file)));
      res
        .writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' })
        .end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
  await rm(tmp, { recursive: true, force: true });
});

it('starts offline from the precached shell once the worker is installed', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${origin}/`);
  await expect.poll(() => page.textContent('#app')).toBe('shell rendered');
  // The worker activates only after its install step has precached every listed file.
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await context.setOffline(true);
  await page.reload();
  await expect.poll(() => page.textContent('#app')).toBe('shell rendered');
  expect(await page.evaluate(() => navigator.serviceWorker.controller?.scriptURL)).toBe(`${origin}/sw.js`);
  await context.close();
});

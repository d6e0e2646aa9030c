/**
 * The demo modules keep their contract (demo/modules/contract.ts) in Chromium: loaded by bare
 * name through an import map from their versioned URLs, each stamps the version that ran, the
 * broken versions break the way the demo needs, and the cart's drawer chunk loads lazily.
 */
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildDemoModules } from '../../demo/buildModules.js';
import { launchChromium } from '../support/chromium.js';

type Versions = { header: string; catalog: string; cart: string };
let tmp: string;
let server: Server;
let browser: Browser;
let origin: string;
const contexts: BrowserContext[] = [];

/** A bare-bones shell that follows the contract: import each module by name, mount it, note failures. */
function shell(versions: Versions): string {
  const imports = Object.fromEntries(Object.entries(versions).map(([m, v]) => [m, `/modules/${m}/${v}/index.js`]));
  return `<!doctype html><meta charset="utf-8">
<script type="importmap">${JSON.stringify({ imports })}</script>
<header id="header"></header><section id="cart"></section><main id="catalog"></main>
<script type="module">
  window.failures = [];
  window.pageErrors = [];
  addEventListener('error', (e) => pageErrors.push({ message: e.message, file: e.filename }));
  await Promise.all(['header', 'catalog', 'cart'].map(async (name) => {
    try {
      const mod = await import(name);
      await mod.mount(document.getElementById(name));
    } catch (err) {
      failures.push({ module: name, message: err.message, stack: err.stack });
    }
  }));
  document.body.dataset.booted = 'true';
</script>`;
}

async function open(versions: Versions): Promise<Page> {
  const context = await browser.newContext();
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(`${origin}/page?${new URLSearchParams(versions)}`);
  await page.waitForSelector('body[data-booted]');
  return page;
}

const stampOf = (page: Page, id: string) =>
  page.$eval(`#${id}`, (el) => ({ module: el.getAttribute('data-module'), version: el.getAttribute('data-version') }));

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'tranche-demo-modules-browser-'));
  await buildDemoModules(tmp);
  server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/page') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(shell(Object.fromEntries(url.searchParams) as Versions));
      return;
    }
    try {
      const body = await readFile(path.join(tmp, path.normalize(url.pathname.replace(/^\/modules\//, ''))));
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
  await rm(tmp, { recursive: true, force: true });
});

describe('demo modules in Chromium', () => {
  it('the first versions render and stamp themselves', async () => {
    const page = await open({ header: '1.0.0', catalog: '1.0.0', cart: '1.0.0' });
    for (const id of ['header', 'catalog', 'cart']) expect(await stampOf(page, id)).toEqual({ module: id, version: '1.0.0' });
    expect(await page.evaluate(() => (window as unknown as { failures: unknown[] }).failures)).toEqual([]);
    expect(await page.$$('#header .tagline')).toHaveLength(0);
    expect(await page.$$('#catalog .rating')).toHaveLength(0);
    expect(await page.textContent('#cart button')).toBe('Cart (0)');
  });

  it('the later versions look different and stamp their own version', async () => {
    const page = await open({ header: '2.0.0', catalog: '1.1.0', cart: '2.0.0' });
    expect(await stampOf(page, 'header')).toEqual({ module: 'header', version: '2.0.0' });
    expect(await stampOf(page, 'catalog')).toEqual({ module: 'catalog', version: '1.1.0' });
    expect(await stampOf(page, 'cart')).toEqual({ module: 'cart', version: '2.0.0' });
    expect(await page.textContent('#header .tagline')).toBe('Free delivery all week');
    expect(await page.$$('#catalog .rating')).toHaveLength(4);
    expect(await page.textContent('#cart button')).toBe('Cart · 0 items · $0.00');
  });

  it('header 3.0.0 throws while being imported, from its versioned URL, and renders nothing', async () => {
    const page = await open({ header: '3.0.0', catalog: '1.0.0', cart: '1.0.0' });
    const failures = await page.evaluate(
      () => (window as unknown as { failures: Array<{ module: string; message: string; stack: string }> }).failures,
    );
    expect(failures).toHaveLength(1);
    expect(failures[0]!.module).toBe('header');
    expect(failures[0]!.message).toContain('header 3.0.0: failed to start');
    expect(failures[0]!.stack).toContain(`${origin}/modules/header/3.0.0/index.js`);
    expect(await stampOf(page, 'header')).toEqual({ module: null, version: null });
    expect(await stampOf(page, 'catalog')).toEqual({ module: 'catalog', version: '1.0.0' });
  });

  it.each(['1.0.0', '2.0.0', '2.1.0'])(
    'cart %s loads its drawer chunk on the first click and lists what the catalog added',
    async (version) => {
      const page = await open({ header: '1.0.0', catalog: '1.0.0', cart: version });
      const drawerRequest = page.waitForRequest((req) =>
        new RegExp(`/modules/cart/${version.replace(/\./g, '\\.')}/assets/drawer-[\\w-]+\\.js$`).test(req.url()),
      );
      await page.click('#cart button');
      await drawerRequest;
      await expect.poll(() => page.textContent('#cart .drawer')).toBe('Your cart is empty.');
      await page.click('#catalog [data-product=mug] button');
      await expect.poll(() => page.textContent('#cart .drawer')).toBe('Canary mug: $12.00Total: $12.00');
      expect(await page.textContent('#cart button')).toMatch(/^Cart (\(1\)|· 1 item · \$12\.00)$/);
    },
  );

  it('cart 2.1.0 throws on every click of its button from the third on, from its versioned URL', async () => {
    const page = await open({ header: '1.0.0', catalog: '1.0.0', cart: '2.1.0' });
    const errors = () => page.evaluate(() => (window as unknown as { pageErrors: Array<{ message: string; file: string }> }).pageErrors);
    await page.click('#cart button');
    await page.click('#cart button');
    expect(await errors()).toEqual([]);
    await page.click('#cart button');
    await page.click('#cart button');
    const file = `${origin}/modules/cart/2.1.0/index.js`;
    await expect.poll(errors).toEqual([
      { message: expect.stringContaining('cart 2.1.0: the cart button failed on click 3'), file },
      { message: expect.stringContaining('cart 2.1.0: the cart button failed on click 4'), file },
    ]);
  });
});

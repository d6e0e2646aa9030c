/**
 * The app's HTML for navigations (sw/Shell.ts through the Router): stale-while-revalidate by
 * default, a fresh copy for each new worker at install, and network-first on request.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveOptions, type NavigationOptions } from '../../sw/options.js';
import { Router } from '../../sw/Router.js';
import type { Driver } from '../../sw/Driver.js';
import { FakePlatform, MANIFEST_URL, ORIGIN } from '../support/fakePlatform.js';
import { eventsOf, startDriver } from '../support/swHarness.js';
import { createTestStore, type TestStore } from '../support/trancheStore.js';

let t: TestStore;
let platform: FakePlatform;
/** The app's HTML as the server has it now; null: the server is down. */
let html: string | null;

beforeEach(async () => {
  t = await createTestStore();
  await t.release('cart', '1.0.0');
  await t.store.promote('cart', '1.0.0');
  platform = new FakePlatform(t.dir);
  html = '<!doctype html><html><head><title>build 1</title></head><body></body></html>';
  platform.hook = (url) => {
    if (url.pathname !== '/') return undefined;
    if (html === null) throw new TypeError('Failed to fetch');
    return new Response(html, { headers: { 'content-type': 'text/html; charset=utf-8' } });
  };
});
afterEach(() => t.remove());

function router(driver: Driver, navigation: NavigationOptions = {}): Router {
  return new Router(
    resolveOptions({ manifestUrl: MANIFEST_URL, publicKeys: [t.publicKey], navigation: { shellUrl: '/', ...navigation } }, `${ORIGIN}/`),
    platform,
    driver,
  );
}

let pages = 0;
/** A navigation to `/` (Node's Request cannot be built with mode 'navigate'). Returns the page's title. */
async function navigate(r: Router): Promise<string> {
  const request = Object.defineProperty(new Request(`${ORIGIN}/`), 'mode', { value: 'navigate' });
  const page = await r.handle(request, '', `page-${++pages}`)!;
  const text = await page.text();
  expect(text).toContain('id="tranche-snapshot"');
  return /<title>(.*)<\/title>/.exec(text)![1]!;
}

/** Lets the refresh that follows an answer run. */
async function settle(driver: Driver): Promise<void> {
  await driver.idle();
}

describe('navigations (stale-while-revalidate)', () => {
  it('answers from the last good copy at once and refreshes it for the next navigation', async () => {
    const driver = await startDriver(platform, t.publicKey);
    const r = router(driver);
    expect(await navigate(r)).toBe('build 1'); // no copy yet: the network
    html = html!.replace('build 1', 'build 2');
    const fetched = platform.fetchCount(`${ORIGIN}/`);
    expect(await navigate(r)).toBe('build 1');
    await settle(driver);
    expect(platform.fetchCount(`${ORIGIN}/`)).toBe(fetched + 1);
    expect(await navigate(r)).toBe('build 2');
    html = null; // offline: the copy still serves
    expect(await navigate(r)).toBe('build 2');
    await settle(driver);
    driver.close();
  });

  it('a new worker refreshes the copy while it installs, so it starts on the HTML of its build, and says whether it changed', async () => {
    const first = await startDriver(platform, t.publicKey);
    expect(await navigate(router(first))).toBe('build 1');
    await settle(first);
    first.close();
    html = html!.replace('build 1', 'build 2');
    const second = await startDriver(platform, t.publicKey);
    const r = router(second);
    expect(await r.prepare()).toBe(true);
    await second.idle();
    expect(await navigate(r)).toBe('build 2');
    expect(await r.prepare()).toBe(false); // the same build again
    second.close();
  });

  it('pages are told SHELL_UPDATED when a refresh finds new HTML, once per change; a new CSP nonce is no change', async () => {
    const open = platform.addClient('open-tab');
    const driver = await startDriver(platform, t.publicKey);
    const r = router(driver);
    html = html!.replace('<head>', '<head><script nonce="a"></script>');
    expect(await navigate(r)).toBe('build 1'); // no copy yet: nothing to compare
    await settle(driver);
    html = html!.replace('nonce="a"', 'nonce="b"');
    await navigate(r);
    await settle(driver);
    expect(eventsOf(open, 'SHELL_UPDATED')).toEqual([]);
    html = html!.replace('build 1', 'build 2');
    expect(await navigate(r)).toBe('build 1'); // served the old copy: this page is told too
    await settle(driver);
    expect(eventsOf(open, 'SHELL_UPDATED')).toEqual([{ type: 'SHELL_UPDATED' }]);
    expect(await navigate(r)).toBe('build 2');
    await settle(driver);
    expect(eventsOf(open, 'SHELL_UPDATED')).toHaveLength(1);
    driver.close();
  });

  it("with strategy 'network-first' every navigation asks the network, the copy serving only when it fails", async () => {
    const open = platform.addClient('open-tab');
    const driver = await startDriver(platform, t.publicKey);
    const r = router(driver, { strategy: 'network-first' });
    expect(await navigate(r)).toBe('build 1');
    const navigating = platform.addClient(`page-${pages + 1}`);
    html = html!.replace('build 1', 'build 2');
    expect(await navigate(r)).toBe('build 2');
    await driver.idle();
    // The page that got the new HTML is not told it is out of date; the others are.
    expect(eventsOf(open, 'SHELL_UPDATED')).toHaveLength(1);
    expect(eventsOf(navigating, 'SHELL_UPDATED')).toEqual([]);
    html = null;
    expect(await navigate(r)).toBe('build 2');
    driver.close();
  });
});

describe('maxManifestAgeMs', () => {
  it('past the limit with no successful manifest check, module requests and navigations go to the network until one succeeds', async () => {
    const driver = await startDriver(platform, t.publicKey, { maxManifestAgeMs: 60_000 });
    const r = router(driver);
    const moduleRequest = () => r.handle(new Request(`${ORIGIN}/modules/cart/1.0.0/index.js`), 'page-1', '');
    expect(await (await moduleRequest())!.text()).toContain('cart@1.0.0');
    // Offline: the manifest cannot be fetched. Within the limit the stored versions still serve.
    const offline = platform.hook!;
    platform.hook = (url, init) => (url.href === MANIFEST_URL ? Promise.reject(new TypeError('Failed to fetch')) : offline(url, init));
    platform.advance(60_000);
    expect((await driver.checkForUpdates()).outcome).toBe('rejected');
    expect(moduleRequest()).not.toBeNull();
    platform.advance(1);
    expect(moduleRequest()).toBeNull();
    expect(r.handle(Object.defineProperty(new Request(`${ORIGIN}/`), 'mode', { value: 'navigate' }), '', 'page-2')).toBeNull();
    // Back online: a check confirms the manifest (unchanged), and the worker serves again.
    platform.hook = offline;
    expect((await driver.checkForUpdates()).outcome).toBe('unchanged');
    expect(await (await moduleRequest())!.text()).toContain('cart@1.0.0');
    // The confirmation is stored: a restarted worker counts from it.
    driver.close();
    const again = await startDriver(platform, t.publicKey, { maxManifestAgeMs: 60_000 });
    platform.hook = (url, init) => (url.href === MANIFEST_URL ? Promise.reject(new TypeError('Failed to fetch')) : offline(url, init));
    platform.advance(30_000);
    expect(router(again).handle(new Request(`${ORIGIN}/modules/cart/1.0.0/index.js`), 'page-1', '')).not.toBeNull();
    again.close();
  });
});

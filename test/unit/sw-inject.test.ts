import { describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/core/protocol.js';
import { importMapOf, injectIntoHtml } from '../../src/core/importMap.js';
import { parseModuleUrl } from '../../src/core/moduleUrl.js';
import { injectIntoResponse } from '../../sw/inject.js';
import { resolveOptions } from '../../sw/options.js';

const BASE = 'https://app.test/modules/';
const snapshot: Snapshot = {
  id: 'n1',
  sequence: 7,
  modules: { cart: '2.0.0', search: '1.1.0-beta.1' },
  created: '2026-11-26T12:00:00.000Z',
};
const entries: Record<string, string> = { 'cart@2.0.0': 'index.js', 'search@1.1.0-beta.1': 'main.js' };
const map = importMapOf(snapshot, BASE, (m, v) => entries[`${m}@${v}`] ?? null);

describe('snapshot injection', () => {
  it('maps each bare specifier to its versioned entry and its directory', () => {
    expect(map).toEqual({
      imports: {
        cart: `${BASE}cart/2.0.0/index.js`,
        'cart/': `${BASE}cart/2.0.0/`,
        search: `${BASE}search/1.1.0-beta.1/main.js`,
        'search/': `${BASE}search/1.1.0-beta.1/`,
      },
    });
  });

  it('puts the import map and the snapshot first in <head>, before any script of the page', () => {
    const html = injectIntoHtml(
      '<!doctype html><html lang="en"><HEAD data-x="1"><script type="module" src="/app.js"></script></HEAD></html>',
      snapshot,
      map,
    );
    expect(html).toMatch(
      new RegExp(
        String.raw`^<!doctype html><html lang="en"><HEAD data-x="1"><script type="importmap">\{"imports":.*</script>` +
          String.raw`<script type="application/json" id="tranche-snapshot">\{"id":"n1".*</script><script type="module" src="/app\.js">`,
      ),
    );
  });

  it('works without <head> or <html>, and reuses a CSP nonce', () => {
    expect(injectIntoHtml('<p>hi</p>', snapshot, map)).toMatch(/^<script type="importmap">.*<p>hi<\/p>$/);
    expect(injectIntoHtml('<html><body><script nonce="r4nd0m">x()</script>', snapshot, map)).toMatch(
      /^<html><script type="importmap" nonce="r4nd0m">.*id="tranche-snapshot">/,
    );
  });

  it('injects only the import map when there is no snapshot (a page the server serves without the worker)', () => {
    const html = injectIntoHtml('<head><title>x</title></head>', null, map);
    expect(html).toMatch(
      /^<head><script type="importmap">\{"imports":\{"cart":"https:\/\/app\.test\/modules\/cart\/2\.0\.0\/index\.js".*<\/script><title>/,
    );
    expect(html).not.toContain('tranche-snapshot');
  });

  it('merges an import map the HTML already has into one, the injected entries winning', () => {
    const page =
      '<head><script type="importmap">' +
      '{"imports":{"cart":"/modules/cart/1.0.0/index.js","cart/":"/modules/cart/1.0.0/","other":"/o.js"},"scopes":{"/x/":{"a":"/b.js"}}}' +
      '</script><title>x</title></head>';
    const html = injectIntoHtml(page, snapshot, map);
    expect(html.match(/type="importmap"/g)).toHaveLength(1);
    const merged = JSON.parse(/<script type="importmap">(.*?)<\/script>/.exec(html)![1]!);
    expect(merged).toEqual({ imports: { ...map.imports, other: '/o.js' }, scopes: { '/x/': { a: '/b.js' } } });
    expect(html).toMatch(
      new RegExp(
        String.raw`^<head><script type="importmap">.*</script>` +
          String.raw`<script type="application/json" id="tranche-snapshot">.*</script><title>x</title></head>$`,
      ),
    );
  });

  it('leaves an import map that is not a JSON object where it is, after the injected one', () => {
    const page = '<head><script type="importmap">not json</script></head>';
    expect(injectIntoHtml(page, null, map)).toMatch(
      /^<head><script type="importmap">\{.*<\/script><script type="importmap">not json<\/script><\/head>$/,
    );
  });

  it('escapes what could close the script element', () => {
    const evil = { ...snapshot, overrideErrors: ['</script><script>alert(1)</script>'] };
    const html = injectIntoHtml('<head></head>', evil, map);
    expect(html).not.toContain('</script><script>alert');
    const json = /id="tranche-snapshot">(.*?)<\/script>/.exec(html)![1]!;
    expect(JSON.parse(json).overrideErrors).toEqual(evil.overrideErrors);
  });

  it('keeps status and headers but not the length of the original body, and is never cached', async () => {
    const original = new Response('<head></head>', {
      status: 200,
      headers: { 'content-type': 'text/html', 'content-length': '13', 'x-app': 'y' },
    });
    const injected = await injectIntoResponse(original, snapshot, map);
    expect(injected.headers.get('content-length')).toBeNull();
    expect(injected.headers.get('x-app')).toBe('y');
    expect(injected.headers.get('cache-control')).toBe('no-store');
    expect(await injected.text()).toContain('tranche-snapshot');
  });
});

describe('module URLs', () => {
  it('reads module, version and path, or just module and path', () => {
    expect(parseModuleUrl(`${BASE}cart/2.0.0/assets/chunk-x.js?v=1`, BASE)).toEqual({
      module: 'cart',
      version: '2.0.0',
      path: 'assets/chunk-x.js',
    });
    expect(parseModuleUrl(`${BASE}cart/assets/chunk-x.js`, BASE)).toEqual({ module: 'cart', version: null, path: 'assets/chunk-x.js' });
    expect(parseModuleUrl(`${BASE}cart/1.0.0-rc.1/index.js`, BASE)).toEqual({ module: 'cart', version: '1.0.0-rc.1', path: 'index.js' });
  });

  it('ignores what is not a module file', () => {
    for (const href of [
      `https://app.test/app.js`,
      `${BASE}cart`,
      `${BASE}cart/`,
      `${BASE}cart/2.0.0/`,
      `${BASE}Cart/x.js`,
      `${BASE}cart/%2e%2e/x.js`,
      'https://cdn.test/modules/cart/x.js',
    ]) {
      expect(parseModuleUrl(href, BASE)).toBeNull();
    }
  });
});

describe('options', () => {
  it('fills in documented defaults and resolves URLs against the scope', () => {
    const o = resolveOptions({ manifestUrl: 'store/manifest.json', publicKeys: [{}] }, 'https://app.test/shop/');
    expect(o).toMatchObject({
      manifestUrl: 'https://app.test/shop/store/manifest.json',
      storeBase: 'https://app.test/shop/store/',
      moduleBase: 'https://app.test/modules/',
      checkIntervalMs: 300_000,
      navigationCheckThrottleMs: 60_000,
      retainVersions: 2,
      overrideTtlMs: 86_400_000,
      retryDelayMs: 30_000,
      onEvent: null,
      navigation: { shellUrl: null, strategy: 'stale-while-revalidate', networkTimeoutMs: 4000 },
    });
    expect(o.navigation!.match(new URL('https://app.test/shop/cart'))).toBe(true);
    expect(o.navigation!.match(new URL('https://app.test/other'))).toBe(false);
    expect(o.navigation!.match(new URL('https://app.test/shop/store/files/abc'))).toBe(false);
    expect(resolveOptions({ manifestUrl: '/m.json', publicKeys: [{}], navigation: false }, 'https://app.test/').navigation).toBeNull();
  });

  it('names the option at fault', () => {
    expect(() => resolveOptions({ manifestUrl: '', publicKeys: [{}] }, 'https://app.test/')).toThrow(
      /option manifestUrl: expected a URL, got ""/,
    );
    expect(() => resolveOptions({ manifestUrl: '/m', publicKeys: [] }, 'https://app.test/')).toThrow(
      /option publicKeys: expected a non-empty array/,
    );
    expect(() => resolveOptions({ manifestUrl: '/m', publicKeys: [{}], retainVersions: -1 }, 'https://app.test/')).toThrow(
      /option retainVersions: expected an integer >= 0, got -1/,
    );
    expect(() => resolveOptions({ manifestUrl: '/m', publicKeys: [{}], modulePrefix: 'modules' }, 'https://app.test/')).toThrow(
      /option modulePrefix: expected a path such as \/modules\//,
    );
    expect(() =>
      resolveOptions(
        { manifestUrl: '/m', publicKeys: [{}], navigation: { strategy: 'cache-only' as 'network-first' } },
        'https://app.test/',
      ),
    ).toThrow(/option navigation.strategy: expected 'stale-while-revalidate' or 'network-first', got "cache-only"/);
  });

  it('takes a store on another origin over https (signed and hash-checked), but never the app shell', () => {
    const cdn = resolveOptions({ manifestUrl: 'https://cdn.example/store/manifest.json', publicKeys: [{}] }, 'https://app.test/');
    expect([cdn.manifestUrl, cdn.storeBase]).toEqual(['https://cdn.example/store/manifest.json', 'https://cdn.example/store/']);
    expect(() => resolveOptions({ manifestUrl: 'http://cdn.example/store/manifest.json', publicKeys: [{}] }, 'https://app.test/')).toThrow(
      "installTranche() option manifestUrl: expected a URL on the worker's origin https://app.test or an https URL, " +
        'got "http://cdn.example/store/manifest.json"',
    );
    expect(
      resolveOptions({ manifestUrl: 'http://127.0.0.1:9000/b/manifest.json', publicKeys: [{}] }, 'http://127.0.0.1:8080/').storeBase,
    ).toBe('http://127.0.0.1:9000/b/');
    expect(() =>
      resolveOptions({ manifestUrl: '/m', publicKeys: [{}], navigation: { shellUrl: 'http://app.test/' } }, 'https://app.test/'),
    ).toThrow(/option navigation.shellUrl: expected a URL on the worker's origin https:\/\/app.test/);
  });
});

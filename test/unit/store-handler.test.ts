/**
 * storeHandler over real HTTP: what the worker fetches from the store, what a page without the
 * worker fetches as module URLs, and what must never leave the server.
 */
import { createServer, request, type Server } from 'node:http';
import { readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeHandler, type StoreHandler } from '../../src/release/index.js';
import { createTestStore, moduleFiles, type TestStore } from '../support/trancheStore.js';

let t: TestStore;
let handler: StoreHandler;
let server: Server;
let port: number;

interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with `path` sent exactly as written (fetch would normalise dot segments first). */
function get(path: string, method = 'GET'): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res
        .setEncoding('utf8')
        .on('data', (c: string) => (body += c))
        .on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject).end();
  });
}

beforeAll(async () => {
  t = await createTestStore();
  await t.release('cart', '1.0.0');
  await t.release('cart', '2.0.0');
  await t.store.promote('cart', '1.0.0');
  // What a store directory holds besides what it serves, and a secret next to it.
  // (a lock left by a dead process, which the next publish breaks)
  await writeFile(
    join(t.dir, '.tranche.lock'),
    JSON.stringify({ pid: 2 ** 22 + 1, host: hostname(), since: new Date().toISOString(), nonce: '00' }),
  );
  await writeFile(join(t.dir, `.manifest.json.${process.pid}.0123abcd.tmp`), 'half-written');
  await writeFile(join(t.root, 'secret.txt'), 'the private key is here');
  handler = storeHandler(t.dir, { mount: '/store/' });
  server = createServer((req, res) => {
    void handler.handle(req, res).then((ours) => {
      if (!ours) res.writeHead(418, { 'content-type': 'text/plain' }).end('not the store');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await t?.remove();
});

describe('store documents under /store/', () => {
  it('serves manifest.json no-cache, as stored', async () => {
    const got = await get('/store/manifest.json');
    expect(got).toMatchObject({
      status: 200,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' },
    });
    expect(got.body).toBe(await t.manifestText());
  });

  it('serves records, files and public keys as immutable, each with its type', async () => {
    const record = await get('/store/records/cart/2.0.0.json');
    expect(record).toMatchObject({
      status: 200,
      headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=31536000, immutable' },
    });
    const { files } = JSON.parse(record.body) as { files: Array<{ path: string; sha256: string }> };
    const index = files.find((f) => f.path === 'index.js')!;
    const blob = await get(`/store/files/${index.sha256}`);
    expect(blob).toMatchObject({
      status: 200,
      body: moduleFiles('cart', '2.0.0')['index.js'],
      headers: { 'content-type': 'application/octet-stream', 'cache-control': 'public, max-age=31536000, immutable' },
    });
    const keyId = JSON.parse(JSON.parse(await t.manifestText()).payload).keyId as string;
    expect(await get(`/store/keys/${keyId}.jwk`)).toMatchObject({ status: 200, headers: { 'content-type': 'application/json' } });
  });

  it('answers HEAD with the headers and no body', async () => {
    expect(await get('/store/manifest.json', 'HEAD')).toMatchObject({ status: 200, body: '', headers: { 'cache-control': 'no-cache' } });
  });

  it('never serves dot files, history or other files of the store', async () => {
    for (const path of ['/store/.tranche.lock', `/store/.manifest.json.${process.pid}.0123abcd.tmp`, '/store/records/.hidden.json']) {
      const got = await get(path);
      expect(got.status).toBe(404);
      expect(got.body).toMatch(/starting with "\." \(a hidden file or folder\)/);
    }
    const history = await get('/store/history.jsonl');
    expect(history.status).toBe(404);
    expect(history.body).toContain(
      'history.jsonl is not served (only manifest.json, importmap.js, records/, files/, keys/ and modules/ are)',
    );
    expect((await get('/store/files/not-a-hash')).status).toBe(404);
    expect((await get('/store/files/')).status).toBe(404);
  });

  it('never serves anything outside the store, however the path is written', async () => {
    for (const path of [
      '/store/../secret.txt',
      '/store/%2e%2e/secret.txt',
      '/store/records/..%2f..%2fsecret.txt',
      '/store/..%5csecret.txt',
      '/store//etc/passwd',
      '/store/records/%2E%2E/%2E%2E/secret.txt',
    ]) {
      const got = await get(path);
      expect(got.body, path).not.toContain('private key');
      expect([404, 418], path).toContain(got.status);
    }
    expect((await get('/store/records/..%2f..%2fsecret.txt')).body).toContain('contains a percent escape');
  });

  it('is read-only', async () => {
    const got = await get('/store/manifest.json', 'PUT');
    expect(got).toMatchObject({ status: 405, headers: { allow: 'GET, HEAD' } });
  });
});

describe('module URLs without the worker', () => {
  it('resolves /modules/<module>/<version>/<path> through the release record, with its type', async () => {
    const got = await get('/modules/cart/2.0.0/index.js');
    expect(got).toMatchObject({
      status: 200,
      body: moduleFiles('cart', '2.0.0')['index.js'],
      headers: {
        'content-type': 'text/javascript; charset=utf-8',
        'cache-control': 'public, max-age=31536000, immutable',
        'x-tranche-module': 'cart@2.0.0',
      },
    });
    expect((await get('/modules/cart/1.0.0/chunk.js')).body).toBe(moduleFiles('cart', '1.0.0')['chunk.js']);
  });

  it('gives an unversioned URL the stable version, never cached for long', async () => {
    const got = await get('/modules/cart/index.js');
    expect(got).toMatchObject({
      status: 200,
      body: moduleFiles('cart', '1.0.0')['index.js'],
      headers: { 'cache-control': 'no-cache', 'x-tranche-module': 'cart@1.0.0' },
    });
  });

  it('answers 404 naming what is missing', async () => {
    expect(await get('/modules/cart/9.9.9/index.js')).toMatchObject({ status: 404, body: 'tranche store: cart@9.9.9 is not released' });
    expect(await get('/modules/cart/2.0.0/nope.js')).toMatchObject({
      status: 404,
      body: 'tranche store: cart@2.0.0 has no file nope.js (its release record lists every file)',
    });
    expect(await get('/modules/search/index.js')).toMatchObject({
      status: 404,
      body: 'tranche store: module search has no stable version',
    });
    expect(await get('/modules/cart/2.0.0/.secret.js')).toMatchObject({
      status: 404,
      body: expect.stringContaining('is not a module URL'),
    });
    expect((await get('/modules/cart/2.0.0/%2e%2e/%2e%2e/%2e%2e/secret.txt')).body).not.toContain('private key');
  });

  it('answers 404, not 500, for a file whose bytes were deleted from the store', async () => {
    await t.release('cart', '3.0.0');
    const record = JSON.parse(await readFile(join(t.dir, 'records/cart/3.0.0.json'), 'utf8')) as {
      files: { path: string; sha256: string }[];
    };
    const file = record.files.find((f) => f.path === 'index.js')!;
    await rm(join(t.dir, 'files', file.sha256));
    expect(await get('/modules/cart/3.0.0/index.js')).toMatchObject({
      status: 404,
      headers: { 'cache-control': 'no-store' },
      body: `tranche store: files/${file.sha256} (cart@3.0.0 index.js) is not in the store; tranche verify lists what is missing`,
    });
  });

  it('leaves every other path to the caller', async () => {
    for (const path of ['/', '/index.html', '/storefront', '/api/telemetry', '/secret.txt'])
      expect((await get(path)).status, path).toBe(418);
  });
});

describe('what a page no worker serves loads from a static copy of the store', () => {
  /** Runs importmap.js as the page would, served from `src`; returns the import map it inserts. */
  function runLoader(code: string, src: string, snapshot: object | null = null): unknown {
    let inserted: { textContent: string } | null = null;
    const currentScript = { src, after: (el: { textContent: string }) => (inserted = el) };
    const document = { currentScript, getElementById: () => snapshot, createElement: () => ({}) };
    vm.runInNewContext(code, { document, URL });
    return inserted && JSON.parse((inserted as { textContent: string }).textContent);
  }

  it('publishing writes importmap.js: the stable versions, every script pinned by its SHA-256', async () => {
    const record = JSON.parse(await readFile(join(t.dir, 'records/cart/1.0.0.json'), 'utf8')) as {
      files: Array<{ path: string; sha256: string }>;
    };
    const base = 'https://app.test/tranche/modules/cart/1.0.0/';
    const scripts = record.files.filter((f) => f.path.endsWith('.js'));
    expect(scripts.length).toBeGreaterThan(0);
    const code = await readFile(join(t.dir, 'importmap.js'), 'utf8');
    expect(runLoader(code, 'https://app.test/tranche/importmap.js')).toEqual({
      imports: { cart: `${base}index.js`, 'cart/': base },
      integrity: Object.fromEntries(scripts.map((f) => [base + f.path, `sha256-${Buffer.from(f.sha256, 'hex').toString('base64')}`])),
    });
    // A page the worker served has its own map (and a snapshot): the loader adds none.
    expect(runLoader(code, 'https://app.test/tranche/importmap.js', {})).toBeNull();
    const served = await get('/store/importmap.js');
    expect(served).toMatchObject({
      status: 200,
      body: code,
      headers: { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' },
    });
  });

  it("publishing writes each stable version's files under their names, which are served like module URLs", async () => {
    for (const [path, body] of Object.entries(moduleFiles('cart', '1.0.0'))) {
      expect(await readFile(join(t.dir, 'modules/cart/1.0.0', path), 'utf8')).toBe(body);
      expect(await get(`/store/modules/cart/1.0.0/${path}`)).toMatchObject({
        status: 200,
        body,
        headers: { 'x-tranche-module': 'cart@1.0.0' },
      });
    }
  });
});

describe('the stable import map', () => {
  it('maps each module to its stable entry, and follows promotions', async () => {
    expect(await handler.stableImportMap()).toEqual({ imports: { cart: '/modules/cart/1.0.0/index.js', 'cart/': '/modules/cart/1.0.0/' } });
    await t.store.promote('cart', '2.0.0');
    expect(await handler.stableImportMap()).toEqual({ imports: { cart: '/modules/cart/2.0.0/index.js', 'cart/': '/modules/cart/2.0.0/' } });
    expect((await get('/modules/cart/index.js')).headers['x-tranche-module']).toBe('cart@2.0.0');
  });

  it('is empty for a store that never published, under the configured prefixes', async () => {
    const empty = await createTestStore();
    try {
      expect(await storeHandler(empty.dir, { modulePrefix: '/m/' }).stableImportMap()).toEqual({ imports: {} });
    } finally {
      await empty.remove();
    }
  });

  it('refuses mount paths that are not /…/', () => {
    expect(() => storeHandler(t.dir, { mount: 'store' })).toThrow(
      /storeHandler\(\) option mount: expected a path starting and ending with \/, got "store"/,
    );
  });
});

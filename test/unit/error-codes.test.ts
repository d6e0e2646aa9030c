/**
 * Error codes: one per condition, carried from the worker to the page. The worker's replies go
 * through its real message listener (sw/install.ts) and the page's through askWorker
 * (workbox-window's messageSW over a real MessageChannel), so a page can tell the kill switch from a refused override; bad options
 * get one code, `invalid-option`, naming the entry point, from every entry point; and
 * docs/errors.md lists exactly the codes of the messages table.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { askWorker } from '../../src/client/askWorker.js';
import { resolveTrancheOptions } from '../../src/client/options.js';
import { messages } from '../../src/core/messages.js';
import type { PageRequest } from '../../src/core/protocol.js';
import { isTrancheError } from '../../src/core/TrancheError.js';
import { storeHandler } from '../../src/release/storeHandler.js';
import { trancheApp } from '../../src/vite/trancheApp.js';
import { trancheModule } from '../../src/vite/trancheModule.js';
import type { Driver } from '../../sw/Driver.js';
import { resolveOptions } from '../../sw/options.js';
import { storageNames } from '../../sw/storageNames.js';
import { FakePlatform, MANIFEST_URL, ORIGIN } from '../support/fakePlatform.js';
import { scopeOf, startDriver } from '../support/swHarness.js';
import { createTestStore, type TestStore } from '../support/trancheStore.js';

let t: TestStore;
let platform: FakePlatform;

beforeEach(async () => {
  t = await createTestStore();
  for (const v of ['1.0.0', '2.0.0']) await t.release('cart', v);
  await t.store.promote('cart', '1.0.0');
  platform = new FakePlatform(t.dir);
});
afterEach(() => t.remove());

/** What the page would see: `ServiceWorker.postMessage` with a port, answered by the worker's message listener. */
function workerOf(driver: Driver, reply?: unknown): ServiceWorker {
  const postMessage = (message: PageRequest, [port]: MessagePort[]) => {
    void (reply === undefined ? scopeOf(driver).ask(message, 'page-1') : Promise.resolve(reply)).then((r) => {
      port!.postMessage(r);
      port!.close();
    });
  };
  return { postMessage } as unknown as ServiceWorker;
}

async function ask(driver: Driver, request: PageRequest, what: string, reply?: unknown): Promise<unknown> {
  return askWorker(Promise.resolve(workerOf(driver, reply)), request, what, 5000).then(
    () => 'resolved',
    (err: unknown) => err,
  );
}

describe('worker errors reach the page with their own code', () => {
  it('the kill switch and a refused override are two codes, with the method named first', async () => {
    const driver = await startDriver(platform, t.publicKey);
    const refused = await ask(driver, { type: 'SET_OVERRIDE', module: 'cart', version: '9.9.9' }, 'override()');
    expect(isTrancheError(refused, 'override-refused')).toBe(true);
    expect(refused).toMatchObject({
      details: { module: 'cart', version: '9.9.9' },
      message: "override(): override cart@9.9.9: cart@9.9.9 is not a released version (not in the signed manifest's releases)",
    });

    await t.store.setKillSwitch(true);
    await driver.checkForUpdates();
    await driver.idle();
    const killed = await ask(driver, { type: 'SET_OVERRIDE', module: 'cart', version: '2.0.0' }, 'override()');
    expect(isTrancheError(killed, 'kill-switch')).toBe(true);
    expect((killed as Error).message).toBe(
      "override(): tranche service worker: refused, the manifest's kill switch disabled the tranche service worker",
    );
    driver.close();
  });

  it('a READY for a page load that is not the sender’s is unknown-page-load', async () => {
    const driver = await startDriver(platform, t.publicKey);
    const err = await ask(driver, { type: 'READY', nonce: 'someone-else' } as never, 'ready()');
    expect(isTrancheError(err, 'unknown-page-load')).toBe(true);
    expect(err).toMatchObject({ details: { nonce: 'someone-else' } });
    driver.close();
  });

  it('a worker without its database refuses with no-storage, and its state says why', async () => {
    // A database of a newer schema than this worker knows: opening it fails, as in a browser.
    const newer = platform.indexedDB.open(storageNames('').database, 999);
    await new Promise((resolve) => (newer.onsuccess = () => resolve(newer.result.close())));
    const driver = await startDriver(platform, t.publicKey);
    const err = await ask(driver, { type: 'SET_IDENTITY', userId: 'u-1' }, 'identify()');
    expect(isTrancheError(err, 'no-storage')).toBe(true);
    expect((err as Error).message).toMatch(/^identify\(\): tranche service worker: the tranche service worker has no storage: /);
    driver.close();
  });

  it('a code this page does not know is worker-failed; something that is not a reply is bad-reply', async () => {
    const driver = await startDriver(platform, t.publicKey);
    const newer = { type: 'REPLY', ok: false, error: { code: 'from-the-future', message: 'a newer worker', details: {} } };
    const unknown = await ask(driver, { type: 'GET_STATE' }, 'state()', newer);
    expect(isTrancheError(unknown, 'worker-failed')).toBe(true);
    expect((unknown as Error).message).toBe('state(): the service worker failed: from-the-future: a newer worker');

    const garbled = await ask(driver, { type: 'GET_STATE' }, 'state()', { hello: 1 });
    expect(isTrancheError(garbled, 'bad-reply')).toBe(true);
    expect((garbled as Error).message).toBe('state(): the service worker answered {"hello":1}, not a reply');
    driver.close();
  });
});

describe('bad options: one code, invalid-option, naming the entry point', () => {
  const caught = (fn: () => unknown): unknown => {
    try {
      fn();
    } catch (err) {
      return err;
    }
    return 'no error';
  };
  const cases: [string, () => unknown, string][] = [
    [
      'installTranche()',
      () => resolveOptions({ manifestUrl: MANIFEST_URL, publicKeys: [{}], retainVersions: -1 }, `${ORIGIN}/`),
      'installTranche() option retainVersions: expected an integer >= 0, got -1',
    ],
    [
      'installTranche() fallback',
      () => resolveOptions({ manifestUrl: MANIFEST_URL, publicKeys: [{}], fallback: { runtimeErrors: 0 } }, `${ORIGIN}/`),
      'installTranche() option fallback.runtimeErrors: expected an integer >= 1, got 0',
    ],
    [
      'new Tranche()',
      () => resolveTrancheOptions({ modulePrefix: 'modules' }),
      'new Tranche() option modulePrefix: expected a path such as /modules/ (starting and ending with /), got "modules"',
    ],
    [
      'trancheApp()',
      () => trancheApp({ modules: { cart: './cart.ts' }, store: { url: 'tranche' } }),
      'trancheApp() option store.url: expected a path such as /tranche/ (starting and ending with /), got "tranche"',
    ],
    [
      'trancheModule()',
      () => trancheModule({ name: 'cart', version: '1.0' }),
      'trancheModule() option version: expected a semver version such as 1.2.3, got "1.0"',
    ],
    [
      'storeHandler()',
      () => storeHandler(t.dir, { mount: 'store' }),
      'storeHandler() option mount: expected a path starting and ending with /, got "store"',
    ],
  ];
  it.each(cases)('%s', (_name, fn, message) => {
    const err = caught(fn);
    expect(isTrancheError(err, 'invalid-option')).toBe(true);
    expect((err as Error).message).toBe(message);
  });
});

describe('docs/errors.md', () => {
  it('lists every code of the messages table, and no other', () => {
    const doc = readFileSync(join(import.meta.dirname, '../../docs/errors.md'), 'utf8');
    const documented = [...doc.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(messages).sort());
  });
});

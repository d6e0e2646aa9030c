import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseTelemetryBatch, type TelemetryBatch } from '../../src/core/telemetry.js';
import { Database } from '../../sw/Database.js';
import { storageNames } from '../../sw/storageNames.js';
import type { Driver } from '../../sw/Driver.js';
import { resolveOptions, type TrancheWorkerOptions } from '../../sw/options.js';
import { FakePlatform, ORIGIN } from '../support/fakePlatform.js';
import { ask, reportErrors, startDriver } from '../support/swHarness.js';
import { createTestStore, type TestStore } from '../support/trancheStore.js';

let t: TestStore;
let platform: FakePlatform;
/** Every body the collector was sent, checked with the collector's own schema. */
let received: TelemetryBatch[];
/** What the collector answers; a thrown error is the network failing. */
let collector: () => Response;

const URL_ = `${ORIGIN}/telemetry`;
const INTERVAL = 1000;
const telemetry = { telemetry: { url: '/telemetry', batchIntervalMs: INTERVAL } };

beforeEach(async () => {
  t = await createTestStore();
  for (const v of ['1.0.0', '2.0.0']) await t.release('cart', v);
  await t.store.promote('cart', '1.0.0');
  platform = new FakePlatform(t.dir);
  received = [];
  collector = () => new Response('{}');
  platform.hook = (url, init) => {
    if (url.href !== URL_) return undefined;
    expect(init?.method).toBe('POST');
    received.push(parseTelemetryBatch(JSON.parse(init!.body as string)));
    return collector();
  };
});
afterEach(() => t.remove());

/** Lets the batch interval pass and waits for what it triggers. */
async function tick(driver: Driver, ms = INTERVAL): Promise<void> {
  platform.advance(ms);
  await driver.idle();
}

const events = () => received.flatMap((batch) => batch.events);
const summary = () =>
  events().map((e) => [e.type, e.module && `${e.module}@${e.version}`, e.reason, e.count, e.to].filter((x) => x !== undefined).join(' '));

describe('Telemetry', () => {
  it('sends exposures, a healthy boot per load, summed errors, rollbacks, staging/manifest failures; unique ids, anonymously', async () => {
    const driver = await startDriver(platform, t.publicKey, { ...telemetry, retryDelayMs: 60_000 });
    await driver.setIdentity('user-42'); // the app identity never leaves the browser in telemetry
    platform.addClient('page-1');
    const { id: nonce } = await driver.pinSnapshot('page-1');
    await driver.idle(); // the page loads: its pin is stored
    expect(await ask(driver, { type: 'READY', nonce }, 'page-1')).toMatchObject({ ok: true });
    // Asked again (the page's controller changed before it answered): still one healthy boot.
    expect(await ask(driver, { type: 'READY', nonce }, 'page-1')).toMatchObject({ ok: true });
    await t.store.rollout('cart', '2.0.0', 100);
    platform.hook = ((hook) => (url, init) =>
      url.pathname.includes('/files/') ? new Response('busy', { status: 503 }) : hook!(url, init))(platform.hook);
    await driver.checkForUpdates();
    await driver.idle();
    for (let i = 0; i < 2; i++) {
      await reportErrors(
        driver,
        {
          type: 'REPORT_ERRORS',
          nonce,
          entries: [
            { module: 'cart', version: '1.0.0', kind: 'runtime', count: 1, samples: [] },
            { module: null, version: null, kind: 'runtime', count: 40, samples: [] },
          ],
          dropped: 10,
        },
        'page-1',
      );
    }
    await tick(driver);
    expect(summary()).toEqual([
      'exposure cart@1.0.0',
      'healthy-boot cart@1.0.0',
      'staging-failed cart@2.0.0 download',
      'errors cart@1.0.0 2',
      'errors 100',
    ]);
    await reportErrors(
      driver,
      { type: 'REPORT_ERRORS', nonce, entries: [{ module: 'cart', version: '1.0.0', kind: 'runtime', count: 1, samples: [] }], dropped: 0 },
      'page-1',
    );
    platform.hook = ((hook) => (url, init) =>
      url.pathname.endsWith('manifest.json') ? new Response('down', { status: 502 }) : hook!(url, init))(platform.hook);
    await driver.checkForUpdates();
    await tick(driver);
    expect(summary().slice(5)).toEqual(['rollback cart@1.0.0 runtime-errors', 'manifest-rejected download', 'errors cart@1.0.0 1']);
    const anonymousId = (await Database.open(platform.indexedDB, storageNames('').database).then(async (db) => (await db.load()).identity))!
      .anonymousId;
    expect(received.map((b) => b.client)).toEqual(received.map(() => anonymousId));
    expect(new Set(events().map((e) => e.id)).size).toBe(events().length);
    driver.close();
  });

  it('keeps a batch the collector refused in IndexedDB and retries it with back-off and the same ids, after a restart too', async () => {
    collector = () => new Response('later', { status: 503 });
    const driver = await startDriver(platform, t.publicKey, telemetry);
    await driver.pinSnapshot('page-1');
    await tick(driver); // first attempt
    await tick(driver, INTERVAL - 1);
    expect(received).toHaveLength(1);
    await tick(driver, 1); // second attempt, one interval later
    await tick(driver, 2 * INTERVAL - 1);
    expect(received).toHaveLength(2);
    await tick(driver, 1); // third attempt, two intervals later
    expect(received).toHaveLength(3);
    driver.close();

    collector = () => new Response('{}');
    // The next worker start sends it when its back-off (four intervals now) has passed.
    const again = await startDriver(platform, t.publicKey, telemetry);
    await tick(again, 4 * INTERVAL - 1);
    expect(received).toHaveLength(3);
    await tick(again, 1);
    expect(received).toHaveLength(4);
    const ids = received.map((b) => b.events.map((e) => e.id).join());
    expect(new Set(ids).size).toBe(1);
    await tick(again, 10 * INTERVAL);
    expect(received).toHaveLength(4); // sent: nothing left to retry
    again.close();
  });

  it('a worker stopped before its batch interval: the next one sends the rollback, boot and errors the first stored', async () => {
    const driver = await startDriver(platform, t.publicKey, telemetry);
    platform.addClient('page-1');
    const { id: nonce } = await driver.pinSnapshot('page-1');
    expect(await ask(driver, { type: 'READY', nonce }, 'page-1')).toMatchObject({ ok: true });
    const boot = { module: 'cart', version: '1.0.0', kind: 'boot' as const, count: 1, samples: [] };
    await reportErrors(driver, { type: 'REPORT_ERRORS', nonce, entries: [boot], dropped: 0 }, 'page-1');
    driver.close(); // stopped: no timer fired, nothing was sent
    expect(received).toHaveLength(0);
    const again = await startDriver(platform, t.publicKey, telemetry);
    await again.idle();
    expect(summary()).toEqual(['exposure cart@1.0.0', 'healthy-boot cart@1.0.0', 'rollback cart@1.0.0 boot-error', 'errors cart@1.0.0 1']);
    again.close();
  });

  it('drops a batch the collector refuses as malformed instead of retrying it forever', async () => {
    collector = () => new Response('{"error":"bad"}', { status: 400 });
    const driver = await startDriver(platform, t.publicKey, telemetry);
    await driver.pinSnapshot('page-1');
    await tick(driver);
    await tick(driver, 100 * INTERVAL);
    expect(received).toHaveLength(1);
    driver.close();
  });
});

describe('Database upgrade', () => {
  it('a database written by the first schema keeps its data and gains the bad marks and the telemetry queue', async () => {
    // What a worker of schema 1 left behind: its stores and this browser's anonymous id.
    const request = platform.indexedDB.open('tranche', 1);
    request.onupgradeneeded = () => {
      const db = request.result;
      db.createObjectStore('control', { keyPath: 'key' }).put({ key: 'identity', value: { anonymousId: 'old-browser', userId: null } });
      db.createObjectStore('modules', { keyPath: 'module' });
      db.createObjectStore('versions', { keyPath: 'key' });
      db.createObjectStore('clients', { keyPath: 'clientId' });
    };
    await new Promise((resolve) => (request.onsuccess = resolve));
    request.result.close();

    const driver = await startDriver(platform, t.publicKey, telemetry);
    const page = platform.addClient('page-1');
    const { id: nonce } = await driver.pinSnapshot('page-1');
    await reportErrors(
      driver,
      { type: 'REPORT_ERRORS', nonce, entries: [{ module: 'cart', version: '1.0.0', kind: 'boot', count: 1, samples: [] }], dropped: 0 },
      'page-1',
    );
    await tick(driver);
    expect(page.messages).toContainEqual({ type: 'ROLLED_BACK', module: 'cart', version: '1.0.0', reason: 'boot-error', to: null });
    expect(received.map((b) => b.client)).toEqual(['old-browser']);
    driver.close();
  });
});

describe('options', () => {
  const resolve = (extra: Partial<TrancheWorkerOptions>) =>
    resolveOptions({ manifestUrl: '/store/manifest.json', publicKeys: [{}], ...extra }, `${ORIGIN}/app/`);

  it('fills in the documented defaults of fallback and telemetry; telemetry is off unless given', () => {
    expect(resolve({})).toMatchObject({
      fallback: { bootTimeoutMs: 10_000, runtimeErrors: 3, runtimeWindowMs: 60_000, retryAfterMs: 86_400_000 },
      telemetry: null,
    });
    expect(resolve({ telemetry: { url: 'telemetry' }, fallback: { bootTimeoutMs: 1500 } })).toMatchObject({
      fallback: { bootTimeoutMs: 1500, runtimeErrors: 3 },
      telemetry: { url: `${ORIGIN}/app/telemetry`, batchIntervalMs: 10_000, maxBatchEvents: 100 },
    });
    expect(resolve({ telemetry: { url: 'https://collector.example/t' } }).telemetry!.url).toBe('https://collector.example/t');
  });

  it('names the option that is unusable', () => {
    expect(() => resolve({ fallback: { bootTimeoutMs: -1 } })).toThrow(
      'installTranche() option fallback.bootTimeoutMs: expected an integer >= 0, got -1',
    );
    expect(() => resolve({ telemetry: { url: 'ftp://collector.example/t' } })).toThrow(
      'installTranche() option telemetry.url: expected an http(s) URL, got "ftp://collector.example/t"',
    );
    expect(() => resolve({ telemetry: { url: '' } })).toThrow(/option telemetry\.url: expected an http\(s\) URL/);
    expect(() => resolve({ telemetry: { url: '/t', maxBatchEvents: 501 } })).toThrow(
      'installTranche() option telemetry.maxBatchEvents: expected an integer from 1 to 500, got 501',
    );
    expect(() => resolve({ telemetry: { url: '/t', batchIntervalMs: 0 } })).toThrow(
      'installTranche() option telemetry.batchIntervalMs: expected an integer >= 1, got 0',
    );
  });
});

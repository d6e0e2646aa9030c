import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { beforeEach, describe, expect, it } from 'vitest';
import { browserFixture } from '../support/browserFixture.js';
import { checkForUpdate, events, lazyChunk, loaded, openApp, recordEvents, waitForState, workerState } from '../support/swPage.js';
import { newFilePaths, scenario, type Scenario } from '../support/swScenario.js';
import { badManifests } from '../support/trancheStore.js';

const fixture = browserFixture(scenario);
let s: Scenario;
let context: BrowserContext;
let page: Page;

beforeEach(async () => {
  [s, context] = [fixture.world(), fixture.context()];
  page = await openApp(context, s.server.origin);
  expect((await loaded(page)).rendered.cart).toBe('1.0.0');
  await recordEvents(page);
});

describe('tranche/sw under failure in Chromium', () => {
  it('a connection cut halfway leaves the active version untouched; the retry fetches only the missing files, then commits', async () => {
    const fresh = await newFilePaths(s, '2.0.0', '1.0.0');
    const asked: string[] = [];
    let cut: string | null = null;
    s.server.hook = async (_req, res, path) => {
      if (!fresh.includes(path)) return false;
      asked.push(path);
      if (asked.length !== 3 || cut) return false;
      cut = path;
      const body = await readFile(join(s.t.dir, path.slice('/store/'.length)));
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      res.write(body.subarray(0, body.length >> 1));
      setTimeout(() => res.socket?.destroy(), 20);
      return true;
    };
    await s.t.store.promote('cart', '2.0.0');
    await page.reload(); // checks the manifest and starts staging
    const failed = await waitForState(page, (st) => st.modules.cart?.staging?.failure?.reason === 'download', 'the download failure');
    expect(failed.modules.cart!.current).toBe('1.0.0');
    await page.reload();
    expect((await loaded(page)).rendered.cart).toBe('1.0.0');
    expect(await lazyChunk(page)).toBe('cart@1.0.0 chunk');

    // The retry (after the back-off) completes the version.
    await waitForState(page, (st) => st.modules.cart?.current === '2.0.0', 'the retry to commit');
    expect(fresh.map((p) => [p === cut ? 'cut' : 'whole', s.server.count(p)])).toEqual(
      fresh.map((p) => (p === cut ? ['cut', 2] : ['whole', 1])),
    );
    await page.reload();
    expect((await loaded(page)).rendered.cart).toBe('2.0.0');
  });

  it('wrong bytes for one file: refetched once past the caches, nothing of that version served, integrity reported', async () => {
    const [bad] = await newFilePaths(s, '2.0.0', '1.0.0');
    s.server.hook = (_req, res, path) => {
      if (path !== bad) return false;
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end('not the bytes the record promised');
      return true;
    };
    await s.t.store.promote('cart', '2.0.0');
    expect(await checkForUpdate(page)).toMatchObject({ outcome: 'updated' });
    const state = await waitForState(page, (st) => st.modules.cart?.staging?.failure?.reason !== undefined, 'the integrity failure');
    expect(state.modules.cart).toMatchObject({ current: '1.0.0', staging: { version: '2.0.0', failure: { reason: 'integrity' } } });
    expect((await events(page)).filter((e) => e.type === 'STAGING_FAILED')).toMatchObject([
      { module: 'cart', version: '2.0.0', reason: 'integrity' },
    ]);
    expect(s.server.requests.filter((r) => r.startsWith(bad!))).toEqual([bad, expect.stringMatching(/\?tranche-bust=\d+$/)]);
    // The file with the wrong bytes is never served: asked for directly, it fails after the same check.
    const badFile = (await s.record('cart', '2.0.0')).files.find((f) => bad!.endsWith(f.sha256))!;
    const answer = await page.evaluate(
      (url) => fetch(url).then(async (r) => `${r.status} ${await r.text()}`),
      `/modules/cart/2.0.0/${badFile.path}`,
    );
    expect(answer).toMatch(new RegExp(`^502 tranche: cart@2\\.0\\.0 ${badFile.path} could not be served verified: .*SHA-256 mismatch`));
    expect(s.server.count('/modules/')).toBe(0);
    await page.reload();
    expect((await loaded(page)).rendered.cart).toBe('1.0.0');
  });

  it('a version not staged here is served only as bytes that match its record, never as the network answers it', async () => {
    await s.t.store.rollout('cart', '2.0.0', 0); // live for nobody: in the signed manifest, never staged here
    expect(await checkForUpdate(page)).toMatchObject({ outcome: 'updated' });
    const record = await s.record('cart', '2.0.0');
    const entry = record.files.find((f) => f.path === 'index.js')!;
    const evil = 'window.tampered = true; export const version = "evil"; export function render() {}\n';
    // The network serves tampered bytes both at the module URL and at the blob's store URL.
    s.server.hook = (_req, res, path) => {
      if (path !== '/modules/cart/2.0.0/index.js' && path !== `/store/files/${entry.sha256}`) return false;
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(evil);
      return true;
    };
    // (As strings: vitest would rewrite an import() written in the test's own code.)
    const ran = await page.evaluate(`import('/modules/cart/2.0.0/index.js').then((m) => 'ran ' + m.version, () => 'refused')`);
    expect(ran).toBe('refused');
    expect(await page.evaluate(() => (window as { tampered?: boolean }).tampered)).toBeUndefined();
    expect(await page.evaluate(() => fetch('/modules/cart/2.0.0/index.js').then((r) => r.status))).toBe(502);
    // Its untampered files arrive, checked; a version the manifest does not release is refused.
    s.server.hook = null;
    // (A module URL that failed once stays failed in this document's module map: another file is asked for.)
    expect(await page.evaluate(`import('/modules/cart/2.0.0/chunk.js').then((m) => m.value)`)).toBe('cart@2.0.0 chunk');
    const unknown = await page.evaluate(() => fetch('/modules/cart/9.9.9/index.js').then(async (r) => `${r.status} ${await r.text()}`));
    expect(unknown).toBe('404 tranche: cart@9.9.9: not released in the signed manifest, so its bytes cannot be verified');
    expect(s.server.count('/modules/')).toBe(0);
  });

  it('tampered, unsigned, foreign-key, replayed and expired manifests are rejected; pages keep working on the last good one', async () => {
    const old = await s.t.manifestText();
    await s.t.store.rollout('cart', '2.0.0', 0);
    expect(await checkForUpdate(page)).toMatchObject({ outcome: 'updated', sequence: 2 });
    const bad = await badManifests(s.t);
    const cases: [string, string, string][] = [
      ['tampered', bad.tampered, 'signature'],
      ['unsigned', bad.unsigned, 'signature'],
      ['foreign key', bad.foreignKey, 'signature'],
      ['replayed', old, 'sequence'],
      ['expired', bad.expired, 'expired'],
    ];
    for (const [what, text, reason] of cases) {
      s.server.hook = (_req, res, path) => {
        if (path !== '/store/manifest.json') return false;
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' }).end(text);
        return true;
      };
      const result = await checkForUpdate(page);
      expect({ what, outcome: result.outcome, reason: result.reason, sequence: result.sequence }).toEqual({
        what,
        outcome: 'rejected',
        reason,
        sequence: 2,
      });
      await page.reload();
      expect((await loaded(page)).rendered.cart).toBe('1.0.0');
      expect(await workerState(page)).toMatchObject({ condition: 'STALE', why: expect.stringMatching(new RegExp(`^${reason}: `)) });
      await recordEvents(page);
    }
  });

  it('offline: pages load with the last good versions', async () => {
    s.server.down = true;
    await page.reload();
    const offline = await loaded(page);
    expect(offline.rendered.cart).toBe('1.0.0');
    expect(await lazyChunk(page)).toBe('cart@1.0.0 chunk');
    expect((await workerState(page)).why).toMatch(/^download: /);
  });

  it('kill switch: the worker unregisters and the app loads from the network', async () => {
    await s.t.store.setKillSwitch(true);
    await checkForUpdate(page);
    await page.waitForFunction(() => navigator.serviceWorker.getRegistration().then((r) => r === undefined));
    // The page's own load, not the server's request count: the page client registers the worker
    // again as it loads, and the new worker's install fetches the shell too (then meets the kill switch).
    const response = await page.reload();
    expect(response?.fromServiceWorker()).toBe(false);
    const fromNetwork = await loaded(page);
    expect(fromNetwork.snapshot).toBeNull();
    expect(await page.evaluate(() => navigator.serviceWorker.controller)).toBeNull();
  });
});

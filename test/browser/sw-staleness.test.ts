/**
 * The staleness limit in real Chromium (docs/service-worker.md, `maxManifestAgeMs`): while the
 * store cannot be reached the worker serves its stored versions, but not past 30 days (the
 * default) after the last manifest check that succeeded; then pages and module files come from
 * the network until a check succeeds again. Time passes by moving the worker's clock, as a
 * device clock does, not by waiting.
 */
import { describe, expect, it } from 'vitest';
import { browserFixture } from '../support/browserFixture.js';
import { scenario } from '../support/swScenario.js';
import { checkForUpdate, loaded, openApp, shiftWorkerClock } from '../support/swPage.js';

const fixture = browserFixture(() => scenario());
const DAY_MS = 86_400_000;

describe('staleness limit in Chromium', () => {
  it('past 30 days without a successful manifest check, stored versions are not served; the next successful one serves them', async () => {
    const { server } = fixture.world();
    const page = await openApp(fixture.context(), server.origin);
    expect((await loaded(page)).snapshot!.modules).toEqual({ cart: '1.0.0' });

    // The store is down (the app's HTML still loads): every check fails.
    server.hook = (_req, res, path) => {
      if (!path.startsWith('/store/')) return false;
      res.writeHead(503, { 'content-type': 'text/plain' }).end('store down');
      return true;
    };
    expect((await checkForUpdate(page)).outcome).toBe('rejected');
    await shiftWorkerClock(page, 29 * DAY_MS);
    await page.reload();
    const stale = await loaded(page);
    expect(stale.snapshot!.modules).toEqual({ cart: '1.0.0' });
    expect(stale.rendered).toEqual({ cart: '1.0.0' });

    // Two more days: past the limit. The page comes from the network, with no snapshot and no module.
    await shiftWorkerClock(page, 2 * DAY_MS);
    await page.reload();
    expect(await loaded(page)).toMatchObject({ snapshot: null, rendered: {} });
    const moduleStatus = await page.evaluate(() => fetch('/modules/cart/index.js').then((r) => r.status));
    expect(moduleStatus).toBe(404); // the network's answer: module files are not on it

    // The store answers again: the check confirms the manifest and the stored versions are served again.
    server.hook = null;
    expect((await checkForUpdate(page)).outcome).toBe('unchanged');
    await page.reload();
    expect((await loaded(page)).rendered).toEqual({ cart: '1.0.0' });
  }, 120_000);
});

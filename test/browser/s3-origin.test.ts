/**
 * A store on another origin (issue 10) in Chromium: the worker reads its manifest, records and
 * files from a bucket on a real S3-compatible server (s3rver on 127.0.0.1 at another port, so
 * another origin), whose CORS rules let the app's origin read it as docs/cli.md says to set
 * them, and the app's own server serves no store at all. Versions, a rollout and a fallback
 * work as they do with the store on the app's origin (fallback.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CART, fallbackTest, moveTo, poll, tab } from '../support/fallbackApp.js';
import { startS3Server, type S3TestServer } from '../support/s3Server.js';
import { loaded, workerState } from '../support/swPage.js';

let s3: S3TestServer;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(() => s3?.close());

const t = fallbackTest({}, () => s3);

describe('a store in a bucket on another origin, in Chromium', () => {
  it('the worker gets its versions from the bucket, rolls a new one out and falls a broken one back', async () => {
    const { world, page } = t;
    expect(world.server.config.manifestUrl).toMatch(new RegExp(`^${s3.endpoint}/app-\\d+/store/manifest\\.json$`));
    expect((await workerState(page)).modules.cart?.current).toBe(CART.good);

    await moveTo(world, page, CART.next);
    await page.reload();
    expect((await loaded(page)).rendered.cart).toBe(CART.next);

    await moveTo(world, page, CART.throwsOnImport);
    const before = (await tab(page)).loads;
    await page.reload();
    await poll(async () => (await tab(page)).loads).toBe(before + 2);
    expect((await loaded(page)).rendered.cart).toBe(CART.next);
    expect((await tab(page)).rolledBack).toEqual([
      { module: 'cart', version: CART.throwsOnImport, reason: 'boot-error', to: CART.next, affectsThisPage: true, willReload: true },
    ]);
    // Every byte of the store came from the bucket's origin: the app's server was never asked.
    expect(world.server.count('/store/')).toBe(0);
  });
});

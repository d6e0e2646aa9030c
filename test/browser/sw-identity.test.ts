/**
 * Identity and stickiness in real Chromium (docs/service-worker.md, "Identity and
 * stickiness"): signing in, signing out and signing in again never move a client off the cart
 * version it runs, even when the user's bucket gets the other version; only once the cohort the
 * client came from would move anyway does the signed-in user's bucket decide.
 */
import { describe, expect, it } from 'vitest';
import { bucketOf } from '../../src/core/bucketing.js';
import { browserFixture } from '../support/browserFixture.js';
import { scenario } from '../support/swScenario.js';
import { checkForUpdate, identify, loaded, openApp, waitForState, workerState } from '../support/swPage.js';

const fixture = browserFixture(async () => {
  const s = await scenario();
  await s.t.store.rollout('cart', '2.0.0', 50);
  return s;
});

/** The version cart@2.0.0 at 50% (buckets 0..4999) gives a bucket. */
const versionOf = (bucket: number) => (bucket < 5000 ? '2.0.0' : '1.0.0');

describe('identity in Chromium', () => {
  it('identify, logout, identify again: a client keeps its version until its cohort moves; then the user’s bucket decides', async () => {
    const { t, server } = fixture.world();
    const page = await openApp(fixture.context(), server.origin);
    const anonymous = (await workerState(page)).modules.cart!.assigned!;
    expect(anonymous.version).toBe(versionOf(anonymous.bucket));
    expect((await loaded(page)).rendered.cart).toBe(anonymous.version);

    // A user whose own bucket gets the other version.
    let n = 0;
    while (versionOf(bucketOf('cart', `user-${n}`)) === anonymous.version) n++;
    const user = `user-${n}`;
    const userBucket = bucketOf('cart', user);

    const reloadCart = async () => {
      await page.reload();
      return (await loaded(page)).rendered.cart;
    };
    for (const userId of [user, null, user]) {
      await identify(page, userId);
      expect(await reloadCart()).toBe(anonymous.version);
      const state = await workerState(page);
      expect(state.identity).toBe(userId === null ? 'anonymous' : 'app');
      expect(state.modules.cart!.assigned).toMatchObject({ version: anonymous.version, bucket: anonymous.bucket });
    }

    // The anonymous cohort moves (2.0.0 to 0%, or to 100%): now the signed-in user's bucket decides.
    await t.store.rollout('cart', '2.0.0', anonymous.version === '2.0.0' ? 0 : 100);
    const next = anonymous.version === '2.0.0' ? '1.0.0' : '2.0.0';
    await checkForUpdate(page);
    await waitForState(page, (s) => s.modules.cart?.current === next, `cart@${next} committed`);
    expect(await reloadCart()).toBe(next);
    expect((await workerState(page)).modules.cart!.assigned).toMatchObject({ version: next, bucket: userBucket });
  }, 120_000);
});

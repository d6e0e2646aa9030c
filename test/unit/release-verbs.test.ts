/**
 * The mutating verbs through the Node API: what each does to the signed manifest, what it
 * refuses and why, and the history it leaves.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { assign } from '../../src/core/bucketing.js';
import { sha256Hex } from '../../src/core/integrity.js';
import { trustKeys, verifyManifest } from '../../src/core/signature.js';
import type { Manifest } from '../../src/core/manifest.js';
import { createTestStore, type TestStore } from '../support/trancheStore.js';

let t: TestStore;
beforeEach(async () => {
  t = await createTestStore();
  for (const v of ['1.0.0', '1.1.0', '1.2.0', '2.0.0']) await t.release('cart', v);
});
afterEach(async () => {
  await t.remove();
});

async function manifest(): Promise<Manifest> {
  return verifyManifest(JSON.parse(await t.manifestText()), { trusted: await trustKeys([t.publicKey]) });
}

describe('promote and rollout', () => {
  it('creates the module on its first promote and lists exactly the live releases', async () => {
    expect(await t.store.status()).toEqual({ sequence: 0, killSwitch: false, modules: {} });
    await t.store.promote('cart', '1.0.0');
    await t.store.rollout('cart', '1.1.0', 12.5);
    const m = await manifest();
    expect(m.sequence).toBe(2);
    expect(m.modules.cart).toEqual({
      stable: '1.0.0',
      rollouts: [{ version: '1.1.0', percent: 12.5, from: 0 }],
      paused: false,
      blocked: [],
    });
    expect(Object.keys(m.releases)).toEqual(['cart@1.0.0', 'cart@1.1.0']);
    const bytes = await readFile(join(t.dir, 'records/cart/1.1.0.json'));
    expect(m.releases['cart@1.1.0']).toEqual({ record: 'records/cart/1.1.0.json', sha256: await sha256Hex(bytes) });
    expect((await t.store.status()).modules.cart).toEqual({
      stable: '1.0.0',
      rollouts: [{ version: '1.1.0', percent: 12.5 }],
      paused: false,
      blocked: [],
    });
  });

  it('refuses a rollout before any promote, and versions never released', async () => {
    await expect(t.store.rollout('cart', '1.1.0', 5)).rejects.toThrow(
      'module cart in the manifest (promote a first version with: tranche promote cart@<version>) not found',
    );
    await t.store.promote('cart', '1.0.0');
    await expect(t.store.rollout('cart', '9.9.9', 5)).rejects.toMatchObject({
      name: 'not-found',
      message: 'release cart@9.9.9 (records/cart/9.9.9.json) not found',
    });
    await expect(t.store.promote('header', '1.0.0')).rejects.toMatchObject({
      name: 'not-found',
      message: expect.stringContaining('header@1.0.0'),
    });
    expect((await manifest()).sequence).toBe(1);
  });

  it('checks percentages and says promote is what makes a 100% rollout stable', async () => {
    await t.store.promote('cart', '1.0.0');
    await expect(t.store.rollout('cart', '1.1.0', 150)).rejects.toMatchObject({
      name: 'invalid-argument',
      message: expect.stringContaining('--percent 150'),
    });
    await expect(t.store.rollout('cart', '1.1.0', 0.005)).rejects.toMatchObject({ name: 'invalid-argument' });
    await expect(t.store.rollout('cart', '1.0.0', 5)).rejects.toThrow('cart@1.0.0: is already the stable version');
    const full = await t.store.rollout('cart', '1.1.0', 100);
    expect(full.note).toContain('tranche promote cart@1.1.0 makes it stable');
    expect((await manifest()).modules.cart!.stable).toBe('1.0.0');
  });

  it('gives concurrent canaries disjoint buckets, so each client gets exactly one version', async () => {
    await t.store.promote('cart', '1.0.0');
    await t.store.rollout('cart', '1.1.0', 10);
    await t.store.rollout('cart', '1.2.0', 20);
    await expect(t.store.rollout('cart', '1.1.0', 85)).rejects.toMatchObject({ name: 'no-room' });
    const m = await manifest();
    expect(m.modules.cart!.rollouts).toEqual([
      { version: '1.1.0', percent: 10, from: 0 },
      { version: '1.2.0', percent: 20, from: 5500 },
    ]);
    const ids = Array.from({ length: 50 }, (_, i) => `client-${i}`);
    for await (const r of t.store.resolve(ids)) expect(r.modules.cart).toBe(assign(m, r.client).cart!.version);
  });

  it('promoting a canary ends its rollout; promoting the stable again changes nothing', async () => {
    await t.store.promote('cart', '1.0.0');
    await t.store.rollout('cart', '1.1.0', 30);
    await t.store.promote('cart', '1.1.0');
    expect((await manifest()).modules.cart).toMatchObject({ stable: '1.1.0', rollouts: [] });
    const again = await t.store.promote('cart', '1.1.0');
    expect(again).toMatchObject({ changed: false, sequence: 3 });
    expect((await manifest()).sequence).toBe(3);
  });

  it('sets the expiry, keeps it across publishes without --expires, drops it only with never; refuses one in the past', async () => {
    await t.store.promote('cart', '1.0.0', { expires: '2099-01-01T00:00:00Z' });
    expect((await manifest()).expires).toBe('2099-01-01T00:00:00.000Z');
    await expect(t.store.pause('cart', { expires: '2001-01-01T00:00:00Z' })).rejects.toMatchObject({
      name: 'invalid-argument',
      message: expect.stringContaining('--expires 2001-01-01T00:00:00Z'),
    });
    await t.store.pause('cart');
    expect((await manifest()).expires).toBe('2099-01-01T00:00:00.000Z');
    // Once the kept expiry has passed, a publish must name a new one.
    const later = vi.spyOn(Date, 'now').mockReturnValue(Date.parse('2100-01-01T00:00:00Z'));
    try {
      await expect(t.store.resume('cart')).rejects.toThrow(
        "the store's manifests expire, and the current one expired at 2099-01-01T00:00:00.000Z: " +
          'pass --expires <time> for the new one (or --expires never)',
      );
    } finally {
      later.mockRestore();
    }
    await t.store.resume('cart', { expires: 'never' });
    expect((await manifest()).expires).toBeUndefined();
  });
});

describe('pause, resume, kill switch', () => {
  it('a paused module refuses rollout and promote, but can be rolled back', async () => {
    await t.store.promote('cart', '1.0.0');
    await t.store.rollout('cart', '1.1.0', 5);
    await t.store.pause('cart');
    expect((await t.store.status()).modules.cart!.paused).toBe(true);
    await expect(t.store.rollout('cart', '1.1.0', 50)).rejects.toThrow('cart: is paused; run tranche resume cart first');
    await expect(t.store.promote('cart', '1.1.0')).rejects.toThrow(/is paused/);
    await t.store.rollback('cart');
    await t.store.resume('cart');
    expect((await t.store.status()).modules.cart).toEqual({ stable: '1.0.0', rollouts: [], paused: false, blocked: ['1.1.0'] });
    await expect(t.store.pause('header')).rejects.toMatchObject({ name: 'not-found', message: expect.stringContaining('module header') });
  });

  it('turns the kill switch on and off, and every module history shows it', async () => {
    await t.store.promote('cart', '1.0.0');
    await t.store.setKillSwitch(true);
    expect((await manifest()).killSwitch).toBe(true);
    expect((await t.store.status()).killSwitch).toBe(true);
    await t.store.setKillSwitch(false);
    const history = await t.store.history('cart');
    expect(history.map((e) => [e.verb, e.killSwitch])).toEqual([
      ['promote', undefined],
      ['kill-switch', { before: false, after: true }],
      ['kill-switch', { before: true, after: false }],
    ]);
  });
});

describe('rollback', () => {
  beforeEach(async () => {
    await t.store.promote('cart', '1.0.0');
    await t.store.promote('cart', '1.1.0');
  });

  it('with live rollouts ends them all and blocks their versions; stable stays', async () => {
    await t.store.rollout('cart', '1.2.0', 5);
    await t.store.rollout('cart', '2.0.0', 1);
    const result = await t.store.rollback('cart');
    expect(result.note).toBe('cart rolled back: cart@1.1.0 stays stable; ended rollouts: 1.2.0 (5%), 2.0.0 (1%); blocked: 1.2.0, 2.0.0');
    expect((await manifest()).modules.cart).toEqual({ stable: '1.1.0', rollouts: [], paused: false, blocked: ['1.2.0', '2.0.0'] });
    expect(Object.keys((await manifest()).releases)).toEqual(['cart@1.1.0']);
  });

  it('without rollouts returns to the previous stable and blocks the abandoned one, for good', async () => {
    await t.store.rollback('cart');
    expect((await manifest()).modules.cart).toMatchObject({ stable: '1.0.0', blocked: ['1.1.0'] });
    await expect(t.store.promote('cart', '1.1.0')).rejects.toMatchObject({
      name: 'blocked',
      message: expect.stringContaining('cart@1.1.0: was rolled back and is blocked'),
    });
    await expect(t.store.rollout('cart', '1.1.0', 1)).rejects.toThrow(/blocked/);
    await expect(t.store.rollback('cart', { to: '1.1.0' })).rejects.toThrow(/blocked/);
    await expect(t.store.rollback('cart')).rejects.toThrow(
      'cart: has no earlier stable version to roll back to than 1.0.0; name one with --to <version>',
    );
  });

  it('skips blocked versions when looking for the previous stable', async () => {
    await t.store.promote('cart', '1.2.0');
    await t.store.rollback('cart'); // 1.2.0 → 1.1.0
    await t.store.promote('cart', '2.0.0');
    await t.store.rollback('cart'); // 2.0.0 → 1.1.0
    await t.store.rollback('cart'); // 1.1.0 → 1.0.0 (1.2.0 is blocked)
    expect((await manifest()).modules.cart).toMatchObject({ stable: '1.0.0', blocked: ['1.2.0', '2.0.0', '1.1.0'] });
  });

  it('--to picks the target stable; the stable it leaves was not rolled out, so it is not blocked', async () => {
    await t.store.rollout('cart', '2.0.0', 50);
    const result = await t.store.rollback('cart', { to: '1.0.0' });
    expect(result.note).toBe('cart rolled back: cart@1.0.0 is stable (was 1.1.0); ended rollouts: 2.0.0 (50%); blocked: 2.0.0');
    expect((await manifest()).modules.cart).toMatchObject({ stable: '1.0.0', rollouts: [], blocked: ['2.0.0'] });
  });

  it('--to a live rollout makes it stable, blocks only the other live rollouts and keeps 0% (QA) ones', async () => {
    await t.release('cart', '2.1.0');
    await t.release('cart', '3.0.0');
    await t.store.rollout('cart', '2.0.0', 10);
    await t.store.rollout('cart', '2.1.0', 10);
    await t.store.rollout('cart', '3.0.0', 0);
    const result = await t.store.rollback('cart', { to: '2.1.0' });
    expect(result.note).toBe(
      'cart rolled back: cart@2.1.0 is stable (was 1.1.0); ended rollouts: 2.0.0 (10%), 2.1.0 (10%); ' +
        'blocked: 2.0.0; kept at 0% (QA only): 3.0.0',
    );
    expect((await manifest()).modules.cart).toMatchObject({
      stable: '2.1.0',
      rollouts: [{ version: '3.0.0', percent: 0 }],
      blocked: ['2.0.0'],
    });
  });

  it('unblock lifts a block deliberately, recorded in history; a version not blocked is refused', async () => {
    await t.store.rollback('cart'); // 1.1.0 is blocked
    await expect(t.store.unblock('cart', '1.0.0')).rejects.toThrow('cart@1.0.0: is not blocked (blocked: 1.1.0)');
    const result = await t.store.unblock('cart', '1.1.0');
    expect(result.note).toBe('cart@1.1.0 is no longer blocked; promote or roll it out to send it to clients again');
    expect((await manifest()).modules.cart!.blocked).toEqual([]);
    await t.store.promote('cart', '1.1.0');
    const last = (await t.store.history('cart')).slice(-2);
    expect(last.map((e) => [e.verb, e.args])).toEqual([
      ['unblock', { module: 'cart', version: '1.1.0' }],
      ['promote', { module: 'cart', version: '1.1.0' }],
    ]);
    expect(last[0]!.modules.cart).toMatchObject({ before: { blocked: ['1.1.0'] }, after: { blocked: [] } });
  });
});

describe('--requires ranges', () => {
  beforeEach(async () => {
    for (const v of ['1.0.0', '2.0.0']) await t.release('catalog', v);
    await t.store.promote('catalog', '1.0.0');
    await t.store.promote('cart', '1.0.0');
    await t.release('cart', '3.0.0', undefined, { catalog: '^2.0.0' });
  });

  it("refuses a change after which no live version meets a live version's range, naming both", async () => {
    await expect(t.store.rollout('cart', '3.0.0', 50)).rejects.toThrow(
      'tranche rollout: cart@3.0.0 requires catalog@^2.0.0, which no live version of catalog meets (live: 1.0.0): ' +
        'its clients would all fall back; make a version that meets it live first, or pass --allow-incompatible',
    );
    expect((await manifest()).modules.cart!.rollouts).toEqual([]);
    // Once a catalog that meets it is live, the rollout goes ahead; taking that catalog away is refused.
    await t.store.promote('catalog', '2.0.0');
    await t.store.rollout('cart', '3.0.0', 50);
    await expect(t.store.promote('catalog', '1.0.0')).rejects.toThrow(/cart@3\.0\.0 requires catalog@\^2\.0\.0/);
  });

  it('publishes with allowIncompatible, and a rollback, warning in the note', async () => {
    const forced = await t.store.rollout('cart', '3.0.0', 50, { allowIncompatible: true });
    expect(forced.note).toContain('warning: cart@3.0.0 requires catalog@^2.0.0, which no live version of catalog meets (live: 1.0.0)');
    // What was already published that way does not block an unrelated change.
    await t.store.pause('catalog');
    await t.store.resume('catalog');
    await t.store.promote('catalog', '2.0.0');
    await t.store.rollout('cart', '3.0.0', 60);
    expect((await t.store.rollback('catalog')).note).toContain('warning: cart@3.0.0 requires catalog@^2.0.0');
  });
});

describe('history', () => {
  it('records sequence, time, actor and each module before and after', async () => {
    await t.store.promote('cart', '1.0.0');
    await t.release('header', '1.0.0');
    await t.store.promote('header', '1.0.0');
    await t.store.rollout('cart', '1.1.0', 5);
    const cart = await t.store.history('cart');
    expect(cart.map((e) => e.sequence)).toEqual([1, 3]);
    expect(cart[1]).toMatchObject({
      actor: 'test',
      verb: 'rollout',
      args: { module: 'cart', version: '1.1.0', percent: 5 },
      time: (await manifest()).published,
      modules: { cart: { before: { stable: '1.0.0', rollouts: [] }, after: { rollouts: [{ version: '1.1.0', percent: 5, from: 0 }] } } },
    });
    expect((await t.store.history('header')).map((e) => e.verb)).toEqual(['promote']);
    expect(await t.store.history('footer')).toEqual([]);
  });
});

/**
 * What docs/bucketing.md promises, checked over many clients: ramps are monotone, other runs
 * never move, shares land within 3 sigma, modules are independent unless they share a seed.
 * Ids are deterministic (`user-<n>`), so a failure reproduces.
 */
import { describe, expect, it } from 'vitest';
import { assign, bucketOf, placeRollout, versionForBucket } from '../../src/core/bucketing.js';
import { parseManifest } from '../../src/core/validate.js';
import { releaseKey, type ModuleState } from '../../src/core/manifest.js';
import { validManifest } from '../support/documents.js';

const ids = (n: number) => Array.from({ length: n }, (_, i) => `user-${i}`);
const IDS_100K = ids(100_000);
const IDS_20K = IDS_100K.slice(0, 20_000);
const BUCKETS_20K = IDS_20K.map((id) => bucketOf('cart', id));

/** Applies `percent` to `version` with placeRollout and returns the new module state. */
function set(mod: ModuleState, version: string, percent: number): ModuleState {
  return { ...mod, rollouts: placeRollout('cart', mod, version, percent) };
}

/** Indices of the 20,000 clients that get `version`. */
function on(mod: ModuleState, version: string): Set<number> {
  const out = new Set<number>();
  BUCKETS_20K.forEach((b, i) => {
    if (versionForBucket(mod, b) === version) out.add(i);
  });
  return out;
}

const subset = (a: Set<number>, b: Set<number>) => [...a].every((x) => b.has(x));
const EMPTY: ModuleState = { stable: '1.0.0', rollouts: [], paused: false, blocked: [] };

describe('monotone ramps', () => {
  it('raising 1% → 5% → 25% → 50% → 100% never takes a client off the new version', () => {
    let mod = EMPTY;
    let before = new Set<number>();
    for (const percent of [1, 5, 25, 50, 100]) {
      mod = set(mod, '2.0.0', percent);
      const now = on(mod, '2.0.0');
      expect(subset(before, now)).toBe(true);
      expect(now.size).toBeGreaterThan(before.size);
      before = now;
    }
    expect(before.size).toBe(IDS_20K.length);
  });

  it('lowering removes the highest buckets of the run first, and only clients of that version', () => {
    let mod = set(EMPTY, '2.0.0', 100);
    let before = on(mod, '2.0.0');
    for (const percent of [50, 25, 5, 1, 0]) {
      mod = set(mod, '2.0.0', percent);
      const now = on(mod, '2.0.0');
      const removed = [...before].filter((i) => !now.has(i));
      expect(subset(now, before)).toBe(true);
      expect(removed.length).toBeGreaterThan(0);
      const highestKept = Math.max(-1, ...[...now].map((i) => BUCKETS_20K[i]!));
      expect(Math.min(...removed.map((i) => BUCKETS_20K[i]!))).toBeGreaterThan(highestKept);
      for (const i of removed) expect(versionForBucket(mod, BUCKETS_20K[i]!)).toBe('1.0.0');
      before = now;
    }
    expect(before.size).toBe(0);
  });

  it('changing one rollout never moves a client of another rollout', () => {
    let mod = set(set(set(EMPTY, '1.1.0', 10), '2.0.0', 5), '3.0.0', 1);
    const a = on(mod, '1.1.0');
    let c = on(mod, '3.0.0');
    for (const percent of [4, 0.5, 0, 5]) {
      mod = set(mod, '2.0.0', percent);
      expect(on(mod, '1.1.0')).toEqual(a);
      expect(on(mod, '3.0.0')).toEqual(c);
    }
    const b = on(mod, '2.0.0');
    mod = set(mod, '3.0.0', 20);
    c = on(mod, '3.0.0');
    mod = set(mod, '1.1.0', 2);
    expect(on(mod, '2.0.0')).toEqual(b);
    expect(on(mod, '3.0.0')).toEqual(c);
  });

  it('over 300 random placements, a change only moves buckets between stable and the changed version', () => {
    let seed = 0x5eed;
    const random = () => (seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32;
    const versions = ['2.0.0', '2.1.0', '2.2.0', '3.0.0'];
    const manifest = validManifest();
    for (const v of versions) manifest.releases[releaseKey('cart', v)] = { record: `records/cart/${v}.json`, sha256: 'c'.repeat(64) };
    let mod: ModuleState = { ...manifest.modules.cart!, rollouts: [], blocked: [] };
    let placed = 0;
    for (let step = 0; step < 300; step++) {
      const version = versions[Math.floor(random() * versions.length)]!;
      const percent = random() < 0.2 ? 0 : Math.round(random() * 4000) / 100;
      let next: ModuleState;
      try {
        next = set(mod, version, percent);
      } catch {
        continue;
      }
      placed++;
      manifest.modules.cart = next;
      expect(() => parseManifest(manifest)).not.toThrow();
      const old = mod.rollouts.find((r) => r.version === version);
      const wrong: string[] = [];
      for (let b = 0; b < 10_000; b++) {
        const [was, is] = [versionForBucket(mod, b), versionForBucket(next, b)];
        if (was === is) continue;
        const grew = was === mod.stable && is === version && (!old || percent > old.percent);
        const shrank = was === version && is === mod.stable && old && percent < old.percent && b >= old.from + Math.round(percent * 100);
        if (!grew && !shrank) wrong.push(`${version} at ${percent}%: bucket ${b} moved from ${was} to ${is}`);
      }
      expect(wrong).toEqual([]);
      mod = next;
    }
    expect(placed).toBeGreaterThan(100);
  });
});

describe('distribution and independence over 100,000 clients', () => {
  const cart = IDS_100K.map((id) => bucketOf('cart', id));

  it.each([0.01, 1, 25, 50])('%d% of clients land on the rollout within 3 sigma, wherever its run starts', (percent) => {
    const n = cart.length;
    const p = percent / 100;
    const sigma = Math.sqrt(n * p * (1 - p));
    for (const from of [0, 10_000 - Math.round(percent * 100)]) {
      const mod: ModuleState = { ...EMPTY, rollouts: [{ version: '2.0.0', percent, from }] };
      const count = cart.filter((b) => versionForBucket(mod, b) === '2.0.0').length;
      expect(Math.abs(count - n * p)).toBeLessThanOrEqual(3 * sigma);
    }
  });

  it.each([
    ['cart', 'checkout'],
    ['cart', 'cart2'],
    ['a', 'b'],
  ])('modules %s and %s are independent at 50% (|r| < 0.02)', (x, y) => {
    const inX = IDS_100K.map((id) => bucketOf(x, id) < 5_000);
    const inY = IDS_100K.map((id) => bucketOf(y, id) < 5_000);
    const n = inX.length;
    const nx = inX.filter(Boolean).length;
    const ny = inY.filter(Boolean).length;
    const nxy = inX.filter((m, i) => m && inY[i]).length;
    const r = (n * nxy - nx * ny) / Math.sqrt(nx * (n - nx) * ny * (n - ny));
    expect(Math.abs(r)).toBeLessThan(0.02);
  });

  it('modules with a shared seed get the same bucket, and so move together', () => {
    const mod = (version: string): ModuleState => ({ ...EMPTY, seed: 'shop', rollouts: [{ version, percent: 30, from: 0 }] });
    const modules = {
      checkout: mod('2.0.0'),
      payments: mod('9.0.0'),
      cart: { ...EMPTY, rollouts: [{ version: '2.0.0', percent: 30, from: 0 }] },
    };
    let sameBucket = 0;
    let together = 0;
    let cartWithCheckout = 0;
    for (const id of IDS_20K) {
      const got = assign({ modules }, id);
      if (got.payments!.bucket === got.checkout!.bucket) sameBucket++;
      if ((got.checkout!.version === '2.0.0') === (got.payments!.version === '9.0.0')) together++;
      if (got.checkout!.version === got.cart!.version) cartWithCheckout++;
    }
    expect([sameBucket, together]).toEqual([IDS_20K.length, IDS_20K.length]);
    expect(cartWithCheckout).toBeLessThan(IDS_20K.length * 0.7);
  });
});

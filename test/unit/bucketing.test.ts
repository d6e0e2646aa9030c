/**
 * Bucketing against test/vectors/bucketing.json (numbers from the reference MurmurHash3 C code,
 * not from src/core) and the placement rules of placeRollout. docs/bucketing.md is the spec.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assign, bucketOf, murmur3, placeRollout } from '../../src/core/bucketing.js';
import { parseManifest } from '../../src/core/validate.js';
import type { ModuleState, Rollout } from '../../src/core/manifest.js';
import { caught, validManifest } from '../support/documents.js';

interface Vectors {
  murmur3: Array<{ text?: string; hex: string; seed: number; hash: number }>;
  unleash: { text: string; hash: number; percentile: number };
  buckets: Array<{
    seed: string;
    clientId: string;
    utf8?: string;
    hash: number;
    bucket: number;
    pitfalls?: { charCodeAt: number; utf16le: number };
  }>;
  assignments: {
    modules: Record<string, ModuleState>;
    clients: Array<{ clientId: string; expected: Record<string, { version: string; bucket: number }> }>;
  };
}

const vectors: Vectors = JSON.parse(readFileSync(new URL('../vectors/bucketing.json', import.meta.url), 'utf8'));
const utf8 = (text: string) => new TextEncoder().encode(text);
const fromHex = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
const toHex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
/** What a port that hashes UTF-16 code units as `charCodeAt(i) & 0xff` feeds the hash. */
const codeUnits = (text: string) => Array.from({ length: text.length }, (_, i) => text.charCodeAt(i));
const charCodeBytes = (text: string) => Uint8Array.from(codeUnits(text), (u) => u & 0xff);
/** What a port that hashes the UTF-16LE code units feeds the hash. */
const utf16leBytes = (text: string) => Uint8Array.from(codeUnits(text).flatMap((u) => [u & 0xff, u >> 8]));

describe('murmur3: reference MurmurHash3_x86_32 vectors', () => {
  it.each(vectors.murmur3.map((v) => [v.text ?? `0x${v.hex.slice(0, 16)}${v.hex.length > 16 ? '…' : ''}`, v.seed, v]))(
    '%j with seed %d',
    (_label, _seed, v) => {
      expect(murmur3(fromHex(v.hex), v.seed)).toBe(v.hash);
      if (v.text !== undefined) expect(toHex(utf8(v.text))).toBe(v.hex);
    },
  );

  it('covers every tail length and the published edge cases', () => {
    const lengths = new Set(vectors.murmur3.map((v) => (v.hex.length / 2) % 4));
    expect([...lengths].sort()).toEqual([0, 1, 2, 3]);
    expect(vectors.murmur3.find((v) => v.text === 'hello' && v.seed === 0)?.hash).toBe(0x248bfa47);
    expect(vectors.murmur3.find((v) => v.hex === '' && v.seed === 1)?.hash).toBe(0x514e28b7);
  });

  it('reproduces the Unleash check value murmur3("gr1:123") % 100 + 1 = 73', () => {
    const hash = murmur3(utf8(vectors.unleash.text));
    expect(hash).toBe(vectors.unleash.hash);
    expect((hash % 100) + 1).toBe(vectors.unleash.percentile);
    expect(vectors.unleash.percentile).toBe(73);
  });
});

describe('bucketOf: `<seed>:<clientId>` as UTF-8, mod 10000', () => {
  it.each(
    vectors.buckets.map((v) => [
      v.seed,
      v.clientId.length > 24 ? `${v.clientId.slice(0, 24)}… (${v.clientId.length} chars)` : v.clientId,
      v,
    ]),
  )('seed %j, client %j', (_seed, _label, v) => {
    const bytes = utf8(`${v.seed}:${v.clientId}`);
    if (v.utf8 !== undefined) expect(toHex(bytes)).toBe(v.utf8);
    expect(murmur3(bytes)).toBe(v.hash);
    expect(v.bucket).toBe(v.hash % 10_000);
    expect(bucketOf(v.seed, v.clientId)).toBe(v.bucket);
  });

  it.each(vectors.buckets.filter((v) => v.pitfalls).map((v) => [v.clientId, v]))(
    'tells a UTF-8 port from a charCodeAt or UTF-16 port for %j',
    (_label, v) => {
      const text = `${v.seed}:${v.clientId}`;
      expect(murmur3(charCodeBytes(text)) % 10_000).toBe(v.pitfalls!.charCodeAt);
      expect(murmur3(utf16leBytes(text)) % 10_000).toBe(v.pitfalls!.utf16le);
      expect(v.bucket).not.toBe(v.pitfalls!.charCodeAt);
      expect(v.bucket).not.toBe(v.pitfalls!.utf16le);
    },
  );

  it('hashes ids as given: no Unicode normalisation, lone surrogates as U+FFFD', () => {
    expect(bucketOf('cart', 'Jos\u00e9')).not.toBe(bucketOf('cart', 'Jose\u0301'));
    expect(bucketOf('cart', '\ud800')).toBe(bucketOf('cart', '\ufffd'));
  });
});

describe('assign: which version a client gets', () => {
  it.each(vectors.assignments.clients.map((c) => [c.clientId, c]))('client %j', (_id, c) => {
    expect(assign(vectors.assignments, c.clientId)).toEqual(c.expected);
  });

  it('the vectors reach both ends of every run and the stable buckets next to them', () => {
    const cart = vectors.assignments.clients.map((c) => c.expected.cart!.bucket);
    expect(cart).toEqual(expect.arrayContaining([0, 999, 1000, 1249, 1250, 9999]));
    expect(vectors.assignments.clients.some((c) => c.expected.payments!.version === '1.0.0')).toBe(true);
  });
});

describe('placeRollout', () => {
  const mod = (...rollouts: Array<[string, number, number]>): Pick<ModuleState, 'rollouts'> => ({
    rollouts: rollouts.map(([version, percent, from]): Rollout => ({ version, percent, from })),
  });

  it('starts the first rollout at bucket 0', () => {
    expect(placeRollout('cart', mod(), '2.0.0', 0.01)).toEqual([{ version: '2.0.0', percent: 0.01, from: 0 }]);
  });

  it('puts a new rollout halfway along the largest free gap, so the run below it can still grow', () => {
    expect(placeRollout('cart', mod(['1.1.0', 10, 2000]), '2.0.0', 5)).toEqual([
      { version: '1.1.0', percent: 10, from: 2000 },
      { version: '2.0.0', percent: 5, from: 6500 },
    ]);
    // The mid-ramp case: a second canary leaves the first room to pass 50%.
    const [first, second] = placeRollout('cart', mod(['2.0.0', 5, 0]), '2.1.0-beta.1', 0.01);
    expect(second).toEqual({ version: '2.1.0-beta.1', percent: 0.01, from: 5250 });
    expect(placeRollout('cart', { rollouts: [first!, second!] }, '2.0.0', 52.5)[0]).toEqual({ version: '2.0.0', percent: 52.5, from: 0 });
  });

  it('uses a gap that starts at bucket 0 from its start, and a smaller gap when only that one fits', () => {
    const rollouts = mod(['1.1.0', 10, 0], ['1.2.0', 20, 5000]);
    expect(placeRollout('cart', mod(['1.1.0', 10, 9000]), '2.0.0', 30).at(-1)).toEqual({ version: '2.0.0', percent: 30, from: 0 });
    expect(placeRollout('cart', rollouts, '2.0.0', 40).at(-1)).toEqual({ version: '2.0.0', percent: 40, from: 1000 });
    expect(placeRollout('cart', rollouts, '2.0.0', 30).at(-1)).toEqual({ version: '2.0.0', percent: 30, from: 2000 });
    expect(placeRollout('cart', mod(['1.1.0', 10, 0], ['1.2.0', 65, 3500]), '2.0.0', 20).at(-1)).toEqual({
      version: '2.0.0',
      percent: 20,
      from: 1500,
    });
  });

  it("keeps an existing run's first bucket and its place in the list when it grows or shrinks", () => {
    const rollouts = mod(['1.1.0', 10, 0], ['2.0.0', 5, 1000], ['2.1.0', 1, 9000]);
    for (const percent of [20, 0.01, 0]) {
      expect(placeRollout('cart', rollouts, '2.0.0', percent)).toEqual([
        { version: '1.1.0', percent: 10, from: 0 },
        { version: '2.0.0', percent, from: 1000 },
        { version: '2.1.0', percent: 1, from: 9000 },
      ]);
    }
  });

  it('refuses to grow into a neighbour, naming it and the room left', async () => {
    const err = await caught(() => placeRollout('cart', mod(['1.1.0', 10, 0], ['2.0.0', 30, 1000]), '1.1.0', 15));
    expect(err.name).toBe('no-room');
    expect(err.message).toBe(
      'cart@1.1.0: can grow to at most 10% while cart@2.0.0 holds buckets from 1000; promote or roll back one first',
    );
  });

  it('refuses to grow past bucket 9999', async () => {
    const err = await caught(() => placeRollout('cart', mod(['1.1.0', 10, 0], ['2.0.0', 50, 5000]), '2.0.0', 60));
    expect(err.message).toBe('cart@2.0.0: can grow to at most 50% while the bucket space ends; promote or roll back one first');
  });

  it('refuses a new rollout when no free run is large enough', async () => {
    const err = await caught(() => placeRollout('cart', mod(['1.1.0', 50, 0], ['1.2.0', 10, 6000]), '3.0.0', 45));
    expect(err.name).toBe('no-room');
    expect(err.message).toBe(
      'cart@3.0.0: no free run of 45% of buckets is left beside the other rollouts (1.1.0 at 50%, 1.2.0 at 10%); ' +
        'make room first: tranche promote cart@1.1.0 (ends its rollout) or tranche rollback cart (ends them all)',
    );
  });

  it('places a 0% rollout inside the bucket space even when the other runs fill it', () => {
    const manifest = validManifest();
    manifest.modules.cart!.rollouts = [{ version: '2.0.0', percent: 100, from: 0 }];
    manifest.modules.cart!.rollouts = placeRollout('cart', manifest.modules.cart!, '2.1.0-beta.1', 0);
    expect(manifest.modules.cart!.rollouts[1]!.from).toBeLessThan(10_000);
    expect(parseManifest(manifest).modules.cart!.rollouts).toHaveLength(2);
  });
});

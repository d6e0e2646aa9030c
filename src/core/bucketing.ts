/**
 * Cohort bucketing, byte-exact as docs/bucketing.md specifies:
 * bucket = MurmurHash3_x86_32(UTF-8 bytes of `<seed>:<clientId>`, seed 0) mod 10000.
 * Each live rollout owns a fixed run of buckets [from, from + percent*100); a client whose
 * bucket is in no run gets the stable version. Runs never move, so raising a percentage only
 * adds clients to that version and lowering it removes the highest buckets first.
 */
import { TrancheError } from './TrancheError.js';
import { BUCKETS, percentToBuckets, type Manifest, type ModuleState, type Rollout } from './manifest.js';

const encoder = new TextEncoder();

/** MurmurHash3 x86_32 of the first `length` of `bytes` (unsigned 32-bit result). */
export function murmur3(bytes: Uint8Array, seed = 0, length = bytes.length): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const tail = length & ~3;
  for (let i = 0; i < tail; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  switch (length & 3) {
    case 3:
      k ^= bytes[tail + 2]! << 16; // falls through
    case 2:
      k ^= bytes[tail + 1]! << 8; // falls through
    case 1:
      k ^= bytes[tail]!;
      k = Math.imul(k, c1);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, c2);
      h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The seed a module hashes with: its own name unless the manifest groups it under a shared seed. */
export function moduleSeed(name: string, mod: Pick<ModuleState, 'seed'>): string {
  return mod.seed ?? name;
}

/**
 * Where `bucketOf` encodes its input: reused, because allocating a buffer per call was half the
 * cost of assigning a client every module of a large manifest (`npm run bench`).
 */
let scratch = new Uint8Array(256);

/** The client's bucket (0..9999) under `seed`. */
export function bucketOf(seed: string, clientId: string): number {
  const text = `${seed}:${clientId}`;
  // UTF-8 takes at most 3 bytes per UTF-16 code unit.
  if (scratch.length < text.length * 3) scratch = new Uint8Array(text.length * 3);
  const { written } = encoder.encodeInto(text, scratch);
  return murmur3(scratch, 0, written) % BUCKETS;
}

/** The version a client in `bucket` gets: the rollout whose run holds the bucket, else stable. */
export function versionForBucket(mod: Pick<ModuleState, 'stable' | 'rollouts'>, bucket: number): string {
  for (const r of mod.rollouts) {
    if (bucket >= r.from && bucket < r.from + percentToBuckets(r.percent)) return r.version;
  }
  return mod.stable;
}

/** Every module's version for `clientId` under `manifest`, with the bucket that decided it. */
export function assign(manifest: Pick<Manifest, 'modules'>, clientId: string): Record<string, { version: string; bucket: number }> {
  const out: Record<string, { version: string; bucket: number }> = {};
  for (const [name, mod] of Object.entries(manifest.modules)) {
    const bucket = bucketOf(moduleSeed(name, mod), clientId);
    out[name] = { version: versionForBucket(mod, bucket), bucket };
  }
  return out;
}

/**
 * The module's rollouts after setting `version` to `percent`. An existing rollout keeps its
 * first bucket and grows or shrinks at its end; a new one is placed after the highest run, or
 * in the largest free gap (see placeNew). Fails, naming the neighbour, when the run would overlap another.
 */
export function placeRollout(moduleName: string, mod: Pick<ModuleState, 'rollouts'>, version: string, percent: number): Rollout[] {
  const size = percentToBuckets(percent);
  const others = mod.rollouts.filter((r) => r.version !== version).sort((a, b) => a.from - b.from);
  const existing = mod.rollouts.find((r) => r.version === version);
  // `from < BUCKETS` too: a 0% run placed after a run that ends at 10000 would start past the last bucket.
  const fits = (from: number) =>
    from < BUCKETS && from + size <= BUCKETS && others.every((o) => from + size <= o.from || from >= o.from + percentToBuckets(o.percent));
  let from: number | undefined;
  if (existing) {
    if (fits(existing.from)) from = existing.from;
    else {
      const next = others.find((o) => o.from >= existing.from);
      const room = (next ? next.from : BUCKETS) - existing.from;
      throw new TrancheError('no-room', {
        what: `${moduleName}@${version}`,
        reason:
          `can grow to at most ${room / 100}% while ` +
          `${next ? `${moduleName}@${next.version} holds buckets from ${next.from}` : 'the bucket space ends'}; ` +
          'promote or roll back one first',
      });
    }
  } else {
    from = placeNew(others, size);
    if (from === undefined) {
      throw new TrancheError('no-room', {
        what: `${moduleName}@${version}`,
        reason:
          `no free run of ${percent}% of buckets is left beside the other rollouts ` +
          `(${others.map((o) => `${o.version} at ${o.percent}%`).join(', ')}); ` +
          `make room first: tranche promote ${moduleName}@${largest(others).version} (ends its rollout) ` +
          `or tranche rollback ${moduleName} (ends them all)`,
      });
    }
  }
  const next = { version, percent, from };
  return existing ? mod.rollouts.map((r) => (r.version === version ? next : r)) : [...mod.rollouts, next];
}

/** The rollout holding the most buckets. */
function largest(rollouts: readonly Rollout[]): Rollout {
  return rollouts.reduce((a, b) => (b.percent > a.percent ? b : a));
}

/**
 * Where a new run of `size` buckets starts, or undefined when no gap holds it. It goes into the
 * largest free gap: at the gap's start when no run lies below (bucket 0 for a first rollout), else
 * halfway along, so that the run below and the new run can both still grow into the gap.
 */
function placeNew(sortedOthers: readonly Rollout[], size: number): number | undefined {
  let best: { start: number; end: number } | undefined;
  let start = 0;
  for (const gapEnd of [...sortedOthers.map((o) => o.from), BUCKETS]) {
    if (gapEnd - start >= size && start < BUCKETS && (!best || gapEnd - start > best.end - best.start)) best = { start, end: gapEnd };
    const run = sortedOthers.find((o) => o.from === gapEnd);
    if (run) start = Math.max(start, run.from + percentToBuckets(run.percent));
  }
  if (!best) return undefined;
  if (best.start === 0) return 0;
  return Math.min(best.start + Math.floor((best.end - best.start) / 2), best.end - size);
}

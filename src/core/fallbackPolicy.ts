/**
 * When a module version has failed on this client, and what replaces it (docs/fallback.md).
 * Pure logic: the service worker feeds it page loads, error batches and the clock, and persists
 * what it decides (bad marks) in IndexedDB; unit tests drive it with plain numbers.
 */
import { TrancheError } from './TrancheError.js';
import { optionProblem } from './optionProblem.js';
import { releaseKey } from './names.js';
import type { ModuleRef } from './attribution.js';
import type { BadVersion, ErrorEntry, FallbackReason } from './clientMessages.js';

/** Thresholds of the fallback policy. Every field is optional. */
export interface FallbackPolicyOptions {
  /**
   * How long a page running a version new to this client has to call `ready()`.
   * @default 10000 (10 seconds)
   */
  bootTimeoutMs?: number;
  /**
   * Attributed runtime errors (after `ready()`) within `runtimeWindowMs` that fail a version.
   * @default 3
   */
  runtimeErrors?: number;
  /**
   * The sliding window `runtimeErrors` are counted in.
   * @default 60000 (60 seconds)
   */
  runtimeWindowMs?: number;
  /**
   * How long a failed version is not offered again, unless the manifest assigns this client
   * another version of the module first. A version that fails again after that is quarantined
   * twice as long each time (at most 30 days, see `MAX_QUARANTINE_MS`).
   * @default 86400000 (24 hours)
   */
  retryAfterMs?: number;
}

/** The policy's thresholds with every default applied. */
export type ResolvedFallbackPolicy = Required<FallbackPolicyOptions>;

/** One page load as the worker tracks it: the snapshot it runs and whether it called `ready()`. */
export interface PageLoad {
  /** The snapshot's nonce (`Snapshot.id`). */
  nonce: string;
  /** Module name -> version the page runs. */
  modules: Record<string, string>;
  /** When the page load was served (epoch ms). */
  started: number;
  /** When its `ready()` arrived (epoch ms), null until then. */
  ready: number | null;
}

/** A decision that module@version failed, and why. */
export interface Failure extends ModuleRef {
  reason: FallbackReason;
}

/** A version kept in this client's cache, and when it last booted healthily here (null: never). */
export interface CachedVersion {
  version: string;
  healthyAt: number | null;
}

/** The longest quarantine repeated failures lead to (unless `retryAfterMs` itself is longer): 30 days. */
const MAX_QUARANTINE_MS = 30 * 86_400_000;

const DEFAULTS: ResolvedFallbackPolicy = {
  bootTimeoutMs: 10_000,
  runtimeErrors: 3,
  runtimeWindowMs: 60_000,
  retryAfterMs: 86_400_000,
};

/** Checks the thresholds and fills in defaults. */
export function resolveFallbackPolicy(options: FallbackPolicyOptions = {}): ResolvedFallbackPolicy {
  const resolved = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as (keyof ResolvedFallbackPolicy)[]) {
    const value = options[key] ?? DEFAULTS[key];
    const min = key === 'runtimeErrors' ? 1 : 0;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      throw new TrancheError('invalid-option', {
        where: 'installTranche()',
        problems: [optionProblem(`fallback.${key}`, `an integer >= ${min}`, value)],
      });
    }
    resolved[key] = value;
  }
  return resolved;
}

/**
 * The fallback policy of one client. Holds only the recent runtime-error times per version (in
 * memory: a worker restart forgets them, which can delay a runtime fallback but never cause a
 * wrong one); bad marks and healthy boots are the caller's to persist.
 */
export class FallbackPolicy {
  readonly options: ResolvedFallbackPolicy;
  /** releaseKey -> times of its latest runtime errors, oldest first, at most `runtimeErrors` long. */
  private readonly _recent = new Map<string, number[]>();

  constructor(options: FallbackPolicyOptions = {}) {
    this.options = resolveFallbackPolicy(options);
  }

  /**
   * The failures one batch of error reports from `page` proves. Unattributed entries and entries
   * naming a version the page does not run blame nothing; versions `isBad` already are skipped.
   * A boot error, a failed chunk load or a fatal error fails its version at once; runtime errors fail it when
   * `runtimeErrors` of them fall within `runtimeWindowMs`. Each version fails at most once.
   */
  judgeReports(page: PageLoad, entries: readonly ErrorEntry[], now: number, isBad: (ref: ModuleRef) => boolean): Failure[] {
    const failures = new Map<string, Failure>();
    for (const entry of entries) {
      if (entry.module === null || entry.version === null) continue;
      if (page.modules[entry.module] !== entry.version) continue;
      const ref = { module: entry.module, version: entry.version };
      const key = releaseKey(ref.module, ref.version);
      if (failures.has(key) || isBad(ref)) continue;
      const reason = this._reasonOf(key, entry, now);
      if (reason) {
        failures.set(key, { ...ref, reason });
        this._recent.delete(key);
      }
    }
    return [...failures.values()];
  }

  private _reasonOf(key: string, entry: ErrorEntry, now: number): FallbackReason | null {
    if (entry.kind === 'boot') return 'boot-error';
    // The worker serves chunks from verified storage: one that fails to load will fail again.
    if (entry.kind === 'chunk-load') return 'chunk-load';
    // The page is left without the module's UI: it booted, but it is gone as surely as if it had not.
    if (entry.kind === 'fatal') return 'fatal-error';
    const { runtimeErrors, runtimeWindowMs } = this.options;
    const times = this._recent.get(key) ?? [];
    for (let i = 0; i < Math.min(entry.count, runtimeErrors); i++) times.push(now);
    times.splice(0, Math.max(0, times.length - runtimeErrors));
    this._recent.set(key, times);
    return times.length >= runtimeErrors && now - times[0]! < runtimeWindowMs ? 'runtime-errors' : null;
  }

  /** When `page` must have called `ready()` (epoch ms). */
  bootDeadline(page: PageLoad): number {
    return page.started + this.options.bootTimeoutMs;
  }

  /**
   * Boot-timeout failures of `page` at `now`: when it has not called `ready()` by its deadline,
   * every version it runs that never booted healthily on this client (`isProven` false) and is
   * not bad yet. Only call this for a page that is still open: a user who leaves a page before
   * it is ready proves nothing.
   */
  judgeBoot(page: PageLoad, now: number, isProven: (ref: ModuleRef) => boolean, isBad: (ref: ModuleRef) => boolean): Failure[] {
    if (page.ready !== null || now < this.bootDeadline(page)) return [];
    return Object.entries(page.modules)
      .map(([module, version]) => ({ module, version }))
      .filter((ref) => !isProven(ref) && !isBad(ref))
      .map((ref) => ({ ...ref, reason: 'boot-timeout' as const }));
  }

  /**
   * Whether `mark` still keeps its version from being offered: until the manifest assigns this
   * client a different version of the module than when it failed, or its quarantine passed.
   */
  isInForce(mark: BadVersion, assigned: string | null, now: number): boolean {
    return assigned === mark.assigned && now - mark.at < this.quarantineMs(mark);
  }

  /**
   * How long `mark` keeps its version away: `retryAfterMs` for a first failure, doubling with
   * each strike, at most `MAX_QUARANTINE_MS` (or `retryAfterMs` when that is longer).
   */
  quarantineMs(mark: BadVersion): number {
    const { retryAfterMs } = this.options;
    const doublings = Math.min((mark.strikes ?? 1) - 1, 30);
    return Math.min(retryAfterMs * 2 ** doublings, Math.max(retryAfterMs, MAX_QUARANTINE_MS));
  }

  /**
   * Whether a mark, in force or not, is still remembered at `now`: a version that fails again
   * while it is gets the next, longer quarantine. One that then ran as long again as its last
   * quarantine without failing (or was never offered again) is forgiven: the mark can go.
   */
  remembers(mark: BadVersion, now: number): boolean {
    return now - mark.at < 2 * this.quarantineMs(mark);
  }

  /**
   * The bad mark for `failure` at `now`, while the manifest assigns `assigned`: one strike more
   * than the version's `earlier` mark when that is still remembered, else a first strike.
   */
  markBad(failure: Failure, now: number, assigned: string | null, earlier: BadVersion | null): BadVersion {
    const strikes = earlier && this.remembers(earlier, now) ? (earlier.strikes ?? 1) + 1 : 1;
    return { module: failure.module, version: failure.version, reason: failure.reason, at: now, assigned, strikes };
  }
}

/**
 * What replaces `failed`: the cached version that most recently booted healthily here (never a
 * bad one), else the manifest's `stable` when it is neither the failed version nor bad. Null
 * when nothing qualifies: the module then stays on what it has, and pages are not reloaded.
 */
export function chooseFallback(
  failed: string,
  cached: readonly CachedVersion[],
  stable: string | null,
  isBad: (version: string) => boolean,
): string | null {
  let best: CachedVersion | null = null;
  for (const candidate of cached) {
    if (candidate.healthyAt === null || candidate.version === failed || isBad(candidate.version)) continue;
    if (best === null || candidate.healthyAt > best.healthyAt!) best = candidate;
  }
  if (best) return best.version;
  if (stable !== null && stable !== failed && !isBad(stable)) return stable;
  return null;
}

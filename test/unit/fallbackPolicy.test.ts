import { describe, expect, it } from 'vitest';
import type { BadVersion } from '../../src/core/clientMessages.js';
import { FallbackPolicy, chooseFallback, resolveFallbackPolicy, type PageLoad } from '../../src/core/fallbackPolicy.js';
import type { ErrorEntry } from '../../src/core/clientMessages.js';
import type { ModuleRef } from '../../src/core/attribution.js';

const page: PageLoad = { nonce: 'n1', modules: { cart: '2.0.0', header: '1.0.0' }, started: 1_000, ready: null };
const entry = (kind: ErrorEntry['kind'], count = 1, module: string | null = 'cart', version: string | null = '2.0.0'): ErrorEntry => ({
  module,
  version,
  kind,
  count,
  samples: [],
});
const none = () => false;

describe('resolveFallbackPolicy', () => {
  it('fills in the documented defaults', () => {
    expect(resolveFallbackPolicy()).toEqual({ bootTimeoutMs: 10_000, runtimeErrors: 3, runtimeWindowMs: 60_000, retryAfterMs: 86_400_000 });
    expect(resolveFallbackPolicy({ runtimeErrors: 5 }).runtimeErrors).toBe(5);
  });

  it('names the option that is unusable', () => {
    expect(() => resolveFallbackPolicy({ runtimeErrors: 0 })).toThrow(
      expect.objectContaining({ name: 'invalid-option', message: expect.stringContaining('fallback.runtimeErrors') }),
    );
    expect(() => resolveFallbackPolicy({ bootTimeoutMs: -1 })).toThrow(/fallback\.bootTimeoutMs: expected an integer >= 0, got -1/);
    expect(() => resolveFallbackPolicy({ runtimeWindowMs: '60s' as never })).toThrow(/fallback\.runtimeWindowMs/);
  });
});

describe('FallbackPolicy.judgeReports', () => {
  it('fails a version on one boot error, one failed chunk load or one fatal error', () => {
    expect(new FallbackPolicy().judgeReports(page, [entry('boot')], 2_000, none)).toEqual([
      { module: 'cart', version: '2.0.0', reason: 'boot-error' },
    ]);
    expect(new FallbackPolicy().judgeReports(page, [entry('chunk-load', 1, 'header', '1.0.0')], 2_000, none)).toEqual([
      { module: 'header', version: '1.0.0', reason: 'chunk-load' },
    ]);
    // After ready(): one error that unmounted the module's UI is enough, unlike runtime errors.
    expect(new FallbackPolicy().judgeReports(page, [entry('fatal')], 2_000, none)).toEqual([
      { module: 'cart', version: '2.0.0', reason: 'fatal-error' },
    ]);
  });

  it('fails a version on the third runtime error within 60 s, not before', () => {
    const policy = new FallbackPolicy();
    expect(policy.judgeReports(page, [entry('runtime')], 10_000, none)).toEqual([]);
    expect(policy.judgeReports(page, [entry('runtime')], 20_000, none)).toEqual([]);
    expect(policy.judgeReports(page, [entry('runtime')], 30_000, none)).toEqual([
      { module: 'cart', version: '2.0.0', reason: 'runtime-errors' },
    ]);
  });

  it('lets errors older than the window expire', () => {
    const policy = new FallbackPolicy();
    policy.judgeReports(page, [entry('runtime', 2)], 0, none);
    // At 60 s the two errors of t=0 have left the window: three errors, but never three within 60 s.
    expect(policy.judgeReports(page, [entry('runtime')], 60_000, none)).toEqual([]);
    expect(policy.judgeReports(page, [entry('runtime')], 60_001, none)).toEqual([]);
    expect(policy.judgeReports(page, [entry('runtime')], 60_002, none)).toEqual([
      { module: 'cart', version: '2.0.0', reason: 'runtime-errors' },
    ]);
  });

  it('counts a batched entry as its count of errors, in any page of the client', () => {
    const policy = new FallbackPolicy({ runtimeErrors: 5 });
    expect(policy.judgeReports(page, [entry('runtime', 4)], 0, none)).toEqual([]);
    const otherTab = { ...page, nonce: 'n2' };
    expect(policy.judgeReports(otherTab, [entry('runtime', 1)], 1, none)).toHaveLength(1);
    expect(new FallbackPolicy().judgeReports(page, [entry('runtime', 10_000)], 0, none)).toHaveLength(1);
  });

  it('never blames a module for unattributed errors, whatever their number', () => {
    const policy = new FallbackPolicy();
    expect(
      policy.judgeReports(
        page,
        [entry('boot', 50, null, null), entry('runtime', 10_000, null, null), entry('chunk-load', 9, null, null)],
        0,
        none,
      ),
    ).toEqual([]);
  });

  it('ignores reports naming a version the reporting page does not run', () => {
    const policy = new FallbackPolicy();
    expect(policy.judgeReports(page, [entry('boot', 1, 'cart', '1.0.0'), entry('boot', 1, 'search', '1.0.0')], 0, none)).toEqual([]);
  });

  it('fails each version once, skipping versions already bad', () => {
    const policy = new FallbackPolicy();
    const failures = policy.judgeReports(page, [entry('boot'), entry('chunk-load'), entry('runtime', 5)], 0, none);
    expect(failures).toEqual([{ module: 'cart', version: '2.0.0', reason: 'boot-error' }]);
    const bad = (ref: ModuleRef) => ref.module === 'cart';
    expect(policy.judgeReports(page, [entry('boot'), entry('boot', 1, 'header', '1.0.0')], 1, bad)).toEqual([
      { module: 'header', version: '1.0.0', reason: 'boot-error' },
    ]);
  });

  it('starts counting afresh for a version that failed and is retried later', () => {
    const policy = new FallbackPolicy();
    expect(policy.judgeReports(page, [entry('runtime', 3)], 0, none)).toHaveLength(1);
    expect(policy.judgeReports(page, [entry('runtime', 2)], 100_000_000, none)).toEqual([]);
  });
});

describe('FallbackPolicy.judgeBoot', () => {
  const policy = new FallbackPolicy();
  const provenHeader = (ref: ModuleRef) => ref.module === 'header';

  it('fails the versions new to this client when ready() is late', () => {
    expect(policy.bootDeadline(page)).toBe(11_000);
    expect(policy.judgeBoot(page, 10_999, provenHeader, none)).toEqual([]);
    expect(policy.judgeBoot(page, 11_000, provenHeader, none)).toEqual([{ module: 'cart', version: '2.0.0', reason: 'boot-timeout' }]);
  });

  it('does not fail a page that called ready(), nor versions already bad', () => {
    expect(policy.judgeBoot({ ...page, ready: 5_000 }, 60_000, none, none)).toEqual([]);
    expect(policy.judgeBoot(page, 60_000, provenHeader, (ref) => ref.module === 'cart')).toEqual([]);
  });

  it('honours a configured boot timeout', () => {
    expect(new FallbackPolicy({ bootTimeoutMs: 30_000 }).judgeBoot(page, 20_000, none, none)).toEqual([]);
  });
});

describe('FallbackPolicy.isInForce', () => {
  const policy = new FallbackPolicy();
  const mark: BadVersion = { module: 'cart', version: '2.0.0', reason: 'boot-error', at: 0, assigned: '2.0.0' };

  it('holds while the manifest assigns what it assigned at the failure, for 24 hours', () => {
    expect(policy.isInForce(mark, '2.0.0', 86_399_999)).toBe(true);
    expect(policy.isInForce(mark, '2.0.0', 86_400_000)).toBe(false);
  });

  it('lapses as soon as the manifest assigns a different version of the module', () => {
    expect(policy.isInForce(mark, '2.0.1', 1)).toBe(false);
    expect(policy.isInForce(mark, null, 1)).toBe(false);
  });

  it('keeps a failed fallback marked while the manifest still assigns the version that failed first', () => {
    const fallbackMark: BadVersion = { ...mark, version: '1.0.0', reason: 'runtime-errors' };
    expect(policy.isInForce(fallbackMark, '2.0.0', 1)).toBe(true);
  });
});

describe('FallbackPolicy quarantine', () => {
  const policy = new FallbackPolicy();
  const DAY = 86_400_000;
  const failure = { module: 'cart', version: '2.0.0', reason: 'boot-error' as const };

  it('doubles for each failure after the previous mark ran out, up to 30 days', () => {
    let mark = policy.markBad(failure, 0, '2.0.0', null);
    const lengths: number[] = [];
    for (let i = 0; i < 7; i++) {
      lengths.push(policy.quarantineMs(mark) / DAY);
      const lapsed = mark.at + policy.quarantineMs(mark);
      expect(policy.isInForce(mark, '2.0.0', lapsed - 1)).toBe(true);
      expect(policy.isInForce(mark, '2.0.0', lapsed)).toBe(false);
      mark = policy.markBad(failure, lapsed + 1000, '2.0.0', mark);
    }
    expect(lengths).toEqual([1, 2, 4, 8, 16, 30, 30]);
  });

  it('forgives a version that ran as long again as its last quarantine without failing', () => {
    const second = policy.markBad(failure, 10 * DAY, '2.0.0', policy.markBad(failure, 0, '2.0.0', null));
    expect(second.strikes).toBe(1); // 10 days after a 1-day quarantine: a first failure again
    const third = policy.markBad(failure, 1.5 * DAY, '2.0.0', policy.markBad(failure, 0, '2.0.0', null));
    expect(third.strikes).toBe(2);
    expect(policy.remembers(third, 1.5 * DAY + 4 * DAY - 1)).toBe(true);
    expect(policy.remembers(third, 1.5 * DAY + 4 * DAY)).toBe(false);
  });

  it('reads a mark stored without strikes as a first failure', () => {
    expect(policy.quarantineMs({ ...failure, at: 0, assigned: '2.0.0' })).toBe(DAY);
  });
});

describe('chooseFallback', () => {
  const cached = [
    { version: '1.0.0', healthyAt: 100 },
    { version: '1.1.0', healthyAt: 500 },
    { version: '1.2.0', healthyAt: null },
    { version: '2.0.0', healthyAt: 900 },
  ];

  it('picks the cached version that booted healthily most recently', () => {
    expect(chooseFallback('2.0.0', cached, '1.0.0', none)).toBe('1.1.0');
  });

  it('skips bad versions, then falls back to the stable version', () => {
    expect(chooseFallback('2.0.0', cached, '1.0.0', (v) => v === '1.1.0')).toBe('1.0.0');
    expect(chooseFallback('2.0.0', [], '1.0.0', none)).toBe('1.0.0');
  });

  it('has no fallback when the failed version is the only candidate', () => {
    expect(chooseFallback('1.0.0', [{ version: '1.0.0', healthyAt: 5 }], '1.0.0', none)).toBeNull();
    expect(chooseFallback('1.0.0', [], '2.0.0', (v) => v === '2.0.0')).toBeNull();
  });
});

/**
 * Time in the worker, which neither the device clock nor the browser's timers make simple
 * (docs/service-worker.md, "Clocks and timers"):
 *
 * - browsers run a timer whose delay is above 2^31−1 ms (24.8 days) at once, so every delay the
 *   worker asks for is clamped to that (sw/browserAdapter.ts);
 * - the device clock jumps (set by hand, a dead battery, a VM resumed): a time the worker stored
 *   as a schedule ("retry at", "failed at", "pinned at") can end up far from now in either
 *   direction. One planned at most `maxAhead` after it was stored but found further ahead was
 *   stored under a clock that ran ahead: it is read as now, never as a schedule to wait for.
 */

/** The longest delay a browser timer honours (2^31−1 ms, 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** `ms` as a delay every browser honours: 0..MAX_TIMER_MS (NaN: 0). */
export function timerDelay(ms: number): number {
  return ms > 0 ? Math.min(ms, MAX_TIMER_MS) : 0;
}

/**
 * A stored time `at` that can lie at most `maxAhead` after the moment it was stored, read at
 * `now`: `at` itself, unless it is further ahead than that, which only a clock that ran ahead
 * (or was set back since) explains; then `now`.
 */
export function unskewed(at: number, now: number, maxAhead: number): number {
  return at - now > maxAhead ? now : at;
}

/**
 * Whether a worker whose manifest was last confirmed at `confirmed` (undefined: no manifest yet)
 * still answers from its stored versions at `now`: within `maxAgeMs` of it. A confirmation "in
 * the future" is clock skew and counts as now.
 */
export function servesWithin(confirmed: number | undefined, now: number, maxAgeMs: number): boolean {
  return confirmed === undefined || now - unskewed(confirmed, now, 0) <= maxAgeMs;
}

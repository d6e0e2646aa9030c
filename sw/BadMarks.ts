/**
 * The versions that failed on this client (bad marks, docs/fallback.md), in memory over the
 * database's `bad` store. Built before Modules and Fallback, which both read it; only Fallback
 * adds marks. Whether a mark still holds a version back is the pure policy's `isInForce`.
 */
import type { BadVersion } from '../src/core/clientMessages.js';
import type { FallbackPolicy } from '../src/core/fallbackPolicy.js';
import { releaseKey } from '../src/core/manifest.js';
import type { Adapter } from './Adapter.js';
import { unskewed } from './clock.js';

/** Bad marks by module@version. */
export class BadMarks {
  private readonly _byKey = new Map<string, BadVersion>();
  /** Stored marks no longer remembered at start (`FallbackPolicy.remembers`): delete them. */
  readonly forgiven: readonly BadVersion[];

  constructor(
    readonly policy: FallbackPolicy,
    private readonly _adapter: Adapter,
    stored: readonly BadVersion[],
  ) {
    const now = _adapter.now();
    this.forgiven = stored.filter((mark) => !policy.remembers(mark, now));
    // A mark set "in the future" was set under a clock that ran ahead: it counts from now.
    for (const mark of stored) if (!this.forgiven.includes(mark)) this.add({ ...mark, at: unskewed(mark.at, now, 0) });
  }

  /** Whether module@version failed here and is still held back, given the version the module is assigned now. */
  holds(module: string, version: string, assigned: string | null): boolean {
    const mark = this._byKey.get(releaseKey(module, version));
    return !!mark && this.policy.isInForce(mark, assigned, this._adapter.now());
  }

  /** The mark of module@version, in force or not (an earlier failure counts towards the next quarantine), or null. */
  get(module: string, version: string): BadVersion | null {
    return this._byKey.get(releaseKey(module, version)) ?? null;
  }

  /** Every mark in memory, in force or not. */
  all(): BadVersion[] {
    return [...this._byKey.values()];
  }

  add(mark: BadVersion): void {
    this._byKey.set(releaseKey(mark.module, mark.version), mark);
  }
}

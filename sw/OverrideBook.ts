/**
 * QA overrides: which module versions this browser is forced onto, until when. Persisted, so
 * an override survives worker restarts for its whole lifetime.
 */
import { TrancheError } from '../src/core/TrancheError.js';
import type { Manifest } from '../src/core/manifest.js';
import { overrideProblem } from './assignment.js';
import type { Database, Overrides } from './Database.js';

/** The overrides in force, over their IndexedDB row. */
export class OverrideBook {
  constructor(
    private readonly _db: Database,
    private readonly _ttlMs: number,
    private _all: Overrides,
  ) {}

  /** Every stored override (expired ones are ignored where they are read). */
  get all(): Overrides {
    return this._all;
  }

  /** Those still in force at `now`. */
  live(now: number): Overrides {
    return Object.fromEntries(Object.entries(this._all).filter(([, o]) => o.expires > now));
  }

  /**
   * Forces module@version from `now` for the configured lifetime, or with `version` null
   * releases the module. Throws `override-refused` naming why the manifest does not allow it.
   */
  async set(manifest: Manifest | null, module: string, version: string | null, now: number): Promise<void> {
    const next = { ...this._all };
    if (version === null) delete next[module];
    else {
      const problem = overrideProblem(manifest, module, version);
      if (problem) throw new TrancheError('override-refused', { module, version, reason: problem });
      next[module] = { version, expires: now + this._ttlMs };
    }
    await this._save(next);
  }

  /** Releases every module. */
  clear(): Promise<void> {
    return this._save({});
  }

  private async _save(next: Overrides): Promise<void> {
    await this._db.setControl('overrides', next);
    this._all = next;
  }
}

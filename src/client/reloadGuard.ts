/**
 * The loop guard: at most one automatic reload per failed module version per tab, even when the
 * version it falls back to fails too (expo #44091's crash loops). Tab-scoped storage
 * (`sessionStorage`) outlives the reloads of a tab and nothing else.
 */
import { releaseKey } from '../core/names.js';
import type { ModuleRef } from '../core/attribution.js';

/** The part of `Storage` the guard uses. */
export interface TabStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

const KEY_PREFIX = 'tranche:auto-reload:';

/**
 * Claims this tab's one automatic reload for the failure of `ref`. False when it was claimed
 * before, or when the claim cannot be stored (no storage, quota, privacy mode): a reload that
 * cannot be remembered could repeat forever, so it is not done.
 */
export function claimReload(storage: TabStorage | null, ref: ModuleRef): boolean {
  if (storage === null) return false;
  const key = KEY_PREFIX + releaseKey(ref.module, ref.version);
  try {
    if (storage.getItem(key) !== null) return false;
    storage.setItem(key, String(Date.now()));
    return storage.getItem(key) !== null;
  } catch {
    return false;
  }
}

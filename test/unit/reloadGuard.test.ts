import { describe, expect, it } from 'vitest';
import { claimReload, type TabStorage } from '../../src/client/reloadGuard.js';

function memoryStorage(): TabStorage & { items: Map<string, string> } {
  const items = new Map<string, string>();
  return { items, getItem: (k) => items.get(k) ?? null, setItem: (k, v) => void items.set(k, v) };
}

describe('claimReload', () => {
  it('allows one automatic reload per failed version per tab, even when the fallback fails too', () => {
    const tab = memoryStorage();
    expect(claimReload(tab, { module: 'cart', version: '2.0.0' })).toBe(true);
    expect(claimReload(tab, { module: 'cart', version: '2.0.0' })).toBe(false);
    // The fallback version fails as well: one reload for it, then none.
    expect(claimReload(tab, { module: 'cart', version: '1.0.0' })).toBe(true);
    expect(claimReload(tab, { module: 'cart', version: '1.0.0' })).toBe(false);
    expect(claimReload(tab, { module: 'cart', version: '2.0.0' })).toBe(false);
    // Another tab has its own allowance.
    expect(claimReload(memoryStorage(), { module: 'cart', version: '2.0.0' })).toBe(true);
  });

  it('never reloads when the claim cannot be remembered', () => {
    expect(claimReload(null, { module: 'cart', version: '2.0.0' })).toBe(false);
    const full: TabStorage = {
      getItem: () => null,
      setItem: () => {
        throw new DOMException('full', 'QuotaExceededError');
      },
    };
    expect(claimReload(full, { module: 'cart', version: '2.0.0' })).toBe(false);
    const forgetful: TabStorage = { getItem: () => null, setItem: () => {} };
    expect(claimReload(forgetful, { module: 'cart', version: '2.0.0' })).toBe(false);
  });
});

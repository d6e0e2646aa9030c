/**
 * The Adapter over a real service worker global scope. The only file besides index.ts that
 * touches browser globals.
 */
import type { Adapter } from './Adapter.js';
import { timerDelay } from './clock.js';

/** The platform of a service worker. */
export function browserAdapter(scope: ServiceWorkerGlobalScope): Adapter {
  return {
    now: () => Date.now(),
    // Clamped: a browser runs a delay above 2^31−1 ms at once (sw/clock.ts).
    setTimeout: (fn, ms) => scope.setTimeout(fn, timerDelay(ms)),
    clearTimeout: (handle) => scope.clearTimeout(handle as number),
    nextTask: () => new Promise((resolve) => scope.setTimeout(resolve, 0)),
    fetch: (input, init) => scope.fetch(input, init),
    openCache: (name) => scope.caches.open(name),
    deleteCache: (name) => scope.caches.delete(name),
    indexedDB: scope.indexedDB,
    clients: () => scope.clients.matchAll({ includeUncontrolled: true, type: 'all' }),
    // Not every browser has the Storage API in workers: then the quota is learnt by trying.
    storageEstimate: async () => (scope.navigator.storage?.estimate ? scope.navigator.storage.estimate() : {}),
    unregister: () => scope.registration.unregister(),
    randomId: () => scope.crypto.randomUUID(),
  };
}

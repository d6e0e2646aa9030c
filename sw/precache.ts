/**
 * The `precache` option of `installTranche`: the app shell's scripts and styles, stored by
 * workbox-precaching while the worker installs and answered from there, so a shell whose HTML
 * comes from tranche's own copy (Shell.ts) also finds its assets offline. Precache only, with
 * no workbox route: a route registered for `/` would answer navigations without the page's
 * import map and snapshot.
 */
import { getCacheKeyForURL, matchPrecache, precache } from 'workbox-precaching';
import type { PrecacheEntry } from './options.js';

declare const self: ServiceWorkerGlobalScope;

/** Precaches `entries` and answers GET requests for them (after tranche's own listener). */
export function installPrecache(entries: readonly PrecacheEntry[]): void {
  if (entries.length === 0) return;
  precache([...entries]);
  self.addEventListener('fetch', (event) => {
    const { request } = event;
    if (request.mode === 'navigate' || request.method !== 'GET' || !getCacheKeyForURL(request.url)) return;
    event.respondWith(matchPrecache(request).then((cached) => cached ?? fetch(request)));
  });
}

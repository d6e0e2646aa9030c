/**
 * The floor: a service worker that precaches the URLs its server lists (`self.BENCH_PRECACHE`)
 * and answers every request with `caches.match`, falling back to the network on a miss.
 * Nothing can answer a cached request faster from a service worker.
 */
declare const self: ServiceWorkerGlobalScope & { BENCH_PRECACHE: string[] };

const CACHE = 'bench-bare-v1';

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(self.BENCH_PRECACHE))
      .then(() => self.skipWaiting()),
  );
});
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (event) => {
  event.respondWith(caches.match(event.request).then((cached) => cached ?? fetch(event.request)));
});

/**
 * The Workbox baseline: workbox-precaching's `precacheAndRoute` over the URLs its server lists
 * (`self.BENCH_PRECACHE`), as an app precaching its module files with Workbox would write it.
 */
import { precacheAndRoute } from 'workbox-precaching';

declare const self: ServiceWorkerGlobalScope & { BENCH_PRECACHE: string[] };

// A fixed revision: the bench never changes these files, and Workbox keys its cache by it.
precacheAndRoute(self.BENCH_PRECACHE.map((url) => ({ url, revision: '1' })));
self.addEventListener('install', () => void self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

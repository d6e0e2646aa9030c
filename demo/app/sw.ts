/**
 * The demo shop's service worker, built by `trancheServiceWorker` (tranche/vite) into /sw.js.
 *
 * Order matters: tranche answers app navigations (the shell, with each page load's import map
 * and snapshot injected) and module files first. Workbox only precaches the shell's own assets
 * (`precache`, no routes): had `precacheAndRoute` registered first, workbox would answer `/`
 * from its precache without an import map. The shell's HTML offline comes from tranche's own
 * copy of the last good shell; its scripts and styles come from the precache below.
 */
import { getCacheKeyForURL, matchPrecache, precache, type PrecacheEntry } from 'workbox-precaching';
import { installTranche } from '../../sw/index.js';

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: PrecacheEntry[] };
/** The demo's public key (JWK), put in at build time: the worker trusts manifests it signed. */
declare const __DEMO_PUBLIC_KEY__: JsonWebKey;

installTranche({
  manifestUrl: '/store/manifest.json',
  publicKeys: [__DEMO_PUBLIC_KEY__],
  // The shop is one page; the dashboard and the API are not app pages.
  navigation: { shellUrl: '/', match: (url) => url.pathname === '/' },
  // A demo is watched: a `tranche` command shows on the next reload within about 10 s, instead
  // of the production defaults (every 5 min, and at most once a minute on navigations).
  checkIntervalMs: 10_000,
  navigationCheckThrottleMs: 0,
  // Every 2 s rather than 10: the dashboard is watched while things happen.
  telemetry: { url: '/api/telemetry', batchIntervalMs: 2000 },
});

precache(self.__WB_MANIFEST);

self.addEventListener('fetch', (event) => {
  // Navigations are tranche's; only the shell's hashed assets are answered from the precache.
  if (event.request.mode === 'navigate' || event.request.method !== 'GET' || !getCacheKeyForURL(event.request.url)) return;
  event.respondWith(matchPrecache(event.request).then((cached) => cached ?? fetch(event.request)));
});

// A demo wants the newest worker at once, and the first page controlled without a reload.
self.addEventListener('install', () => void self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

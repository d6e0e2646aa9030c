/**
 * The demo shop's service worker, built by `trancheApp` (tranche/vite) into /sw.js, which also
 * hands it the shell's precache list.
 */
import { installTranche } from '../../sw/index.js';

/** The demo's public key (JWK), put in at build time: the worker trusts manifests it signed. */
declare const __DEMO_PUBLIC_KEY__: JsonWebKey;

installTranche({
  manifestUrl: '/tranche/manifest.json',
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

/**
 * `tranche/vite`: build a module version into a directory `tranche release` ingests as is
 * ({@link trancheModule}), and build the app's service worker with its shell precached
 * ({@link trancheServiceWorker}).
 */
export { trancheModule, ENTRY_FILE, RELEASE_INFO_FILE, type TrancheModuleOptions, type ReleaseInfo } from './trancheModule.js';
export {
  trancheServiceWorker,
  MANIFEST_INJECTION_POINT,
  type TrancheServiceWorkerOptions,
  type PrecacheEntry,
} from './trancheServiceWorker.js';

/**
 * `tranche/vite`: the app's one plugin ({@link trancheApp}: module externals and types, `vite
 * dev` from source, `vite preview` with the store, the app's service worker with its shell
 * precached) and a module's ({@link trancheModule}: a version built into a directory `tranche
 * release` ingests as is).
 */
export { trancheApp, type TrancheAppOptions, type AppStoreOptions } from './trancheApp.js';
export { type AppWorkerOptions, type PrecacheEntry } from './appWorker.js';
export { trancheModule, ENTRY_FILE, type TrancheModuleOptions } from './trancheModule.js';
export { RELEASE_INFO_FILE, type ReleaseInfo } from '../release/releaseInfo.js';

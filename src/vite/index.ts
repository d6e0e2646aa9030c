/**
 * `tranche/vite`: build a module version into a directory `tranche release` ingests as is
 * ({@link trancheModule}).
 */
export { trancheModule, ENTRY_FILE, RELEASE_INFO_FILE, type TrancheModuleOptions, type ReleaseInfo } from './trancheModule.js';

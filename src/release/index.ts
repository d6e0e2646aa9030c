/**
 * `tranche/node`: the release API for scripts, the same operations as the `tranche` CLI.
 *
 * ```ts
 * import { keygen, openStore } from 'tranche/node';
 * const store = openStore('./tranche-store', { key: './keys/private.jwk' });
 * await store.release('./dist/cart', { module: 'cart', version: '2.0.0' });
 * await store.rollout('cart', '2.0.0', 5);
 * ```
 */
export { backendAt, openStore, ReleaseStore } from './ReleaseStore.js';
export type { ModuleSummary, PlanOptions, PublishOptions, Resolution, StoreOptions, StoreStatus } from './ReleaseStore.js';
export { keygen } from './keys.js';
export type { KeygenResult } from './keys.js';
export type { ReleaseOptions, ReleaseResult } from './release.js';
export type { PublishResult } from './publish.js';
export type { HistoryEntry, ModuleChange } from './history.js';
export type { VerifyStoreOptions, VerifyReport } from './verifyStore.js';
export type { ProgressListener } from './ingest.js';
export { DirectoryBackend } from './DirectoryBackend.js';
export { S3Backend } from './S3Backend.js';
export type { S3Options } from './S3Backend.js';
export type { TransferOptions, TransferResult } from './transfer.js';
export type { PutOptions, StoreBackend } from './StoreBackend.js';
export { storeHandler } from './storeHandler.js';
export type { StoreHandler, StoreHandlerOptions } from './storeHandler.js';
export * from '../collector/index.js';
export { crossSiteProblem, wrongHostProblem, readBody, BodyTooLarge, type RequestGuardOptions } from './http.js';
export { importMapOf, injectIntoHtml, type ImportMap } from '../core/importMap.js';
export { TrancheError, isTrancheError } from '../core/TrancheError.js';
// Receiving the worker's telemetry (its `telemetry` option): one batch's schema and its check.
export { parseTelemetryBatch, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, TELEMETRY_TYPES } from '../core/telemetry.js';
export type { TelemetryBatch, TelemetryEvent, TelemetryType } from '../core/telemetry.js';

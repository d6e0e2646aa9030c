/**
 * `tranche`: the page client. Two runtime exports (`Tranche`, `isTrancheError`); the rest is types.
 */
export { Tranche, type TrancheEvent, type TrancheListener, type TrancheState } from './Tranche.js';
export type { TrancheOptions } from './options.js';
export type { TrancheEventMap } from './events.js';
export type { BadVersion, FallbackReason } from '../core/clientMessages.js';
export type { CheckResult, Snapshot, WorkerState } from '../core/protocol.js';
export { isTrancheError, type TrancheError } from '../core/TrancheError.js';

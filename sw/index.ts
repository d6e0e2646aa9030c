/**
 * tranche/sw: the service worker runtime. An app's service worker calls `installTranche` once,
 * at top level, before adding fetch listeners of its own (docs/service-worker.md).
 */
import type { CheckResult, WorkerState } from '../src/core/protocol.js';
import type { FallbackStatus } from '../src/core/clientMessages.js';
import { browserAdapter } from './browserAdapter.js';
import { install } from './install.js';
import type { PrecacheEntry, TrancheWorkerOptions } from './options.js';
import { installPrecache } from './precache.js';

// The public surface: what an app's worker code passes in and what it gets back or observes.
// The wire messages between page and worker (src/core/protocol.ts) are the package's own affair.
export type {
  ErrorCount,
  ErrorsReportedEvent,
  NavigationOptions,
  PageReadyEvent,
  PrecacheEntry,
  SnapshotPinnedEvent,
  TelemetryOptions,
  TrancheWorkerOptions,
  WorkerHookEvent,
} from './options.js';
export type { FallbackPolicyOptions } from '../src/core/fallbackPolicy.js';
export type { BadVersion, FallbackReason, FallbackStatus, RolledBackEvent } from '../src/core/clientMessages.js';
export type {
  CheckResult,
  ManifestRejectedEvent,
  ManifestRejectionReason,
  ShellUpdatedEvent,
  Snapshot,
  StagingFailedEvent,
  StagingFailureReason,
  StagingProgressEvent,
  VersionActivatedEvent,
  VersionDetectedEvent,
  VersionStagedEvent,
  WorkerCondition,
  WorkerDisabledEvent,
  WorkerEvent,
  WorkerModuleState,
  WorkerState,
} from '../src/core/protocol.js';

/** What `installTranche` returns, for the app's own worker code. */
export interface TrancheWorker {
  /**
   * Resolves once the persisted state is loaded, reading it now if the worker has not begun to
   * (it never rejects: without storage the worker leaves requests to the network).
   */
  readonly loaded: Promise<void>;
  /** Fetches and verifies the manifest now. */
  checkForUpdates(): Promise<CheckResult>;
  /** The worker's state (as `GET_STATE` answers it) seen from client `clientId`. */
  state(clientId?: string): Promise<WorkerState & FallbackStatus>;
  /** Resolves once no check, staging or clean-up is running. */
  idle(): Promise<void>;
}

// trancheApp() (tranche/vite) replaces `self.__WB_MANIFEST` with the shell's precache list at build
// time, and `self.__TRANCHE_SHARED` with its shared dependencies' versions.
declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST?: PrecacheEntry[]; __TRANCHE_SHARED?: Record<string, string> };

/** Installs tranche into this service worker: its event listeners, state and update checks. */
export function installTranche(options: TrancheWorkerOptions): TrancheWorker {
  const { driver, resolved } = install(self, browserAdapter(self), {
    ...options,
    precache: options.precache ?? self.__WB_MANIFEST,
    shared: options.shared ?? self.__TRANCHE_SHARED,
  });
  // After tranche's fetch listener: module files and app navigations are tranche's.
  installPrecache(resolved.precache);

  return {
    get loaded() {
      return driver.loaded;
    },
    checkForUpdates: () => driver.checkForUpdates(),
    state: (clientId = '') => driver.state(clientId),
    idle: () => driver.idle(),
  };
}

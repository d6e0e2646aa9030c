/**
 * tranche/sw: the service worker runtime. An app's service worker calls `installTranche` once,
 * at top level, before adding fetch listeners of its own (docs/service-worker.md).
 */
import { isPageMessage } from '../src/core/parseMessage.js';
import type { CheckResult, WorkerState } from '../src/core/protocol.js';
import type { FallbackStatus } from '../src/core/clientMessages.js';
import { answer, receiveReport } from './answer.js';
import { browserAdapter } from './browserAdapter.js';
import { Driver } from './Driver.js';
import { resolveOptions, type PrecacheEntry, type TrancheWorkerOptions } from './options.js';
import { installPrecache } from './precache.js';
import { Router } from './Router.js';

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
  const adapter = browserAdapter(self);
  const resolved = resolveOptions(
    { ...options, precache: options.precache ?? self.__WB_MANIFEST, shared: options.shared ?? self.__TRANCHE_SHARED },
    self.registration.scope,
  );
  const driver = new Driver(resolved, adapter);
  const router = new Router(resolved, adapter, driver);

  // With `takeOver`, a new version of this worker replaces the old one once installed: open
  // pages keep their snapshots. Fetch events wait for the activation, which reads the state again.
  let shellChanged = false;
  self.addEventListener('install', (event) =>
    event.waitUntil(
      Promise.all([driver.prepare(), router.prepare()]).then(([, changed]) => {
        shellChanged = changed;
        return resolved.takeOver ? self.skipWaiting() : undefined;
      }),
    ),
  );
  self.addEventListener('activate', (event) => event.waitUntil(driver.activate().then(takeOver)));
  /** Controls the open pages; those that run an older HTML than this worker's build are told. */
  async function takeOver(): Promise<void> {
    if (!resolved.takeOver) return;
    await self.clients.claim();
    if (shellChanged) driver.emit({ type: 'SHELL_UPDATED' });
  }
  self.addEventListener('fetch', (event) => {
    const response = router.handle(event.request, event.clientId, event.resultingClientId);
    if (!response) return;
    event.respondWith(response);
    // Boot deadlines and telemetry flushes must outlive an otherwise idle worker.
    event.waitUntil(driver.keepAlive());
  });
  self.addEventListener('message', (event) => {
    const data: unknown = event.data;
    if (!isPageMessage(data)) return; // the app's own messages (or a malformed one)
    const message = data;
    const source = event.source as Client | null;
    const clientId = source?.id ?? '';
    const work =
      message.type === 'REPORT_ERRORS'
        ? // Fire and forget: a page in an error storm never waits for an answer.
          receiveReport(driver, message, clientId).catch((err) => console.error('tranche:', err))
        : answer(driver, message, clientId).then((reply) => (event.ports[0] ?? source)?.postMessage(reply));
    event.waitUntil(work.then(() => driver.keepAlive()));
  });
  // After tranche's fetch listener: module files and app navigations are tranche's.
  installPrecache(resolved.precache);
  driver.start();

  return {
    get loaded() {
      return driver.loaded;
    },
    checkForUpdates: () => driver.checkForUpdates(),
    state: (clientId = '') => driver.state(clientId),
    idle: () => driver.idle(),
  };
}

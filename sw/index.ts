/**
 * tranche/sw: the service worker runtime. An app's service worker calls `installTranche` once,
 * at top level, before adding fetch listeners of its own (docs/service-worker.md).
 */
import { isPageRequest, type CheckResult, type WorkerState } from '../src/core/protocol.js';
import { answer } from './answer.js';
import { browserAdapter } from './browserAdapter.js';
import { Driver } from './Driver.js';
import { resolveOptions, type TrancheWorkerOptions } from './options.js';
import { Router } from './Router.js';

export type { NavigationOptions, SnapshotPinnedEvent, TrancheEvent, TrancheWorkerOptions } from './options.js';
export type * from '../src/core/protocol.js';

/** What `installTranche` returns, for the app's own worker code. */
export interface TrancheWorker {
  /** Resolves once the persisted state is loaded. */
  readonly ready: Promise<void>;
  /** Fetches and verifies the manifest now. */
  checkForUpdates(): Promise<CheckResult>;
  /** The worker's state (as `GET_STATE` answers it) seen from client `clientId`. */
  state(clientId?: string): Promise<WorkerState>;
  /** Resolves once no check, staging or clean-up is running. */
  idle(): Promise<void>;
}

declare const self: ServiceWorkerGlobalScope;

/** Installs tranche into this service worker: its event listeners, state and update checks. */
export function installTranche(options: TrancheWorkerOptions): TrancheWorker {
  const adapter = browserAdapter(self);
  const resolved = resolveOptions(options, self.registration.scope);
  const driver = new Driver(resolved, adapter);
  const router = new Router(resolved, adapter, driver);

  self.addEventListener('install', (event) => event.waitUntil(driver.prepare()));
  self.addEventListener('activate', (event) => event.waitUntil(driver.idle()));
  self.addEventListener('fetch', (event) => {
    const response = router.handle(event.request, event.clientId, event.resultingClientId);
    if (!response) return;
    event.respondWith(response);
    event.waitUntil(driver.idle());
  });
  self.addEventListener('message', (event) => {
    if (!isPageRequest(event.data)) return; // the app's own messages
    const source = event.source as Client | null;
    const port = event.ports[0];
    event.waitUntil(answer(driver, event.data, source?.id ?? '').then((reply) => (port ?? source)?.postMessage(reply)));
  });
  driver.start();

  return {
    ready: driver.ready,
    checkForUpdates: () => driver.checkForUpdates(),
    state: (clientId = '') => driver.state(clientId),
    idle: () => driver.idle(),
  };
}

/**
 * tranche's event listeners over a worker scope: what `installTranche` (sw/index.ts) puts on the
 * real service worker global scope, and the worker's unit tests on a fake one
 * (test/support/fakeScope.ts), so both go through the same message filter, reply path, fetch
 * handling and install/activate steps. The types here exist in both the DOM and WebWorker libs
 * (as in Adapter.ts): a real `ServiceWorkerGlobalScope` satisfies `WorkerScope`.
 */
import { isPageMessage } from '../src/core/parseMessage.js';
import type { Adapter } from './Adapter.js';
import { answer } from './answer.js';
import { Driver } from './Driver.js';
import { resolveOptions, type ResolvedOptions, type TrancheWorkerOptions } from './options.js';
import { Router } from './Router.js';

/** How long a navigation's event waits for its page to be created (see `pageCreated`). */
const PAGE_CREATION_WAIT_MS = 10_000;

/** An event whose handler may keep the worker alive until `work` settles. */
export interface LifecycleEvent {
  waitUntil(work: Promise<unknown>): void;
}

/** What tranche reads of a fetch event. */
export interface FetchEventLike extends LifecycleEvent {
  readonly request: Request;
  readonly clientId: string;
  readonly resultingClientId: string;
  respondWith(response: Promise<Response>): void;
}

/** Where a reply goes: the request's port, else the client that sent it. */
interface ReplyTarget {
  postMessage(message: unknown): void;
}

/** What tranche reads of a message event. */
export interface MessageEventLike extends LifecycleEvent {
  readonly data: unknown;
  /** The sending client (a real event's `Client`); only its `id` and `postMessage` are used. */
  readonly source: unknown;
  readonly ports: ReadonlyArray<ReplyTarget>;
}

/** The worker global scope, as far as tranche's listeners use it. */
export interface WorkerScope {
  readonly registration: { readonly scope: string };
  readonly clients: { claim(): Promise<void>; get(id: string): Promise<unknown> };
  skipWaiting(): Promise<void>;
  addEventListener(type: 'install' | 'activate', listener: (event: LifecycleEvent) => void): void;
  addEventListener(type: 'fetch', listener: (event: FetchEventLike) => void): void;
  addEventListener(type: 'message', listener: (event: MessageEventLike) => void): void;
}

/** What `install` built: the worker's state and its request handling. */
interface Installed {
  readonly resolved: ResolvedOptions;
  readonly driver: Driver;
  readonly router: Router;
}

/**
 * Adds tranche's install, activate, fetch and message listeners to `scope` and starts the
 * worker's work. An app's own listeners added after these see what tranche leaves alone.
 */
export function install(scope: WorkerScope, adapter: Adapter, options: TrancheWorkerOptions): Installed {
  const resolved = resolveOptions(options, scope.registration.scope);
  const driver = new Driver(resolved, adapter);
  const router = new Router(resolved, adapter, driver);

  // With `takeOver`, a new version of this worker replaces the old one once installed: open
  // pages keep their snapshots. Fetch events wait for the activation, which reads the state again.
  let shellChanged = false;
  scope.addEventListener('install', (event) =>
    event.waitUntil(
      Promise.all([driver.prepare(), router.prepare()]).then(([, changed]) => {
        shellChanged = changed;
        return resolved.takeOver ? scope.skipWaiting() : undefined;
      }),
    ),
  );
  scope.addEventListener('activate', (event) => event.waitUntil(driver.activate().then(takeOver)));
  /** Controls the open pages; those that run an older HTML than this worker's build are told. */
  async function takeOver(): Promise<void> {
    if (!resolved.takeOver) return;
    await scope.clients.claim();
    if (shellChanged) driver.emit({ type: 'SHELL_UPDATED' });
  }
  scope.addEventListener('fetch', (event) => {
    if (event.resultingClientId) event.waitUntil(pageCreated(event.resultingClientId));
    const response = router.handle(event.request, event.clientId, event.resultingClientId);
    if (!response) return;
    event.respondWith(response);
    // Boot deadlines and telemetry flushes must outlive an otherwise idle worker.
    event.waitUntil(driver.keepAlive());
  });
  /**
   * Resolves once the page a navigation (or a dedicated worker's script) creates exists, or after
   * `PAGE_CREATION_WAIT_MS`. A page becomes a client only when its response commits; a new worker
   * activating before then (`takeOver`) moves every page of the registration to itself but this
   * one, which its `clients.claim()` skips too (w3c/ServiceWorker#1090). The page would stay
   * with this worker, redundant by then: Chromium sends its module requests to the network, where
   * they fail, and the version is blamed. While the event lasts this worker is busy, which holds a
   * new worker's activation until the page exists (`clients.get` waits for a page still loading).
   */
  function pageCreated(clientId: string): Promise<void> {
    let timer: unknown;
    const bound = new Promise<void>((resolve) => (timer = adapter.setTimeout(resolve, PAGE_CREATION_WAIT_MS)));
    const created = scope.clients.get(clientId).then(
      () => adapter.clearTimeout(timer),
      () => adapter.clearTimeout(timer),
    );
    return Promise.race([created, bound]);
  }
  scope.addEventListener('message', (event) => {
    const message: unknown = event.data;
    if (!isPageMessage(message)) return; // the app's own messages (or a malformed one)
    const source = event.source as (ReplyTarget & { readonly id: string }) | null;
    const clientId = source?.id ?? '';
    if (message.type === 'REPORT_ERRORS') {
      // Fire and forget: a page in an error storm never waits for an answer.
      driver.track(driver.reportErrors(clientId, message));
      event.waitUntil(driver.keepAlive());
      return;
    }
    const replied = answer(driver, message, clientId).then((reply) => (event.ports[0] ?? source)?.postMessage(reply));
    event.waitUntil(replied.then(() => driver.keepAlive()));
  });
  driver.start();
  return { resolved, driver, router };
}

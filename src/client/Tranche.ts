/**
 * The page client (`import { Tranche } from 'tranche'`): registers the app's service worker
 * through workbox-window, reports what breaks and which page loads booted healthily, and turns
 * the worker's broadcasts into typed events. docs/fallback.md says what the worker does with
 * the reports; docs/service-worker.md describes the worker itself.
 */
import { Workbox } from 'workbox-window';
import { DEV_SERVER_META } from '../core/devServer.js';
import { TrancheError } from '../core/TrancheError.js';
import { MODULE_NAME, releaseKey } from '../core/names.js';
import { isBroadcast } from '../core/parseMessage.js';
import type { CheckResult, PageRequest, Snapshot, WorkerState } from '../core/protocol.js';
import type { BadVersion, ClientMessage, FallbackStatus, ReadyRequest, RolledBackEvent } from '../core/clientMessages.js';
import type { AttributionOptions } from '../core/attribution.js';
import { askWorker } from './askWorker.js';
import { watchPage } from './capture.js';
import { describeError, type RawError } from './describeError.js';
import { ModuleFiles } from './moduleFiles.js';
import { ErrorBatcher, type ErrorBatch, type ErrorReport } from './ErrorBatcher.js';
import { EVENT_NAMES, type TrancheEventMap } from './events.js';
import { resolveTrancheOptions, type ResolvedTrancheOptions, type TrancheOptions } from './options.js';
import { readSnapshot } from './readSnapshot.js';
import { claimReload, type TabStorage } from './reloadGuard.js';

/** What `state()` returns. */
export interface TrancheState {
  /** The versions this page load runs, pinned for its life (null: the worker did not serve it). */
  snapshot: Snapshot | null;
  /** Module name -> this client's bucket (0..9999), for modules the manifest assigns. */
  buckets: Record<string, number>;
  /** Versions that failed on this client, each with its reason and time. */
  bad: BadVersion[];
  /** Everything else the worker reports: condition, manifest sequence, per-module status. */
  worker: WorkerState;
}

/** An event of type `K`: its fields, its name and the `Tranche` that dispatched it. */
export type TrancheEvent<K extends keyof TrancheEventMap = keyof TrancheEventMap> = TrancheEventMap[K] & { type: K; target: Tranche };

/** A listener for events of type `K`. */
export type TrancheListener<K extends keyof TrancheEventMap> = (event: TrancheEvent<K>) => void;

/** Registers the app's service worker and talks to it on behalf of this page. */
export class Tranche {
  private readonly _options: ResolvedTrancheOptions;
  private readonly _wb: Workbox | null;
  private readonly _snapshot: Snapshot | null;
  private readonly _attribution: AttributionOptions;
  private readonly _batcher: ErrorBatcher;
  private readonly _files: ModuleFiles | null;
  private readonly _listeners = new Map<keyof TrancheEventMap, Set<TrancheListener<never>>>();
  private readonly _stopWatching: () => void;
  private _readyCalled = false;
  private _ready: Promise<void> | null = null;
  private _pinned: Promise<Snapshot | null> | null = null;
  private _registration: ServiceWorkerRegistration | null = null;
  /** The worker that controls this page, and every one that did: broadcasts are theirs (see `_isOurs`). */
  private _controller: ServiceWorker | null = null;
  private readonly _controllers = new WeakSet<ServiceWorker>();
  /** Failed versions this page was told of: a rollback is dispatched once, whoever repeats it. */
  private readonly _rolledBack = new Set<string>();
  /** Whether `shell-updated` was dispatched: once a page knows its HTML is old, again says nothing new. */
  private _shellUpdated = false;

  /**
   * Starts capturing errors at once (create it early in the page's boot), and prepares the
   * registration of the worker at `swUrl`; call `register()` to register it.
   */
  constructor(swUrl: string, options: TrancheOptions = {}) {
    this._options = resolveTrancheOptions(options);
    this._snapshot = pageSnapshot();
    this._attribution = { origin: location.origin, prefix: this._options.modulePrefix };
    this._batcher = new ErrorBatcher(this._sendBatch, { flushMs: this._options.reportIntervalMs, budget: this._options.reportBudget });
    this._files = this._options.captureErrors ? new ModuleFiles(this._attribution) : null;
    this._stopWatching = watchPage(window, {
      ...(this._options.captureErrors && { onError: (raw: RawError) => this._record(raw) }),
      onHide: () => this._batcher.flush(),
    });
    const { type, scope } = this._options;
    this._wb = 'serviceWorker' in navigator ? new Workbox(swUrl, { type, ...(scope !== undefined && { scope }) }) : null;
    if (this._wb) {
      // Not workbox's `message` event: when a new worker is waiting at `register()`, workbox
      // takes that one for "its own" and drops every message of the worker controlling the page.
      this._onControllerChange();
      navigator.serviceWorker.addEventListener('controllerchange', this._onControllerChange);
      navigator.serviceWorker.addEventListener('message', this._onMessage);
    }
  }

  /**
   * Registers the service worker (after the window's `load` event unless `immediate`).
   * Resolves to undefined where service workers are unavailable, and on pages `vite dev`
   * serves through `trancheApp()` (modules run from source there, with no worker).
   */
  async register({ immediate = false }: { immediate?: boolean } = {}): Promise<ServiceWorkerRegistration | undefined> {
    if (document.querySelector(`meta[name="${DEV_SERVER_META}"]`)) return undefined;
    const registration = await this._wb?.register({ immediate });
    this._registration = registration ?? null;
    return registration;
  }

  /**
   * Marks this page load healthy: the app booted. Credits exactly the versions of this page's
   * snapshot (by its nonce), and from now on errors count as runtime errors, not boot errors.
   * A page without an injected snapshot (the worker's `navigation: false`) vouches for the
   * snapshot its module requests pinned. Resolves at once when no worker controls this page
   * (nothing to credit).
   */
  ready(): Promise<void> {
    this._readyCalled = true;
    // Boot errors must reach the worker before the readiness that follows them.
    this._batcher.flush();
    const snapshot = this._snapshot;
    if (!snapshot && !controlled()) return Promise.resolve();
    this._ready ??= this._ask<unknown>('ready()', { type: 'READY', nonce: snapshot?.id ?? null }).then(
      () => undefined,
      (err: unknown) => {
        this._ready = null;
        throw err;
      },
    );
    return this._ready;
  }

  /**
   * Reports an error the app caught. `module` names the module to blame (its version is this
   * page's); without it, or for a module this page does not run, the error's stack decides.
   * `fatal`: the error left the page without the module's UI (a framework unmounted it, an
   * error boundary replaced it), which fails the version at once, as a boot error does, even
   * after `ready()` (docs/fallback.md). `componentStack`: where a framework says the error
   * happened (React's `errorInfo.componentStack`), which blames the module whose component it
   * names when the error's own stack names none.
   */
  reportError(
    error: unknown,
    { module, fatal = false, componentStack }: { module?: string; fatal?: boolean; componentStack?: string } = {},
  ): void {
    this._record({ error, ...(componentStack !== undefined && { componentStack }) }, module, fatal);
  }

  /**
   * Asks the worker to fetch and verify the manifest now, and the browser to look for a new
   * version of the worker script (which takes over when found: `worker-updated`).
   */
  checkForUpdate(): Promise<CheckResult> {
    // A failed look (offline) changes nothing: the next navigation looks again.
    this._registration?.update().catch(() => undefined);
    return this._ask<CheckResult>('checkForUpdate()', { type: 'CHECK_FOR_UPDATES' });
  }

  /** Reloads the page, which then runs the newest snapshot. */
  applyUpdate(): void {
    location.reload();
  }

  /** QA: forces a released `version` of `module` on this browser; `null` releases it. */
  async override(module: string, version: string | null): Promise<void> {
    if (typeof module !== 'string' || !MODULE_NAME.test(module)) invalidArgument('override() module', 'a module name', module);
    if (version !== null && (typeof version !== 'string' || version === ''))
      invalidArgument('override() version', 'a version or null', version);
    await this._ask<unknown>('override()', { type: 'SET_OVERRIDE', module, version });
  }

  /**
   * Sets the app identity (e.g. a user id) cohorts follow across devices; `null` clears it (log
   * out). Never moves this browser off the versions it runs: they are held until their cohort
   * moves anyway (docs/service-worker.md, "Identity and stickiness").
   */
  async identify(userId: string | null): Promise<void> {
    if (userId !== null && (typeof userId !== 'string' || userId === ''))
      invalidArgument('identify() userId', 'a non-empty user id or null', userId);
    await this._ask<unknown>('identify()', { type: 'SET_IDENTITY', userId });
  }

  /** This page's snapshot, this client's buckets and the versions marked bad on this client. */
  async state(): Promise<TrancheState> {
    const worker = await this._ask<WorkerState & FallbackStatus>('state()', { type: 'GET_STATE' });
    const buckets: Record<string, number> = {};
    for (const [name, status] of Object.entries(worker.modules)) {
      if (status.assigned) buckets[name] = status.assigned.bucket;
    }
    return { snapshot: this._snapshot ?? worker.snapshot, buckets, bad: worker.bad, worker };
  }

  /** Calls `listener` for each event of type `type`. */
  addEventListener<K extends keyof TrancheEventMap>(type: K, listener: TrancheListener<K>): void {
    let set = this._listeners.get(type);
    if (!set) this._listeners.set(type, (set = new Set()));
    set.add(listener as TrancheListener<never>);
  }

  /** Stops calling `listener` for events of type `type`. */
  removeEventListener<K extends keyof TrancheEventMap>(type: K, listener: TrancheListener<K>): void {
    this._listeners.get(type)?.delete(listener as TrancheListener<never>);
  }

  /** Stops capturing and listening, after sending what is pending. */
  dispose(): void {
    this._batcher.flush();
    this._stopWatching();
    this._files?.disconnect();
    if (!this._wb) return;
    navigator.serviceWorker.removeEventListener('controllerchange', this._onControllerChange);
    navigator.serviceWorker.removeEventListener('message', this._onMessage);
  }

  private _record(raw: RawError, module?: string, fatal = false): void {
    // The phase is when the error happened, not when its batch is judged.
    const phase = fatal ? 'fatal' : this._readyCalled ? 'runtime' : 'boot';
    this._batcher.report((): ErrorReport | null => {
      const described = describeError(raw, this._attribution);
      const version = module === undefined ? undefined : this._snapshot?.modules[module];
      const report: ErrorReport = {
        ref: version === undefined ? described.ref : { module: module!, version },
        kind: described.chunkLoad ? 'chunk-load' : phase,
        message: described.message,
        ...(described.stack !== undefined && { stack: described.stack }),
      };
      if (described.unresolved === undefined || report.ref || !this._files) return report;
      // The browser names no importer: find it among the module files loaded, then count it.
      void this._files
        .importerOf(described.unresolved, this._snapshot?.modules ?? null)
        .then((ref) => this._batcher.report(() => ({ ...report, ref })));
      return null;
    });
  }

  private readonly _sendBatch = (batch: ErrorBatch): void => {
    // Only the worker that controls this page knows its snapshot; without one, nobody judges.
    this._post({ type: 'REPORT_ERRORS', nonce: this._snapshot?.id ?? null, ...batch });
  };

  private _post(message: ClientMessage): void {
    if (this._wb) navigator.serviceWorker.controller?.postMessage(message);
  }

  private _ask<T>(what: string, message: PageRequest | ReadyRequest): Promise<T> {
    if (!this._wb) {
      return Promise.reject(
        new TrancheError('no-worker', {
          what,
          reason: 'service workers are unavailable here (an insecure context, or a browser mode that disables them)',
        }),
      );
    }
    // The controller holds this page's snapshot; an uncontrolled page asks its scope's active worker.
    const controller = navigator.serviceWorker.controller;
    const worker = controller ? Promise.resolve(controller) : navigator.serviceWorker.ready.then((registration) => registration.active!);
    return askWorker<T>(worker, message, what, this._options.timeoutMs, navigator.serviceWorker);
  }

  private readonly _onControllerChange = (): void => {
    const controller = navigator.serviceWorker.controller;
    if (!controller || controller === this._controller) return;
    const replaced = this._controller !== null;
    this._controller = controller;
    this._controllers.add(controller);
    // A first controller (a first visit, claimed) is no update; a new worker replacing one is.
    if (replaced) this._dispatch('worker-updated', {});
  };

  private readonly _onMessage = ({ data, source }: MessageEvent): void => {
    if (!(source instanceof ServiceWorker) || !this._isOurs(source)) return;
    if (!isBroadcast(data)) return; // the app's own messages
    if (data.type === 'ROLLED_BACK') {
      void this._onRolledBack(data);
    } else {
      if (data.type === 'SHELL_UPDATED' && this._shellUpdated) return;
      this._shellUpdated ||= data.type === 'SHELL_UPDATED';
      const { type, ...fields } = data;
      this._dispatch(EVENT_NAMES[type], fields as never);
    }
  };

  /**
   * Whether `worker` speaks for this page: one that controls it or did (a broadcast sent just
   * before a new worker took over arrives from the old one), or, while the page has no
   * controller (its first visit, a forced reload), a worker of the registration it made.
   */
  private _isOurs(worker: ServiceWorker): boolean {
    if (this._controllers.has(worker)) return true;
    const registration = this._registration;
    if (navigator.serviceWorker.controller || !registration) return false;
    return worker === registration.installing || worker === registration.waiting || worker === registration.active;
  }

  private async _onRolledBack({ type: _, ...fields }: RolledBackEvent): Promise<void> {
    // Two workers may both judge the failure (an old one and its successor): the page hears it once.
    const key = releaseKey(fields.module, fields.version);
    if (this._rolledBack.has(key)) return;
    this._rolledBack.add(key);
    const snapshot = await this._runningSnapshot();
    const affectsThisPage = snapshot?.modules[fields.module] === fields.version;
    const willReload = affectsThisPage && fields.to !== null && this._options.reloadOnRollback && claimReload(tabStorage(), fields);
    this._dispatch('rolled-back', { ...fields, affectsThisPage, willReload });
    if (willReload) location.reload();
  }

  /**
   * The snapshot this page runs: the injected one, else (the worker's `navigation: false`) the
   * one its module requests pinned, asked of the worker once; null when it cannot say.
   */
  private _runningSnapshot(): Promise<Snapshot | null> {
    if (this._snapshot || !controlled()) return Promise.resolve(this._snapshot);
    this._pinned ??= this._ask<WorkerState>('rolled-back', { type: 'GET_STATE' }).then(
      (state) => state.snapshot,
      () => {
        this._pinned = null;
        return null;
      },
    );
    return this._pinned;
  }

  private _dispatch<K extends keyof TrancheEventMap>(type: K, fields: TrancheEventMap[K]): void {
    const event = { ...fields, type, target: this } as TrancheEvent<K>;
    for (const listener of this._listeners.get(type) ?? []) {
      try {
        (listener as TrancheListener<K>)(event);
      } catch (err) {
        // One failing listener must not silence the others; rethrown, it is still reported.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}

function invalidArgument(where: string, expected: string, got: unknown): never {
  throw new TrancheError('invalid-argument', { where, problem: `expected ${expected}, got ${JSON.stringify(got) ?? String(got)}` });
}

// An unreadable snapshot (a worker and page client out of step) must not break the app: it
// runs on, unable to vouch for its versions, and the problem is logged once.
function pageSnapshot(): Snapshot | null {
  try {
    return readSnapshot(document);
  } catch (err) {
    console.error(err);
    return null;
  }
}

function controlled(): boolean {
  return 'serviceWorker' in navigator && navigator.serviceWorker.controller !== null;
}

// Reading `sessionStorage` throws where storage is blocked (sandboxed frames, some privacy modes).
function tabStorage(): TabStorage | null {
  try {
    return sessionStorage;
  } catch {
    return null;
  }
}

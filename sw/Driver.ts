/**
 * The Driver owns the worker's state: the accepted manifest, this browser's identity and
 * assignments, each module's current version, and the work that moves modules forward
 * (manifest checks, staging, the atomic commit, clean-up). Routing (sw/Router.ts) and page
 * messages (sw/answer.ts) read and change state only through its methods.
 */
import { TrancheError } from '../src/core/TrancheError.js';
import { releaseKey } from '../src/core/manifest.js';
import type { CheckResult, Snapshot, WorkerCondition, WorkerEvent, WorkerState } from '../src/core/protocol.js';
import { trustKeys, type TrustedKeys } from '../src/core/signature.js';
import type { Adapter } from './Adapter.js';
import { desiredVersion, identityKey, overrideProblem, planModules } from './assignment.js';
import { Broadcaster } from './Broadcaster.js';
import { checkManifest } from './checkManifest.js';
import { cleanUp } from './cleanUp.js';
import { Database, type AcceptedManifest, type Identity, type ModuleRow, type StatusRow, type VersionRow } from './Database.js';
import { FileStore, FILES_CACHE } from './FileStore.js';
import type { ResolvedOptions } from './options.js';
import { SHELL_CACHE } from './Shell.js';
import { OverrideBook } from './OverrideBook.js';
import { SnapshotBook } from './SnapshotBook.js';
import { Stager, failureOf } from './Stager.js';
import { StagingQueue } from './StagingQueue.js';
import { moduleStatus } from './workerState.js';

const NOMINAL = '(nominal)';

/** The worker's state and the work that changes it. */
export class Driver {
  /** Resolves once the persisted state is loaded; never rejects (see `intercepting`). */
  readonly ready: Promise<void>;
  readonly files: FileStore;
  private _db: Database | null = null;
  private _stager: Stager | null = null;
  private _snapshots: SnapshotBook | null = null;
  private _broken: unknown = null;
  private _identity: Identity = { anonymousId: '', userId: null };
  private _manifest: AcceptedManifest | null = null;
  private _status: StatusRow = { condition: 'NORMAL', why: NOMINAL, since: 0 };
  private _overrides: OverrideBook | null = null;
  private _modules = new Map<string, ModuleRow>();
  private _versions = new Map<string, VersionRow>();
  private readonly _announced = new Map<string, string>();
  private readonly _trusted: Promise<TrustedKeys>;
  private readonly _events: Broadcaster;
  private readonly _queue: StagingQueue;
  private readonly _background = new Set<Promise<unknown>>();
  private _checking: Promise<CheckResult> | null = null;
  private _lastCheck = -Infinity;
  private _interval: unknown = null;

  constructor(private readonly _options: ResolvedOptions, private readonly _adapter: Adapter) {
    this.files = new FileStore(_adapter, _options.storeBase);
    this._events = new Broadcaster(_adapter, _options.onEvent);
    this._trusted = trustKeys(_options.publicKeys, 'publicKeys');
    this._trusted.catch(() => undefined); // reported by each manifest check instead
    this._queue = new StagingQueue(_adapter, {
      stage: (module, signal) => this._stageModule(module, signal),
      cleanUp: () => this._cleanUp(),
      track: (work) => this._track(work),
    });
    this.ready = this._load();
  }

  /** False when the worker must leave every request to the network (kill switch, no storage). */
  get intercepting(): boolean {
    return this._broken === null && this._status.condition !== 'DISABLED';
  }

  /** Starts the work a worker does on each start: a manifest check, resuming staging, the interval. */
  start(): void {
    this._track(this.ready.then(() => {
      if (!this.intercepting) return;
      this._schedulePoll();
      this._track(this.checkForUpdates());
      for (const module of this._modules.keys()) this._queue.kick(module);
    }));
  }

  /** Install: check and stage what this browser needs, so its first controlled page is complete. */
  async prepare(): Promise<void> {
    await this.ready;
    if (!this.intercepting) return;
    await this.checkForUpdates();
    await this.idle();
  }

  /** Resolves once no background work (check, staging, clean-up) is running. */
  async idle(): Promise<void> {
    while (this._background.size) await Promise.allSettled([...this._background]);
  }

  /** Fetches and verifies the manifest now (concurrent callers share one check). */
  checkForUpdates(): Promise<CheckResult> {
    this._checking ??= this._check().finally(() => (this._checking = null));
    return this._checking;
  }

  /** A navigation happened: check the manifest unless one was checked recently. */
  checkIfDue(): void {
    if (this._adapter.now() - this._lastCheck >= this._options.navigationCheckThrottleMs) this._track(this.checkForUpdates());
  }

  /** Pins the current versions to a new page (or worker) and returns the snapshot. */
  async pinSnapshot(clientId: string, overrideErrors: readonly string[] = []): Promise<Snapshot> {
    await this.ready;
    const modules: Record<string, string> = {};
    for (const row of this._modules.values()) if (row.current) modules[row.module] = row.current;
    const snapshot = await this.snapshots.pin(clientId, this._manifest?.manifest.sequence ?? 0, modules, overrideErrors);
    this._events.notify({ type: 'SNAPSHOT_PINNED', clientId, snapshot });
    return snapshot;
  }

  /** The snapshot of `clientId`, pinning the current versions to it when it has none yet. */
  async snapshotFor(clientId: string): Promise<Snapshot> {
    await this.ready;
    return (await this.snapshots.of(clientId)) ?? this.pinSnapshot(clientId);
  }

  /** Snapshots by client; use after `ready`. Throws when storage is unavailable. */
  get snapshots(): SnapshotBook {
    if (!this._snapshots) throw storageError(this._broken);
    return this._snapshots;
  }

  /** The row of module@version when it is committed (servable), else null. */
  servable(module: string, version: string): VersionRow | null {
    const row = this._versions.get(releaseKey(module, version));
    return row?.status === 'ready' ? row : null;
  }

  /** Sets or clears the app identity; assignments follow it. */
  async setIdentity(userId: string | null): Promise<void> {
    await this._usable();
    if (this._identity.userId === userId) return;
    this._identity = { ...this._identity, userId };
    await this._db!.setControl('identity', this._identity);
    await this._replan(null);
  }

  /**
   * QA: forces module@version (any released, unblocked version, 0% ones included) for
   * `overrideTtlMs`, or with `version` null releases the module. Throws `rejected` naming why.
   */
  async setOverride(module: string, version: string | null): Promise<void> {
    await this._usable();
    // A version released after the last check is not known yet: look once before refusing.
    if (version !== null && overrideProblem(this._manifest?.manifest ?? null, module, version) !== null) await this.checkForUpdates();
    await this._overrides!.set(this._manifest?.manifest ?? null, module, version, this._adapter.now());
    this._announceAndStage();
  }

  /** QA: releases every override. */
  async clearOverrides(): Promise<void> {
    await this._usable();
    await this._overrides!.clear();
    this._announceAndStage();
  }

  /** Waits (at most `ms`) until `modules` have nothing left to stage. */
  async settle(modules: readonly string[], ms: number): Promise<void> {
    await this._queue.settle(modules, ms);
  }

  /** The data behind `GET_STATE`, as seen by client `clientId`. */
  async state(clientId: string): Promise<WorkerState> {
    await this.ready;
    const targets = this._targets();
    const overrides = this._overrides?.live(this._adapter.now()) ?? {};
    return {
      condition: this._status.condition,
      why: this._broken ? storageError(this._broken).message : this._status.why,
      sequence: this._manifest?.manifest.sequence ?? 0,
      identity: this._identity.userId === null ? 'anonymous' : 'app',
      // After the kill switch the database is gone: there is no snapshot left to report.
      snapshot: this._snapshots && this.intercepting ? await this._snapshots.of(clientId) : null,
      modules: Object.fromEntries([...this._modules.values()].map((row) => [row.module, moduleStatus(row, targets.get(row.module), overrides[row.module])])),
    };
  }

  /** Stops timers and closes the database (tests simulate a worker stop with it). */
  close(): void {
    this._queue.stop();
    if (this._interval !== null) this._adapter.clearTimeout(this._interval);
    this._db?.close();
  }

  // === Loading and manifest checks ===

  private async _usable(): Promise<void> {
    await this.ready;
    if (this._status.condition === 'DISABLED') throw new TrancheError('rejected', { what: 'tranche service worker', reason: 'disabled by the manifest kill switch' });
    if (!this._db) throw storageError(this._broken);
  }

  private async _load(): Promise<void> {
    try {
      const db = await Database.open(this._adapter.indexedDB);
      this._db = db;
      this._snapshots = new SnapshotBook(this._adapter, db);
      const state = await db.load();
      this._identity = state.identity ?? { anonymousId: this._adapter.randomId(), userId: null };
      if (!state.identity) await db.setControl('identity', this._identity);
      this._manifest = state.manifest;
      this._status = state.status ?? this._status;
      this._modules = new Map(state.modules.map((row) => [row.module, row]));
      this._versions = new Map(state.versions.map((row) => [row.key, row]));
      this._overrides = new OverrideBook(db, this._options.overrideTtlMs, state.overrides);
    } catch (err) {
      // Without storage nothing can be verified or pinned: every request goes to the network.
      this._broken = err;
      return;
    }
    // A kill switch that was interrupted (worker stopped mid-wipe) finishes now.
    if (this._status.condition === 'DISABLED') this._track(this._disable());
  }

  private async _check(): Promise<CheckResult> {
    await this.ready;
    const sequence = () => this._manifest?.manifest.sequence ?? 0;
    if (!this.intercepting) return { outcome: 'unchanged', sequence: sequence() };
    this._lastCheck = this._adapter.now();
    const check = await checkManifest(this._adapter, this._options.manifestUrl, this._trusted, this._manifest);
    // Pages come and go between checks: their snapshots' versions may be free to delete now.
    this._queue.cleanUpWhenIdle();
    if (check.kind === 'rejected') {
      await this._setStatus('STALE', `${check.reason}: ${check.message}`);
      this._emit({ type: 'MANIFEST_REJECTED', reason: check.reason, message: check.message });
      return { outcome: 'rejected', sequence: sequence(), reason: check.reason, message: check.message };
    }
    if (this._status.condition === 'STALE') await this._setStatus('NORMAL', NOMINAL);
    if (check.kind === 'unchanged') return { outcome: 'unchanged', sequence: sequence() };
    if (check.accepted.manifest.killSwitch) {
      await this._disable();
      return { outcome: 'updated', sequence: check.accepted.manifest.sequence };
    }
    await this._replan(check.accepted);
    return { outcome: 'updated', sequence: sequence() };
  }

  /**
   * Re-plans every module after a new manifest (`accepted`) or identity (`null`): one
   * transaction stores the manifest with the assignments and fallbacks it implies.
   */
  private async _replan(accepted: AcceptedManifest | null): Promise<void> {
    const manifest = accepted?.manifest ?? this._manifest?.manifest;
    if (!manifest) return;
    const key = identityKey(this._identity);
    let fallbacks: ReturnType<typeof planModules> = [];
    const plan = (rows: Map<string, ModuleRow>) => {
      fallbacks = planModules(rows, manifest, key, (m, v) => this.servable(m, v) !== null);
    };
    await this._queue.quiet(); // clean-up must not delete a version a fallback is about to use
    const rows = accepted ? await this._db!.acceptManifest(accepted, plan) : await this._db!.updateModules(plan);
    if (accepted) this._manifest = accepted;
    this._modules = new Map(rows.map((row) => [row.module, row]));
    for (const f of fallbacks) this._emit({ type: 'VERSION_ACTIVATED', module: f.module, version: f.to, previous: f.from });
    this._announceAndStage();
  }

  private _schedulePoll(): void {
    this._interval = this._adapter.setTimeout(() => {
      this._track(this.checkForUpdates());
      this._schedulePoll();
    }, this._options.checkIntervalMs);
  }

  // === Staging and commit ===

  /** The version each module is moving to (desired but not current). */
  private _targets(): Map<string, string> {
    const manifest = this._manifest?.manifest;
    const targets = new Map<string, string>();
    if (!manifest) return targets;
    for (const row of this._modules.values()) {
      const version = desiredVersion(manifest, row, this._overrides?.all ?? {}, this._adapter.now());
      if (version && version !== row.current) targets.set(row.module, version);
    }
    return targets;
  }

  private _announceAndStage(): void {
    for (const [module, version] of this._targets()) {
      if (this._announced.get(module) !== version) {
        this._announced.set(module, version);
        this._emit({ type: 'VERSION_DETECTED', module, version, current: this._modules.get(module)?.current ?? null });
      }
      this._queue.kick(module);
    }
  }

  /** Stages and commits the version `module` is moving to; returns when to retry on failure. */
  private async _stageModule(module: string, signal: AbortSignal): Promise<number | null> {
    const version = this._targets().get(module);
    const ref = version && this._manifest?.manifest.releases[releaseKey(module, version)];
    if (!version || !ref || !this.intercepting) return null;
    const failure = this._modules.get(module)?.failure;
    if (failure?.version === version && failure.retryAt > this._adapter.now()) return failure.retryAt;
    if (!this.servable(module, version)) {
      try {
        this._stager ??= new Stager(this._adapter, this._db!, this.files, this._options.storeBase);
        const row = await this._stager.stage({ module, version, ref }, signal, (event) => this._emit(event));
        this._versions.set(row.key, row);
      } catch (err) {
        if (signal.aborted) return null;
        return this._recordFailure(module, version, err);
      }
      this._emit({ type: 'VERSION_READY', module, version });
    }
    // The target may have moved while files downloaded; the queue runs again for the new one.
    if (this._targets().get(module) !== version) return null;
    const previous = this._modules.get(module)?.current ?? null;
    const row = await this._db!.commit(module, version, this._options.retainVersions);
    this._modules.set(module, row);
    this._versions.set(releaseKey(module, version), { ...this._versions.get(releaseKey(module, version))!, status: 'ready' });
    this._emit({ type: 'VERSION_ACTIVATED', module, version, previous });
    return null;
  }

  private async _recordFailure(module: string, version: string, err: unknown): Promise<number> {
    const failure = failureOf(err, version, this._modules.get(module)?.failure ?? null, this._adapter.now(), this._options.retryDelayMs);
    const rows = await this._db!.updateModules((all) => {
      const row = all.get(module);
      if (row) all.set(module, { ...row, failure });
    });
    this._modules = new Map(rows.map((row) => [row.module, row]));
    const { reason, message, retryAt } = failure;
    this._emit({ type: 'STAGING_FAILED', module, version, reason, message, retryAt });
    return retryAt;
  }

  private async _cleanUp(): Promise<void> {
    if (!this.intercepting || !this._db) return;
    const result = await cleanUp(this._adapter, this._db, this.files, [...this._modules.values()], this._targets());
    for (const key of result.versions) this._versions.delete(key);
    this.snapshots.forget(result.clients);
  }

  // === Condition ===

  private async _setStatus(condition: WorkerCondition, why: string): Promise<void> {
    if (this._status.condition === condition && this._status.why === why) return;
    this._status = { condition, why, since: this._adapter.now() };
    await this._db!.setControl('status', this._status);
  }

  /**
   * Kill switch: stop intercepting, wipe tranche's caches and database, unregister. The
   * condition is persisted first, so a worker stopped halfway finishes the job on its next start.
   */
  private async _disable(): Promise<void> {
    await this._setStatus('DISABLED', 'the manifest kill switch is on');
    this._emit({ type: 'WORKER_DISABLED' });
    await this._queue.abort();
    this.close();
    await Promise.all([this._adapter.deleteCache(FILES_CACHE), this._adapter.deleteCache(SHELL_CACHE)]);
    await Database.destroy(this._adapter.indexedDB);
    this._db = null;
    await this._adapter.unregister();
  }

  private _emit(event: WorkerEvent): void {
    this._track(this._events.emit(event));
  }

  private _track(work: Promise<unknown>): void {
    const tracked = work.catch((err) => console.error('tranche:', err)).finally(() => this._background.delete(tracked));
    this._background.add(tracked);
  }

}

function storageError(cause: unknown): TrancheError<'rejected'> {
  return new TrancheError('rejected', { what: 'tranche service worker', reason: `storage unavailable: ${(cause as Error)?.message ?? cause}` });
}

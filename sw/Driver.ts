/**
 * The Driver owns the worker's state: the accepted manifest, this browser's identity and
 * overrides, and the worker's condition. It wires the parts that do the work: Modules
 * (planning, staging, commit, clean-up), Fallback (readiness, error reports, bad versions) and
 * Telemetry. Routing (sw/Router.ts) and page messages (sw/answer.ts) go through its methods.
 */
import { TrancheError } from '../src/core/TrancheError.js';
import type { FallbackStatus } from '../src/core/clientMessages.js';
import type { CheckResult, Snapshot, WorkerCondition, WorkerState } from '../src/core/protocol.js';
import { trustKeys, type TrustedKeys } from '../src/core/signature.js';
import type { Adapter } from './Adapter.js';
import { identityKey, overrideProblem } from './assignment.js';
import { Broadcaster } from './Broadcaster.js';
import { checkManifest } from './checkManifest.js';
import { Database, type AcceptedManifest, type Identity, type StatusRow, type VersionRow } from './Database.js';
import { Fallback } from './Fallback.js';
import { FileStore, FILES_CACHE } from './FileStore.js';
import { Modules } from './Modules.js';
import type { BroadcastEvent, ResolvedOptions } from './options.js';
import { SHELL_CACHE } from './Shell.js';
import { OverrideBook } from './OverrideBook.js';
import { SnapshotBook } from './SnapshotBook.js';
import { Telemetry } from './Telemetry.js';

const NOMINAL = '(nominal)';

/** The worker's state and the work that changes it. */
export class Driver {
  /** Resolves once the persisted state is loaded; never rejects (see `intercepting`). */
  readonly loaded: Promise<void>;
  readonly files: FileStore;
  readonly modules: Modules;
  readonly fallback: Fallback;
  private _db: Database | null = null;
  private _snapshots: SnapshotBook | null = null;
  private _broken: unknown = null;
  private _identity: Identity = { anonymousId: '', userId: null };
  private _manifest: AcceptedManifest | null = null;
  private _status: StatusRow = { condition: 'NORMAL', why: NOMINAL, since: 0 };
  private _overrides: OverrideBook | null = null;
  private readonly _trusted: Promise<TrustedKeys>;
  private readonly _events: Broadcaster;
  private readonly _telemetry: Telemetry | null;
  private readonly _background = new Set<Promise<unknown>>();
  private _checking: Promise<CheckResult> | null = null;
  private _lastCheck = -Infinity;
  private _interval: unknown = null;

  constructor(
    private readonly _options: ResolvedOptions,
    private readonly _adapter: Adapter,
  ) {
    this.files = new FileStore(_adapter, _options.storeBase);
    const track = (work: Promise<unknown>) => this.track(work);
    this._telemetry = _options.telemetry && new Telemetry(_options.telemetry, _adapter, track);
    this._events = new Broadcaster(_adapter, [_options.onEvent, this._telemetry?.observe ?? null]);
    this._trusted = trustKeys(_options.publicKeys, 'publicKeys');
    this._trusted.catch(() => undefined); // reported by each manifest check instead
    const emit = (event: BroadcastEvent) => this._emit(event);
    const manifest = () => this._manifest?.manifest ?? null;
    this.modules = new Modules(_options, _adapter, this.files, {
      manifest,
      overrides: () => this._overrides?.all ?? {},
      intercepting: () => this.intercepting,
      isBad: (module, version) => this.fallback.isBad(module, version),
      emit,
      track,
      forgetClients: (ids) => this._snapshots?.forget(ids),
    });
    this.fallback = new Fallback(_options.fallback, _adapter, this.modules, {
      manifest,
      emit,
      track,
      notify: (event) => this._events.notify(event),
    });
    this.loaded = this._load();
  }

  /** False when the worker must leave every request to the network (kill switch, no storage). */
  get intercepting(): boolean {
    return this._broken === null && this._status.condition !== 'DISABLED';
  }

  /** Starts the work a worker does on each start: a manifest check, resuming staging and boot deadlines, the interval. */
  start(): void {
    this.track(
      this.loaded.then(() => {
        if (!this.intercepting) return;
        this._schedulePoll();
        this.track(this.checkForUpdates());
        this.modules.kickAll();
        this.track(this.fallback.resume());
      }),
    );
  }

  /** Install: check and stage what this browser needs, so its first controlled page is complete. */
  async prepare(): Promise<void> {
    await this.loaded;
    if (!this.intercepting) return;
    await this.checkForUpdates();
    await this.idle();
  }

  /** Resolves once no background work (check, staging, clean-up) is running. */
  async idle(): Promise<void> {
    while (this._background.size) await Promise.allSettled([...this._background]);
  }

  /**
   * Resolves once the background work is done, the pending boot deadlines were judged and the
   * collected telemetry was sent: what a fetch or message event keeps the worker alive for.
   */
  async keepAlive(): Promise<void> {
    await Promise.all([this.idle(), this.fallback.keepAlive(), this._telemetry?.keepAlive()]);
  }

  /** Fetches and verifies the manifest now (concurrent callers share one check). */
  checkForUpdates(): Promise<CheckResult> {
    this._checking ??= this._check().finally(() => (this._checking = null));
    return this._checking;
  }

  /** A navigation happened: check the manifest unless one was checked recently. */
  checkIfDue(): void {
    const since = this._adapter.now() - this._lastCheck;
    // A last check "in the future" means the clock was set back since: check rather than wait for the clock to catch up.
    if (since < 0 || since >= this._options.navigationCheckThrottleMs) this.track(this.checkForUpdates());
  }

  /** Pins the current versions to a new page (or worker) and returns the snapshot; its boot is watched. */
  async pinSnapshot(clientId: string, overrideErrors: readonly string[] = []): Promise<Snapshot> {
    await this.loaded;
    const snapshot = await this.snapshots.pin(
      clientId,
      this._manifest?.manifest.sequence ?? 0,
      this.modules.currentVersions(),
      overrideErrors,
    );
    this.fallback.watch(clientId, snapshot, this._adapter.now());
    this._events.notify({ type: 'SNAPSHOT_PINNED', clientId, snapshot });
    return snapshot;
  }

  /** The snapshot of `clientId`, pinning the current versions to it when it has none yet. */
  async snapshotFor(clientId: string): Promise<Snapshot> {
    await this.loaded;
    return (await this.snapshots.of(clientId)) ?? this.pinSnapshot(clientId);
  }

  /** Snapshots by client; use after `loaded`. Throws when storage is unavailable. */
  get snapshots(): SnapshotBook {
    if (!this._snapshots) throw storageError(this._broken);
    return this._snapshots;
  }

  /** The row of module@version when it is committed (servable), else null. */
  servable(module: string, version: string): VersionRow | null {
    return this.modules.servable(module, version);
  }

  /**
   * Resolves once the state is loaded and may be changed; throws `rejected` after the kill
   * switch or without storage.
   */
  async writable(): Promise<void> {
    await this.loaded;
    if (this._status.condition === 'DISABLED')
      throw new TrancheError('rejected', { what: 'tranche service worker', reason: 'disabled by the manifest kill switch' });
    if (!this._db) throw storageError(this._broken);
  }

  /** Sets or clears the app identity; assignments follow it. */
  async setIdentity(userId: string | null): Promise<void> {
    await this.writable();
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
    await this.writable();
    // A version released after the last check is not known yet: look once before refusing.
    if (version !== null && overrideProblem(this._manifest?.manifest ?? null, module, version) !== null) await this.checkForUpdates();
    await this._overrides!.set(this._manifest?.manifest ?? null, module, version, this._adapter.now());
    this.modules.announceAndStage();
  }

  /** QA: releases every override. */
  async clearOverrides(): Promise<void> {
    await this.writable();
    await this._overrides!.clear();
    this.modules.announceAndStage();
  }

  /** The data behind `GET_STATE`, as seen by client `clientId`. */
  async state(clientId: string): Promise<WorkerState & FallbackStatus> {
    await this.loaded;
    return {
      condition: this._status.condition,
      why: this._broken ? storageError(this._broken).message : this._status.why,
      sequence: this._manifest?.manifest.sequence ?? 0,
      identity: this._identity.userId === null ? 'anonymous' : 'app',
      clientId: this._identity.anonymousId,
      // After the kill switch the database is gone: there is no snapshot left to report.
      snapshot: this._snapshots && this.intercepting ? await this._snapshots.of(clientId) : null,
      modules: this.modules.statuses(this._overrides?.live(this._adapter.now()) ?? {}),
      bad: this.intercepting ? this.fallback.marks() : [],
    };
  }

  /** Keeps `work` in the background work `idle()` waits for; logs what it throws. */
  track(work: Promise<unknown>): void {
    const tracked = work.catch((err) => console.error('tranche:', err)).finally(() => this._background.delete(tracked));
    this._background.add(tracked);
  }

  /** Stops timers and closes the database (tests simulate a worker stop with it). */
  close(): void {
    this.modules.stop();
    this.fallback.stop();
    this._telemetry?.stop();
    if (this._interval !== null) this._adapter.clearTimeout(this._interval);
    this._db?.close();
  }

  // === Loading and manifest checks ===

  private async _load(): Promise<void> {
    try {
      const db = await Database.open(this._adapter.indexedDB);
      this._db = db;
      this._snapshots = new SnapshotBook(this._adapter, db, (work) => this.track(work));
      const state = await db.load();
      this._identity = state.identity ?? { anonymousId: this._adapter.randomId(), userId: null };
      if (!state.identity) await db.setControl('identity', this._identity);
      this._manifest = state.manifest;
      this._status = state.status ?? this._status;
      this.modules.attach(db, state.modules, state.versions);
      this.fallback.attach(db, this._snapshots, state.bad);
      this._overrides = new OverrideBook(db, this._options.overrideTtlMs, state.overrides);
      this._telemetry?.attach(db, this._identity.anonymousId);
    } catch (err) {
      // Without storage nothing can be verified or pinned: every request goes to the network.
      this._broken = err;
      return;
    }
    // A kill switch that was interrupted (worker stopped mid-wipe) finishes now.
    if (this._status.condition === 'DISABLED') this.track(this._disable());
  }

  private async _check(): Promise<CheckResult> {
    await this.loaded;
    const sequence = () => this._manifest?.manifest.sequence ?? 0;
    if (!this.intercepting) return { outcome: 'unchanged', sequence: sequence() };
    this._lastCheck = this._adapter.now();
    const check = await checkManifest(this._adapter, this._options.manifestUrl, this._trusted, this._manifest);
    // Pages come and go between checks: their snapshots' versions may be free to delete now.
    this.modules.cleanUpWhenIdle();
    if (check.kind === 'rejected') {
      await this._setStatus('STALE', `${check.reason}: ${check.message}`);
      this._emit({ type: 'MANIFEST_REJECTED', reason: check.reason, message: check.message });
      return { outcome: 'rejected', sequence: sequence(), reason: check.reason, message: check.message };
    }
    if (this._status.condition === 'STALE') await this._setStatus('NORMAL', NOMINAL);
    if (check.kind === 'unchanged') {
      // A bad mark's back-off may have ended since the last check: its version is offered again.
      this.modules.announceAndStage();
      return { outcome: 'unchanged', sequence: sequence() };
    }
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
    const db = this._db!;
    await this.modules.replan(manifest, identityKey(this._identity), (plan) =>
      accepted ? db.acceptManifest(accepted, plan) : db.updateModules(plan),
    );
    if (accepted) this._manifest = accepted;
    this.modules.announceAndStage();
  }

  private _schedulePoll(): void {
    this._interval = this._adapter.setTimeout(() => {
      this.track(this.checkForUpdates());
      this._schedulePoll();
    }, this._options.checkIntervalMs);
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
    await this.modules.abort();
    this.close();
    await Promise.all([this._adapter.deleteCache(FILES_CACHE), this._adapter.deleteCache(SHELL_CACHE)]);
    await Database.destroy(this._adapter.indexedDB);
    this._db = null;
    await this._adapter.unregister();
  }

  private _emit(event: BroadcastEvent): void {
    this.track(this._events.emit(event));
  }
}

function storageError(cause: unknown): TrancheError<'rejected'> {
  return new TrancheError('rejected', {
    what: 'tranche service worker',
    reason: `storage unavailable: ${(cause as Error)?.message ?? cause}`,
  });
}

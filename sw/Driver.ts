/**
 * The Driver owns the worker's state: the accepted manifest, this browser's identity and
 * overrides, and the worker's condition. Once the persisted state is loaded it builds the parts
 * that do the work, each given what it needs: BadMarks, Modules (planning, staging, commit,
 * clean-up) and Fallback (readiness, error reports, the switch off a failed version); Telemetry
 * exists from the start. Routing (sw/Router.ts) and page messages (sw/answer.ts) go through its
 * methods only.
 *
 * A started worker reads its state in steps. A versioned module file it answers from the file's
 * copy (sw/ModuleCopies.ts, `startedCopy`) without opening the database. Else it opens the
 * database and reads its condition and when the accepted manifest was last confirmed
 * (`Database.condition`): with them and the one version row a request names, it answers module
 * files (`committed`). The whole state (every module and
 * version row, the bad marks) is read once something needs it (`loaded`: a navigation, a page
 * message, install, activation), once the first module answers are out, or `READ_DELAY_MS`
 * after the start: browsers stop idle workers after about 30 s, and reading a 1,000-module
 * state before the first answer made a page load after a pause wait for it.
 */
import { TrancheError, isTrancheError } from '../src/core/TrancheError.js';
import type { FallbackStatus, ReportErrorsMessage } from '../src/core/clientMessages.js';
import { FallbackPolicy } from '../src/core/fallbackPolicy.js';
import { releaseKey, type FileEntry, type ReleaseRecord } from '../src/core/manifest.js';
import type { CheckResult, Snapshot, WorkerCondition, WorkerState } from '../src/core/protocol.js';
import { trustKeys, type TrustedKeys } from '../src/core/signature.js';
import type { Adapter } from './Adapter.js';
import { identityKey, overrideProblem } from './assignment.js';
import { BadMarks } from './BadMarks.js';
import { Broadcaster } from './Broadcaster.js';
import { checkManifest, type ManifestCheck } from './checkManifest.js';
import { Database, type AcceptedManifest, type Identity, type StatusRow, type StoredState, type VersionRow } from './Database.js';
import { Fallback } from './Fallback.js';
import { FileStore } from './FileStore.js';
import { ModuleCopies } from './ModuleCopies.js';
import { Modules } from './Modules.js';
import type { BroadcastEvent, ResolvedOptions } from './options.js';
import { OverrideBook } from './OverrideBook.js';
import { SnapshotBook } from './SnapshotBook.js';
import { fetchRecord } from './Stager.js';
import { storageNames } from './storageNames.js';
import { servesWithin } from './clock.js';
import { Telemetry } from './Telemetry.js';

const NOMINAL = '(nominal)';
/** How long a started worker that was asked nothing (started for a request it leaves alone) waits before reading its whole state. */
const READ_DELAY_MS = 500;

/** What exists once the persisted state is loaded: built together, each with what it needs. */
interface Loaded {
  db: Database;
  marks: BadMarks;
  snapshots: SnapshotBook;
  modules: Modules;
  fallback: Fallback;
  overrides: OverrideBook;
}

/** The worker's state and the work that changes it. */
export class Driver {
  /** The database, and the database with the condition read (null: no storage), once something needed them. */
  private _databaseOnce: Promise<Database> | null = null;
  private _openedOnce: Promise<Database | null> | null = null;
  /** The whole state read and the parts built over it, once `_readAll` was called. */
  private readonly _state: Promise<void>;
  private _readAll: () => void = () => undefined;
  private _reading = false;
  /** Module files being answered before the whole state is read. */
  private _answering = 0;
  /** Version rows read alone meanwhile, by key: a burst of requests for one version's files reads its row once. */
  private readonly _rowsRead = new Map<string, Promise<VersionRow | null>>();
  /** URLs of the copies answered before the state was read, by the hash of their bytes. */
  private readonly _toRecall = new Map<string, string>();
  private _readTimer: unknown = null;
  private readonly _files: FileStore;
  private readonly _copies: ModuleCopies;
  private _parts: Loaded | null = null;
  private _broken: unknown = null;
  private _identity: Identity = { anonymousId: '', userId: null };
  private _manifest: AcceptedManifest | null = null;
  private _status: StatusRow = { condition: 'NORMAL', why: NOMINAL, since: 0 };
  /** When the accepted manifest was last confirmed, as read at start: what `serving` goes by until the manifest itself is read. */
  private _confirmed: number | undefined = undefined;
  /** The `publicKeys` imported, on the first manifest check. */
  private _trusted: Promise<TrustedKeys> | null = null;
  private readonly _events: Broadcaster;
  private readonly _telemetry: Telemetry | null;
  private readonly _background = new Set<Promise<unknown>>();
  private _checking: Promise<CheckResult> | null = null;
  /** The check queued behind `_checking` for callers that asked while it ran, or null. */
  private _nextCheck: Promise<CheckResult> | null = null;
  private _lastCheck = -Infinity;
  private _interval: unknown = null;
  /** Set by `close()`: the worker stops, and database work still under way is cut off. */
  private _closed = false;
  /** Starting a new database after the old one was deleted under the worker, or null. */
  private _recovery: Promise<void> | null = null;
  /** Records of versions served without being staged here, by the record hash the signed manifest gives. */
  private readonly _unstagedRecords = new Map<string, Promise<ReleaseRecord>>();

  constructor(
    private readonly _options: ResolvedOptions,
    private readonly _adapter: Adapter,
  ) {
    this._files = new FileStore(_adapter, _options.storeBase, _options.storage.filesCache);
    this._copies = new ModuleCopies(_adapter, _options.storage.copiesCache, _options.moduleBase, _options.maxManifestAgeMs);
    this._copies.open();
    this._telemetry = _options.telemetry && new Telemetry(_options.telemetry, _adapter, (work) => this.track(work));
    const telemetry = this._telemetry;
    this._events = new Broadcaster(_adapter, [_options.onEvent], telemetry && ((event) => telemetry.record(event)));
    this._state = new Promise<void>((resolve) => (this._readAll = resolve)).then(() => this._load());
  }

  /**
   * Resolves once the persisted state is loaded, reading it now if that has not begun; never
   * rejects (see `intercepting`).
   */
  get loaded(): Promise<void> {
    if (!this._reading) {
      this._reading = true;
      if (this._readTimer !== null) this._adapter.clearTimeout(this._readTimer);
      this._readAll();
    }
    return this._state;
  }

  /** False when the worker must leave every request to the network (kill switch, no storage). */
  get intercepting(): boolean {
    return this._broken === null && this._status.condition !== 'DISABLED';
  }

  /**
   * Whether requests are answered from the stored versions: intercepting, and the manifest
   * confirmed by a check within `maxManifestAgeMs` (a confirmation "in the future" is clock skew
   * and counts as now). Else the network answers until a check succeeds.
   */
  get serving(): boolean {
    if (!this.intercepting) return false;
    return servesWithin(this._manifest?.acceptedAt ?? this._confirmed, this._adapter.now(), this._options.maxManifestAgeMs);
  }

  /**
   * Starts the work a worker does on each start: a manifest check, resuming staging and boot
   * deadlines, the interval. A task after the state is loaded, which a worker started for module
   * files reads once their answers are out (choosing every module's target and reading the
   * pinned clients is work the answer does not need).
   */
  start(): void {
    this._readTimer = this._adapter.setTimeout(() => this._readWhenQuiet(), READ_DELAY_MS);
    this.track(
      this._state.then(async () => {
        await this._adapter.nextTask();
        if (!this.intercepting || !this._parts) return;
        this._schedulePoll();
        this.track(this.checkForUpdates());
        this._parts.modules.kickAll();
        this.track(this._parts.fallback.resume());
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

  /**
   * Activation: this worker becomes the one that answers. The worker it replaces ran on while
   * this one installed, and may have changed the persisted state since this one loaded it
   * (committed a version, marked one bad, pinned page loads, credited healthy boots): the state
   * is read again and the parts built anew over it, their staging and boot deadlines resumed.
   */
  async activate(): Promise<void> {
    await this.loaded;
    await this.idle();
    const parts = this._parts;
    if (!parts || !this.intercepting) return;
    parts.modules.stop();
    parts.fallback.stop();
    await this._read(parts.db);
    this._parts!.modules.kickAll();
    await this._parts!.fallback.resume();
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
    await Promise.all([this.idle(), this._parts?.fallback.keepAlive(), this._telemetry?.keepAlive()]);
  }

  /**
   * Fetches and verifies the manifest. The result is at least as new as the call: a check already
   * running may have fetched the manifest before a publish this caller knows of, so callers that
   * ask while one runs share one more check, started when it ends.
   */
  checkForUpdates(): Promise<CheckResult> {
    if (!this._checking) return this._startCheck();
    const next = () => {
      this._nextCheck = null;
      return this._checking ?? this._startCheck();
    };
    this._nextCheck ??= this._checking.then(next, next);
    return this._nextCheck;
  }

  private _startCheck(): Promise<CheckResult> {
    const checking = this._check().finally(() => (this._checking = null));
    this._checking = checking;
    return checking;
  }

  /** A navigation happened: check the manifest unless one was checked recently. */
  checkIfDue(): void {
    const since = this._adapter.now() - this._lastCheck;
    // A last check "in the future" means the clock was set back since: check rather than wait for the clock to catch up.
    if (since < 0 || since >= this._options.navigationCheckThrottleMs) this.track(this.checkForUpdates());
  }

  /** Pins the served versions (each range met) to a new page (or worker) and returns the snapshot; its boot is watched. */
  async pinSnapshot(clientId: string, overrideErrors: readonly string[] = []): Promise<Snapshot> {
    const { snapshots, modules, fallback } = await this._loadedParts();
    const snapshot = await snapshots.pin(clientId, this._manifest?.manifest.sequence ?? 0, modules.servedVersions(), overrideErrors);
    fallback.watch(clientId, snapshot, this._adapter.now());
    // Stored in the background, as the snapshot itself is (sw/SnapshotBook.ts): not in the navigation's path.
    this.track(this._events.notify({ type: 'SNAPSHOT_PINNED', clientId, snapshot }));
    return snapshot;
  }

  /** The snapshot of `clientId`, pinning the current versions to it when it has none yet. */
  async snapshotFor(clientId: string): Promise<Snapshot> {
    const { snapshots } = await this._loadedParts();
    return (await snapshots.of(clientId)) ?? this.pinSnapshot(clientId);
  }

  /**
   * A dedicated worker's script is requested: the worker `childId` runs its creator's
   * (`parentId`) snapshot from now on. Returns it, or null when the creator has none.
   */
  async inheritSnapshot(parentId: string, childId: string): Promise<Snapshot | null> {
    const { snapshots } = await this._loadedParts();
    return snapshots.inherit(parentId, childId);
  }

  /**
   * The copy of a versioned module file (sw/ModuleCopies.ts) while the state is not read yet,
   * which a worker started for the request answers with before opening its database; else null.
   */
  async startedCopy(url: string): Promise<Response | null> {
    if (this._parts) return null;
    const copy = await this._copies.answer(url).catch(() => null);
    // Its bytes go to memory too (FileStore), once the answers are out: the next page load's need no lookup.
    const sha256 = copy?.headers.get('etag')?.slice(1, -1);
    if (sha256) this._toRecall.set(sha256, url);
    return copy;
  }

  /** Reads the bytes of the copies a started worker answered with into memory. */
  private async _recallCopies(): Promise<void> {
    const copies = [...this._toRecall];
    this._toRecall.clear();
    for (const [sha256, url] of copies) {
      const copy = await this._copies.matchUrl(url).catch(() => undefined);
      if (copy) this._files.keep(sha256, await copy.blob());
    }
  }

  /** The row of module@version when it is committed (servable), else null. */
  servable(module: string, version: string): VersionRow | null {
    return this._parts?.modules.servable(module, version) ?? null;
  }

  /**
   * The database with the condition read (null: no storage), opened on first use: a worker
   * started for a module file its copies answer (sw/ModuleCopies.ts) opens it after that answer.
   */
  private get _database(): Promise<Database> {
    this._databaseOnce ??= Database.open(this._adapter.indexedDB, this._options.storage.database, () => this._lost());
    return this._databaseOnce;
  }

  private get _opened(): Promise<Database | null> {
    this._openedOnce ??= this._open();
    return this._openedOnce;
  }

  /** Resolves once the condition is read: `serving` answers from it. */
  async opened(): Promise<void> {
    await this._opened;
  }

  /**
   * The row of module@version when it is committed (servable), else null; before the whole state
   * is loaded, that one row read alone. Both say the same: a row is committed in the database
   * before it is in memory (Database.commit), and its record never changes; a clean-up deleting
   * it from the database (no snapshot of an open page runs it) is as late for the row in memory.
   * Read beside the condition (it waits for the database only): the caller decides by `serving`.
   */
  async committed(module: string, version: string): Promise<VersionRow | null> {
    const db = await this._database.catch(() => null);
    if (this._parts || !db) return this.servable(module, version);
    const key = releaseKey(module, version);
    let read = this._rowsRead.get(key);
    if (!read) {
      read = db.version(key).then((row) => (row?.status === 'committed' ? row : null));
      this._rowsRead.set(key, read);
      read.catch(() => this._rowsRead.delete(key));
    }
    return read;
  }

  /**
   * Counts `answer` (a module file's) among those in flight: until the whole state is read, it is
   * read once none is, so that the first answers of a started worker go before it.
   */
  answering(answer: Promise<Response>): Promise<Response> {
    if (this._reading) return answer;
    this._answering++;
    const done = () => {
      if (--this._answering === 0) this._readWhenQuiet();
    };
    answer.then(done, done);
    return answer;
  }

  /** Reads the whole state a task from now, unless a module file is being answered then (its end reads it). */
  private _readWhenQuiet(): void {
    if (this._reading) return;
    this.track(
      this._adapter.nextTask().then(async () => {
        if (this._answering !== 0) return;
        await this.loaded;
        await this._recallCopies();
      }),
    );
  }

  /**
   * The stored bytes of `file` of module@version. When they went missing and the store now
   * serves other bytes, the version is failed here (`integrity`) before the error is rethrown.
   */
  async respond(module: string, version: string, file: FileEntry): Promise<Response> {
    const label = releaseKey(module, version);
    const recalled = this._files.recalled(file, label);
    if (recalled) return recalled;
    const copy = await this._copies.match(module, version, file).catch(() => undefined);
    if (copy) return copy;
    try {
      return await this._files.respond(file, label);
    } catch (err) {
      if (isTrancheError(err, 'integrity'))
        this.track(this.loaded.then(() => this._parts?.fallback.fail({ module, version, reason: 'integrity' })));
      throw err;
    }
  }

  /** The stable version of `module` in the accepted manifest, or null. */
  stableVersion(module: string): string | null {
    return this._manifest?.manifest.modules[module]?.stable ?? null;
  }

  /**
   * A file of module@version, which is not committed here (never assigned, still staging, failed):
   * the version's release record (its staging row's, else downloaded and checked against the
   * signed manifest) names the file's hash, and the bytes come from the store checked against it,
   * as a staged file's are. Network bytes are never passed through unchecked. Throws `not-released`
   * when the manifest releases no such version, `not-found` when its record lists no such file,
   * else `download` or `integrity`.
   */
  async respondUnstaged(module: string, version: string, path: string): Promise<Response> {
    const label = releaseKey(module, version);
    const record = await this._unstagedRecord(module, version);
    const file = record.files.find((f) => f.path === path);
    if (!file) throw new TrancheError('not-found', { what: `file ${path} of ${label} (its release record lists every file)` });
    return this._files.respond(file, label);
  }

  private async _unstagedRecord(module: string, version: string): Promise<ReleaseRecord> {
    const key = releaseKey(module, version);
    await this.loaded; // the manifest: a worker started for this request has not read it
    const row = await this._parts?.db.version(key);
    if (row) return row.record;
    const ref = () => this._manifest?.manifest.releases[key];
    // Released after the last check (a server's newer import map names it): look once before refusing.
    if (!ref()) await this.checkForUpdates();
    const known = ref();
    if (!known) throw new TrancheError('not-released', { module, version });
    let record = this._unstagedRecords.get(known.sha256);
    if (!record) {
      record = fetchRecord(this._adapter, this._options.storeBase, { module, version, ref: known });
      this._unstagedRecords.set(known.sha256, record);
      record.catch(() => this._unstagedRecords.delete(known.sha256));
    }
    return record;
  }

  /** Every module this browser knows. */
  moduleNames(): string[] {
    return this._parts?.modules.rows.map((row) => row.module) ?? [];
  }

  /** Waits (at most `ms`) until `modules` have nothing left to stage. */
  async settle(modules: readonly string[], ms: number): Promise<void> {
    await this._parts?.modules.settle(modules, ms);
  }

  /**
   * Waits (at most `ms`) for the fallbacks still being staged (their module has no current
   * version meanwhile), and for modules a range keeps out of page loads until the version that
   * meets it is staged (a fallback of a module they require).
   */
  async settleRecovering(ms: number): Promise<void> {
    const parts = this._parts;
    const waiting = parts ? [...parts.fallback.recovering(), ...parts.modules.leftOut()] : [];
    if (parts && waiting.length) await parts.modules.settle(waiting, ms);
  }

  /** Sets or clears the app identity; assignments follow it. */
  async setIdentity(userId: string | null): Promise<void> {
    const { db } = await this._writable();
    if (this._identity.userId === userId) return;
    this._identity = { ...this._identity, userId };
    await db.setControl('identity', this._identity);
    await this._replan(null);
  }

  /**
   * QA: forces module@version (any released, unblocked version, 0% ones included) for
   * `overrideTtlMs`, or with `version` null releases the module. Throws `rejected` naming why.
   */
  async setOverride(module: string, version: string | null): Promise<void> {
    const { overrides, modules } = await this._writable();
    // A version released after the last check is not known yet: look once before refusing.
    if (version !== null && overrideProblem(this._manifest?.manifest ?? null, module, version) !== null) await this.checkForUpdates();
    await overrides.set(this._manifest?.manifest ?? null, module, version, this._adapter.now());
    modules.announceAndStage();
  }

  /** QA: releases every override. */
  async clearOverrides(): Promise<void> {
    const { overrides, modules } = await this._writable();
    await overrides.clear();
    modules.announceAndStage();
  }

  /** `READY` from client `clientId`: its page load (`nonce`) booted healthily. */
  async pageReady(clientId: string, nonce: string | null): Promise<void> {
    const { fallback } = await this._writable();
    await fallback.ready(clientId, nonce);
  }

  /** `REPORT_ERRORS` from client `clientId`. */
  async reportErrors(clientId: string, message: ReportErrorsMessage): Promise<void> {
    const { fallback } = await this._writable();
    await fallback.report(clientId, message);
  }

  /** The data behind `GET_STATE`, as seen by client `clientId`. */
  async state(clientId: string): Promise<WorkerState & FallbackStatus> {
    await this.loaded;
    const parts = this._parts;
    return {
      condition: this._status.condition,
      why: this._broken ? storageError(this._broken).message : this._status.why,
      sequence: this._manifest?.manifest.sequence ?? 0,
      identity: this._identity.userId === null ? 'anonymous' : 'app',
      clientId: this._identity.anonymousId,
      // After the kill switch the database is gone: there is no snapshot left to report.
      snapshot: parts && this.intercepting ? await parts.snapshots.of(clientId) : null,
      modules: parts?.modules.states(parts.overrides.live(this._adapter.now())) ?? {},
      bad: parts && this.intercepting ? parts.fallback.marks() : [],
    };
  }

  /**
   * Keeps `work` in the background work `idle()` waits for; logs what it throws, except a
   * database call refused because `close()` closed the database: that work was cut off by the
   * stop (a snapshot still being stored, a commit), as a stopped worker's is, and the next
   * start resumes from what was stored.
   */
  track(work: Promise<unknown>): void {
    const tracked = work
      .catch((err: unknown) => {
        if (!(this._closed && (err as Error | null)?.name === 'InvalidStateError')) console.error('tranche:', err);
      })
      .finally(() => this._background.delete(tracked));
    this._background.add(tracked);
  }

  /** Stops timers and closes the database (tests simulate a worker stop with it). */
  close(): void {
    this._closed = true;
    this._parts?.modules.stop();
    this._parts?.fallback.stop();
    this._telemetry?.stop();
    if (this._interval !== null) this._adapter.clearTimeout(this._interval);
    if (this._readTimer !== null) this._adapter.clearTimeout(this._readTimer);
    // The database the worker opened at start, unless a recovery replaced it.
    if (this._parts) this._parts.db.close();
    else void this._openedOnce?.then((db) => db?.close());
  }

  /** The loaded parts; throws `no-storage` without storage. */
  private async _loadedParts(): Promise<Loaded> {
    await this.loaded;
    if (!this._parts) throw storageError(this._broken);
    return this._parts;
  }

  /** The loaded parts, once they may be changed; throws `kill-switch` after the kill switch, `no-storage` without storage. */
  private async _writable(): Promise<Loaded> {
    await this.loaded;
    if (this._status.condition === 'DISABLED') throw new TrancheError('kill-switch', { what: 'tranche service worker' });
    return this._loadedParts();
  }

  // === Loading and manifest checks ===

  /** Opens the database and reads the condition; without storage, marks the worker broken and resolves to null. */
  private async _open(): Promise<Database | null> {
    try {
      const db = await this._database;
      const { status, confirmed } = await db.condition();
      // Read again with everything else by `_read`, in one transaction with the rows they go with.
      this._status = status ?? this._status;
      this._confirmed = confirmed;
      return db;
    } catch (err) {
      // Without storage nothing can be verified or pinned: every request goes to the network.
      this._broken = err;
      return null;
    }
  }

  private async _load(): Promise<void> {
    const db = await this._opened;
    if (!db) return;
    try {
      await this._read(db);
      this._telemetry?.attach(db, this._identity.anonymousId);
      // A worker that kept no copies before (an older tranche) starts marking them now.
      this.track(this._markCopies());
    } catch (err) {
      // Without storage nothing can be verified or pinned: every request goes to the network.
      this._broken = err;
      return;
    }
    // A kill switch that was interrupted (worker stopped mid-wipe) finishes now.
    if (this._status.condition === 'DISABLED') this.track(this._disable());
  }

  /**
   * The database was deleted (or closed by the browser) under the running worker. Without it
   * nothing the worker decides would survive a restart (a new client id, new buckets, the bad
   * marks gone, so a version that just failed here would run again): a new database is started
   * at once from what the worker holds (identity, accepted manifest, bad marks), its modules are
   * planned and staged again (verified blobs still in Cache Storage are not downloaded again).
   * Open pages keep running: a version not committed in the new database is served checked
   * against its record meanwhile.
   */
  private _lost(): void {
    if (this._status.condition === 'DISABLED' || this._recovery) return;
    this._recovery = this._recover().finally(() => (this._recovery = null));
    this.track(this._recovery);
  }

  private async _recover(): Promise<void> {
    // Lost before the state was read: what the worker holds (identity, bad marks) is not known yet.
    await this.loaded;
    if (this._broken) return;
    const old = this._parts;
    const bad = old?.marks.all() ?? [];
    old?.modules.stop();
    old?.fallback.stop();
    const db = await Database.open(this._adapter.indexedDB, this._options.storage.database, () => this._lost());
    await db.restore(this._identity, this._manifest, bad);
    const state = await db.load();
    this._parts = this._build(db, state);
    this._telemetry?.attach(db, this._identity.anonymousId);
    await this._setStatus(this._status.condition, this._status.why, true);
    await this._replan(null);
  }

  /** Reads the persisted state and builds the parts over it. */
  private async _read(db: Database): Promise<void> {
    const state = await db.load();
    this._identity = state.identity ?? { anonymousId: await this._formerAnonymousId(), userId: null };
    if (!state.identity) await db.setControl('identity', this._identity);
    this._manifest = state.manifest;
    this._status = state.status ?? this._status;
    this._parts = this._build(db, state);
    this._rowsRead.clear();
  }

  /** Builds the parts over the loaded database, each given what it needs: marks, then modules, then fallback. */
  private _build(db: Database, state: StoredState): Loaded {
    const track = (work: Promise<unknown>) => this.track(work);
    const emit = (event: BroadcastEvent) => this.emit(event);
    const manifest = () => this._manifest?.manifest ?? null;
    const snapshots = new SnapshotBook(this._adapter, db, track);
    const overrides = new OverrideBook(db, this._options.overrideTtlMs, state.overrides);
    const marks = new BadMarks(new FallbackPolicy(this._options.fallback), this._adapter, state.bad);
    const modules = new Modules(this._options, this._adapter, db, this._files, this._copies, marks, state, {
      manifest,
      overrides: () => overrides.all,
      intercepting: () => this.intercepting,
      emit,
      track,
      forgetClients: (ids) => snapshots.forget(ids),
    });
    const fallback = new Fallback(this._adapter, db, snapshots, modules, marks, {
      manifest,
      emit,
      track,
      notify: (event) => this._events.notify(event),
      telemetryOf: (event) => this._telemetry?.eventsOf(event) ?? [],
    });
    return { db, marks, snapshots, modules, fallback, overrides };
  }

  /**
   * The anonymous id for a new database: a worker whose namespace is not the empty one, starting
   * on a browser where the database without a namespace (all apps' until namespaces existed)
   * holds one, keeps it, so its clients keep their cohorts; else a new one.
   */
  private async _formerAnonymousId(): Promise<string> {
    const shared = storageNames('').database;
    const former =
      this._options.storage.database === shared
        ? null
        : await Database.storedAnonymousId(this._adapter.indexedDB, shared).catch(() => null);
    return former ?? this._adapter.randomId();
  }

  private async _check(): Promise<CheckResult> {
    await this.loaded;
    const sequence = () => this._manifest?.manifest.sequence ?? 0;
    if (!this.intercepting) return { outcome: 'unchanged', sequence: sequence() };
    this._lastCheck = this._adapter.now();
    this._trusted ??= trustKeys(this._options.publicKeys, 'publicKeys');
    const check = await checkManifest(this._adapter, this._options.manifestUrl, this._trusted, this._manifest);
    try {
      return await this._applyCheck(check, sequence);
    } finally {
      // Pages come and go between checks: their snapshots' versions may be free to delete now.
      // After the outcome: a new manifest's staging (and its re-plan, which waits for a clean-up
      // to end) goes first, and the clean-up runs once the last staging ends.
      this._parts?.modules.cleanUpWhenIdle();
    }
  }

  private async _applyCheck(check: ManifestCheck, sequence: () => number): Promise<CheckResult> {
    if (check.kind === 'rejected') {
      await this._setStatus('STALE', `${check.reason}: ${check.message}`);
      this.emit({ type: 'MANIFEST_REJECTED', reason: check.reason, message: check.message });
      return { outcome: 'rejected', sequence: sequence(), reason: check.reason, message: check.message };
    }
    if (this._status.condition === 'STALE') await this._setStatus('NORMAL', NOMINAL);
    if (check.kind === 'unchanged') {
      // Confirmed: the age `maxManifestAgeMs` limits starts again.
      if (this._manifest && this._parts) {
        this._manifest = { ...this._manifest, acceptedAt: this._adapter.now() };
        await this._parts.db.confirm(this._manifest.acceptedAt);
        await this._markCopies();
      }
      // A bad mark's back-off may have ended since the last check: its version is offered again.
      this._parts?.modules.announceAndStage();
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
    const parts = this._parts;
    if (!manifest || !parts) return;
    const { db, modules } = parts;
    await modules.replan(manifest, identityKey(this._identity), (plan) =>
      accepted ? db.acceptManifest(accepted, plan) : db.updateModules(plan),
    );
    if (accepted) {
      this._manifest = accepted;
      await this._markCopies();
    }
    modules.announceAndStage();
  }

  private _schedulePoll(): void {
    this._interval = this._adapter.setTimeout(() => {
      this.track(this.checkForUpdates());
      this._schedulePoll();
    }, this._options.checkIntervalMs);
  }

  // === Condition ===

  private async _setStatus(condition: WorkerCondition, why: string, rewrite = false): Promise<void> {
    if (!rewrite && this._status.condition === condition && this._status.why === why) return;
    this._status = { condition, why, since: this._adapter.now() };
    await this._parts?.db.setControl('status', this._status);
    await this._markCopies();
  }

  /** Writes the condition, and when the manifest was last confirmed, where the copies' answers read them. */
  private async _markCopies(): Promise<void> {
    if (!this._parts) return;
    await this._copies.mark(this._status.condition, this._manifest?.acceptedAt ?? this._confirmed).catch(() => undefined);
  }

  /**
   * Kill switch: stop intercepting, wipe tranche's caches and database, unregister. The
   * condition is persisted first, so a worker stopped halfway finishes the job on its next start.
   */
  private async _disable(): Promise<void> {
    await this._setStatus('DISABLED', 'the manifest kill switch is on');
    this.emit({ type: 'WORKER_DISABLED' });
    await this._parts?.modules.abort();
    this.close();
    // This app's storage only: another app on the origin has its own namespace.
    const { database, filesCache, shellCache, copiesCache } = this._options.storage;
    await Promise.all([filesCache, shellCache, copiesCache].map((name) => this._adapter.deleteCache(name)));
    await Database.destroy(this._adapter.indexedDB, database);
    await this._adapter.unregister();
  }

  /** Tells every page but `except` (a client id) and the hooks, in the background. */
  emit(event: BroadcastEvent, except: string | null = null): void {
    this.track(this._events.emit(event, except));
  }
}

function storageError(cause: unknown): TrancheError<'no-storage'> {
  return new TrancheError('no-storage', {
    what: 'tranche service worker',
    reason: `${(cause as Error)?.message ?? cause}`,
  });
}

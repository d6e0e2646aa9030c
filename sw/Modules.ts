/**
 * Each module on this browser and the work that moves it forward: planning (which version it
 * should run), staging, the atomic commit and clean-up. The Driver owns the manifest, the
 * identity and the overrides; Fallback (sw/Fallback.ts) moves a module off a version that
 * failed here. Both change module rows only through this class. Built by the Driver once the
 * persisted state is loaded, with everything it needs.
 */
import { describeUnmet, sharedName, unmetRequirements, withShared, type Requirements } from '../src/core/compatibility.js';
import type { CachedVersion } from '../src/core/fallbackPolicy.js';
import { releaseKey, type Manifest } from '../src/core/manifest.js';
import type { WorkerModuleState, WorkerEvent } from '../src/core/protocol.js';
import type { Adapter } from './Adapter.js';
import type { BadMarks } from './BadMarks.js';
import { compatibleTargets, desiredVersion, planModules, servedVersions, type ForcedMove } from './assignment.js';
import { cleanUp } from './cleanUp.js';
import type { Database, ModuleRow, Overrides, StoredState, VersionRow } from './Database.js';
import type { FileStore } from './FileStore.js';
import type { ModuleCopies } from './ModuleCopies.js';
import type { ResolvedOptions } from './options.js';
import { MAX_RETRY_DELAY_MS, Stager, failureOf } from './Stager.js';
import { unskewed } from './clock.js';
import { StagingQueue } from './StagingQueue.js';
import { workerModuleState } from './workerModuleState.js';

/** What the modules need from the worker around them. */
interface ModuleHost {
  /** The accepted manifest, or null before the first one. */
  manifest(): Manifest | null;
  /** Every stored QA override (expired ones are ignored where read). */
  overrides(): Overrides;
  /** False once the worker stopped intercepting (kill switch, no storage). */
  intercepting(): boolean;
  emit(event: WorkerEvent): void;
  /** Keeps the worker alive until `work` settles. */
  track(work: Promise<unknown>): void;
  /** Clean-up removed these clients' snapshots. */
  forgetClients(clientIds: readonly string[]): void;
}

/** Module and version rows in memory over IndexedDB, and the staging that changes them. */
export class Modules {
  private _rows: Map<string, ModuleRow>;
  private readonly _versions: Map<string, VersionRow>;
  private readonly _announced = new Map<string, string>();
  private readonly _queue: StagingQueue;
  private readonly _stager: Stager;
  /** The modules some range names (requiring or required), for the manifest it was computed under; null: compute again. */
  private _ranged: { manifest: Manifest; modules: Set<string> } | null = null;
  /** The shell's shared dependencies in every combination, each with its one version (empty: unknown, unchecked). */
  private readonly _shared: Record<string, string>;

  /** Starts from the persisted rows (`stored`). */
  constructor(
    private readonly _options: ResolvedOptions,
    private readonly _adapter: Adapter,
    private readonly _db: Database,
    private readonly _files: FileStore,
    private readonly _copies: ModuleCopies,
    private readonly _marks: BadMarks,
    stored: Pick<StoredState, 'modules' | 'versions'>,
    private readonly _host: ModuleHost,
  ) {
    this._rows = new Map(stored.modules.map((row) => [row.module, row]));
    this._shared = Object.fromEntries(Object.entries(_options.shared ?? {}).map(([pkg, version]) => [sharedName(pkg), version]));
    this._versions = new Map(stored.versions.map((row) => [row.key, row]));
    this._stager = new Stager(_adapter, _db, _files, _options.storeBase);
    this._queue = new StagingQueue(_adapter, {
      stage: (module, signal) => this._stage(module, signal),
      cleanUp: () => this._cleanUp(),
      track: (work) => _host.track(work),
    });
  }

  /** Whether module@version failed on this client and is not offered again yet (a bad mark in force). */
  isBad(module: string, version: string): boolean {
    return this._marks.holds(module, version, this._rows.get(module)?.assignment?.version ?? null);
  }

  /** Every module row. */
  get rows(): ModuleRow[] {
    return [...this._rows.values()];
  }

  row(module: string): ModuleRow | undefined {
    return this._rows.get(module);
  }

  /** Takes the rows a transaction returned as the new state. */
  adopt(rows: readonly ModuleRow[]): void {
    this._rows = new Map(rows.map((row) => [row.module, row]));
  }

  /** Module -> version a new page load gets: the current versions, each range met (assignment.ts `servedVersions`). */
  servedVersions(): Record<string, string> {
    return servedVersions(this.rows, (m, v) => this.isBad(m, v), this._requirementsOf, this._shared);
  }

  /** Modules whose current version a range keeps out of new page loads while they move to one that meets it. */
  leftOut(): string[] {
    const served = this.servedVersions();
    const out = this.rows.filter((r) => r.current !== null && !(r.module in served)).map((r) => r.module);
    if (!out.length) return out; // the usual case, without choosing every target
    const targets = this.targets();
    return out.filter((module) => targets.has(module));
  }

  /**
   * What module@version requires: its record's ranges when this browser has it (immutable and
   * hash-checked), else the copy the signed manifest carries for a version not staged yet. Its
   * shared dependencies' ranges too, when this worker knows the shell's versions.
   */
  private readonly _requirementsOf = (module: string, version: string): Requirements | undefined => {
    const key = releaseKey(module, version);
    const known = this._versions.get(key)?.record ?? this._host.manifest()?.releases[key];
    return this._options.shared ? withShared(known?.requires, known?.requiresShared) : known?.requires;
  };

  /** The row of module@version when it is committed (servable), else null. */
  servable(module: string, version: string): VersionRow | null {
    const row = this._versions.get(releaseKey(module, version));
    return row?.status === 'committed' ? row : null;
  }

  /** The committed versions of `module`, with when each last booted healthily here. */
  cached(module: string): CachedVersion[] {
    return [...this._versions.values()]
      .filter((row) => row.module === module && row.status === 'committed')
      .map((row) => ({ version: row.version, healthyAt: row.healthyAt ?? null }));
  }

  /** Whether module@version booted healthily on this client (as long as it is kept). */
  isProven(module: string, version: string): boolean {
    return this._versions.get(releaseKey(module, version))?.healthyAt !== undefined;
  }

  /** Records in memory what `Database.markReady` stored: these versions booted healthily at `at`. */
  credit(keys: readonly string[], at: number): void {
    for (const key of keys) {
      const row = this._versions.get(key);
      if (row) this._versions.set(key, { ...row, healthyAt: at });
    }
  }

  /** Each module's status for `GET_STATE`. */
  states(overrides: Overrides): Record<string, WorkerModuleState> {
    const targets = this.targets();
    const manifest = this._host.manifest();
    const chosen: Record<string, string> = { ...this._shared };
    for (const row of this.rows) {
      const version = targets.get(row.module) ?? row.current;
      if (version !== null) chosen[row.module] = version;
    }
    // Why a module does not get what it should run: the ranges of that version the others leave unmet.
    const unmet = (row: ModuleRow): string[] => {
      const wanted = manifest && desiredVersion(manifest, row, overrides, this._adapter.now());
      if (!wanted || wanted === chosen[row.module]) return [];
      return unmetRequirements({ ...chosen, [row.module]: wanted }, this._requirementsOf)
        .filter((u) => u.name === row.module && u.version === wanted)
        .map(describeUnmet);
    };
    return Object.fromEntries(
      this.rows.map((row) => [row.module, workerModuleState(row, targets.get(row.module), overrides[row.module], unmet(row))]),
    );
  }

  /**
   * Re-plans every module under `manifest` for identity `key`; `store` persists the plan in one
   * transaction (with the manifest it came from, when new). Announces the versions the manifest
   * took away, then stages what the plan asks for.
   */
  async replan(
    manifest: Manifest,
    key: string,
    store: (plan: (rows: Map<string, ModuleRow>) => void) => Promise<ModuleRow[]>,
  ): Promise<void> {
    let moves: ForcedMove[] = [];
    // A version that failed here is no replacement for a blocked one.
    const good = (m: string, v: string) => this.servable(m, v) !== null && !this.isBad(m, v);
    await this._queue.quiet(); // clean-up must not delete a version a fallback is about to use
    this.adopt(await store((rows) => (moves = planModules(rows, manifest, key, good))));
    for (const f of moves) this._host.emit({ type: 'VERSION_ACTIVATED', module: f.module, version: f.to, previous: f.from });
  }

  /**
   * The version `module` is moving to (wanted but not current), if any. Only the modules some
   * range names are chosen together; any other module's target is its own affair (staging n
   * modules asks this n times: choosing all n each time was n² work).
   */
  targetOf(module: string): string | undefined {
    const manifest = this._host.manifest();
    const row = this._rows.get(module);
    if (!manifest || !row) return undefined;
    const ranged = this._rangedModules(manifest);
    const rows = ranged.has(module) ? this.rows.filter((r) => ranged.has(r.module)) : [row];
    return this._targets(manifest, rows).get(module);
  }

  /** The version each module is moving to (wanted but not current). */
  targets(): Map<string, string> {
    const manifest = this._host.manifest();
    return manifest ? this._targets(manifest, this.rows) : new Map();
  }

  /**
   * What `rows` should run (assignment.ts `compatibleTargets`): each one's override or
   * assignment unless that failed here or breaks a range, else its current, stable or a previous
   * version; only those that differ from the current version.
   */
  private _targets(manifest: Manifest, rows: readonly ModuleRow[]): Map<string, string> {
    const now = this._adapter.now();
    const overrides = this._host.overrides();
    const chosen = compatibleTargets(
      manifest,
      rows,
      (row) => desiredVersion(manifest, row, overrides, now),
      (m, v) => this.isBad(m, v),
      this._requirementsOf,
      this._shared,
    );
    const targets = new Map<string, string>();
    for (const row of rows) {
      const version = chosen.get(row.module);
      if (version && version !== row.current) targets.set(row.module, version);
    }
    return targets;
  }

  /**
   * The modules some range names, as requiring or as required, in the manifest's copies or the
   * stored records. A superset is harmless (those modules are merely chosen together), so it is
   * computed again only for a new manifest or a newly staged record.
   */
  private _rangedModules(manifest: Manifest): Set<string> {
    if (this._ranged?.manifest === manifest) return this._ranged.modules;
    const modules = new Set<string>();
    const add = (module: string, requires: Requirements | undefined) => {
      if (!requires || !Object.keys(requires).length) return;
      modules.add(module);
      for (const name of Object.keys(requires)) modules.add(name);
    };
    for (const [key, ref] of Object.entries(manifest.releases)) add(key.slice(0, key.lastIndexOf('@')), ref.requires);
    for (const row of this._versions.values()) add(row.module, row.record.requires);
    this._ranged = { manifest, modules };
    return modules;
  }

  /** Tells pages about new targets once each, and stages them. */
  announceAndStage(): void {
    for (const [module, version] of this.targets()) {
      if (this._announced.get(module) !== version) {
        this._announced.set(module, version);
        this._host.emit({ type: 'VERSION_DETECTED', module, version, current: this._rows.get(module)?.current ?? null });
      }
      this._queue.kick(module);
    }
  }

  /** Resumes staging every module that is moving to another version (worker start). */
  kickAll(): void {
    for (const module of this.targets().keys()) this._queue.kick(module);
  }

  /** Waits (at most `ms`) until `modules` have nothing left to stage. */
  settle(modules: readonly string[], ms: number): Promise<void> {
    return this._queue.settle(modules, ms);
  }

  /** Pages come and go: clean up once no staging runs. */
  cleanUpWhenIdle(): void {
    this._queue.cleanUpWhenIdle();
  }

  /** Stops scheduling staging (timers die with the worker anyway). */
  stop(): void {
    this._queue.stop();
  }

  /** Stops scheduling and waits for the stagings in flight to end (kill switch). */
  abort(): Promise<void> {
    return this._queue.abort();
  }

  /** Stages and commits the version `module` is moving to; returns when to retry on failure. */
  private async _stage(module: string, signal: AbortSignal): Promise<number | null> {
    // One module's target: computing every module's for each of n modules was n² work.
    const version = this.targetOf(module);
    if (!version || !this._host.intercepting()) return null;
    // A version committed here needs no release in the manifest: a range may send a module back to a previous one.
    if (!this.servable(module, version)) {
      const ref = this._host.manifest()?.releases[releaseKey(module, version)];
      if (!ref) return null;
      const failure = this._rows.get(module)?.failure;
      const now = this._adapter.now();
      // A retry time further ahead than the longest back-off was set under a clock that ran ahead: retry now.
      if (failure?.version === version && unskewed(failure.retryAt, now, MAX_RETRY_DELAY_MS) > now) return failure.retryAt;
      try {
        const row = await this._stager.stage({ module, version, ref }, signal, (event) => this._host.emit(event));
        this._versions.set(row.key, row);
        this._ranged = null; // its record's ranges may name modules no other range does
      } catch (err) {
        if (signal.aborted) return null;
        return this._recordFailure(module, version, err);
      }
      this._host.emit({ type: 'VERSION_STAGED', module, version });
    }
    // The target may have moved while files downloaded (a newer manifest, a bad mark); the
    // queue runs again for the new one. Asked again inside the commit's transaction.
    const wanted = () => this.targetOf(module) === version;
    if (!wanted()) return null;
    const previous = this._rows.get(module)?.current ?? null;
    const row = await this._db.commit(module, version, this._options.retainVersions, wanted);
    if (!row) return null;
    this._rows.set(module, row);
    const key = releaseKey(module, version);
    const committed = this._versions.get(key);
    if (committed) this._versions.set(key, { ...committed, status: 'committed' });
    this._host.emit({ type: 'VERSION_ACTIVATED', module, version, previous });
    // Before the queue moves on, so no clean-up runs meanwhile; a failure leaves it to the next clean-up's reconcile.
    if (committed) await this._copies.add({ module, version, files: committed.record.files }, this._files).catch(() => undefined);
    return null;
  }

  private async _recordFailure(module: string, version: string, err: unknown): Promise<number> {
    const failure = failureOf(err, version, this._rows.get(module)?.failure ?? null, this._adapter.now(), this._options.retryDelayMs);
    this.adopt(
      await this._db.updateModules((all) => {
        const row = all.get(module);
        if (row) all.set(module, { ...row, failure });
      }),
    );
    const { reason, message, retryAt } = failure;
    this._host.emit({ type: 'STAGING_FAILED', module, version, reason, message, retryAt });
    return retryAt;
  }

  private async _cleanUp(): Promise<void> {
    if (!this._host.intercepting()) return;
    const result = await cleanUp(this._adapter, this._db, this._files, this._copies, this.rows, this.targets());
    for (const key of result.versions) this._versions.delete(key);
    this._host.forgetClients(result.clients);
  }
}
